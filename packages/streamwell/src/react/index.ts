/**
 * `streamwell/react`: the React binding. React is an optional peer dependency of streamwell.
 *
 * @module
 */
export type {
  ClientMetricsSnapshot,
  StreamEvent,
  StreamStoreStatus,
  StreamwellError,
} from '../client/index.ts';
export * from './use-streaming-response.ts';
