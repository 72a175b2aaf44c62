/**
 * `streamwell/client`: the browser and Node side of the stream. Browser-safe: no Node modules,
 * no DOM globals (`fetch` is injectable).
 *
 * Named exports only: what is not listed here is internal, even where its module exports it.
 * The SSE parser lives in `streamwell/protocol` (the server reads upstream event streams with it
 * too) and is re-exported here, as are the protocol's types; the protocol's other values are in
 * `streamwell/protocol`.
 *
 * @module
 */
export {
  isStreamwellError,
  StreamwellError,
  type StreamwellErrorCode,
  type StreamwellErrorOptions,
} from '../errors/index.ts';
export type {
  CheckpointData,
  DoneData,
  ErrorData,
  EventDataMap,
  FinishReason,
  HandoffData,
  StartData,
  StreamErrorCode,
  StreamEvent,
  StreamEventInput,
  StreamEventName,
  TokenData,
  ToolCallData,
  ToolResultData,
} from '../protocol/index.ts';
export { createSseParser, type SseEvent, type SseParser, type SseParserOptions } from '../protocol/sse-parser.ts';
export {
  createSseByteParser,
  createSseParserStream,
  parseSseStream,
  type SseByteParser,
  type SseSource,
  type SseStreamOptions,
} from '../protocol/sse-stream.ts';
export type { BackoffOptions } from './backoff.ts';
export {
  type ClientMetrics,
  type ClientMetricsOptions,
  type ClientMetricsSnapshot,
  createClientMetrics,
  EMPTY_CLIENT_METRICS,
} from './client-metrics.ts';
export type { CheckResult, CheckStatus, DiagnosisReport } from './diagnose/check-result.ts';
export { type DiagnoseEndpointOptions, diagnoseEndpoint } from './diagnose-endpoint.ts';
export { createSseTransport, type HeadersOption, type SseTransportOptions } from './sse-transport.ts';
export {
  createStreamClient,
  type ResumeStreamOptions,
  type StartStreamOptions,
  type StreamClient,
  type StreamClientOptions,
  streamMessage,
} from './stream-client.ts';
export { StreamHttpError, type StreamHttpErrorOptions } from './stream-http-error.ts';
export type { ReconnectInfo, StreamCallbacks, StreamResult, StreamSession, StreamStatus } from './stream-session.ts';
export { type StreamSseEventsOptions, type StreamSseEventsResult, streamSseEvents } from './stream-sse-events.ts';
export {
  createStreamStore,
  type PersistedStream,
  type StreamSnapshot,
  type StreamStorage,
  type StreamStore,
  type StreamStoreOptions,
  type StreamStoreStatus,
} from './stream-store.ts';
export type {
  StreamTransport,
  TransportHandlers,
  TransportResult,
  TransportResumeRequest,
  TransportStartRequest,
} from './stream-transport.ts';
export {
  type ClientWebSocketLike,
  createWsTransport,
  type WebSocketConstructorLike,
  type WsTransportOptions,
} from './ws-transport.ts';
