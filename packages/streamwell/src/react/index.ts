/**
 * `streamwell/react`: the React binding. React is an optional peer dependency of streamwell.
 *
 * Named exports only: what is not listed here is internal, even where its module exports it.
 *
 * @module
 */
export type {
  ClientMetricsSnapshot,
  StreamEvent,
  StreamStorage,
  StreamStoreStatus,
  StreamwellError,
} from '../client/index.ts';
export {
  type UseStreamingResponseOptions,
  type UseStreamingResponseResult,
  useStreamingResponse,
} from './use-streaming-response.ts';
