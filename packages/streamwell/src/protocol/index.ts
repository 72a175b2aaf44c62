/**
 * `streamwell/protocol`: the wire protocol shared by server and client: the event types, the
 * headers, the SSE encoder and the SSE parser (the server's providers and the client both read
 * event streams with it). Isomorphic: no Node modules, no DOM.
 *
 * Named exports only: what is not listed here is internal, even where its module exports it.
 *
 * @module
 */
export { encodeSseComment, encodeSseEvent, encodeSseFrame, encodeSseRetry } from './encode-sse.ts';
export {
  type CheckpointData,
  type DoneData,
  type ErrorData,
  type EventDataMap,
  type FinishReason,
  type HandoffData,
  isStreamEvent,
  isTerminalEventName,
  PROTOCOL_VERSION,
  STREAM_EVENT_NAMES,
  type StartData,
  type StreamErrorCode,
  type StreamEvent,
  type StreamEventInput,
  type StreamEventName,
  type TokenData,
  type ToolCallData,
  type ToolResultData,
} from './events.ts';
export { PROTOCOL_HEADER, SSE_HEADERS, STREAM_ID_HEADER } from './headers.ts';
export { createSseParser, type SseEvent, type SseParser, type SseParserOptions } from './sse-parser.ts';
export {
  createSseByteParser,
  createSseParserStream,
  parseSseStream,
  type SseByteParser,
  type SseSource,
  type SseStreamOptions,
} from './sse-stream.ts';
export { encodeBearerProtocol, WEBSOCKET_BEARER_PREFIX, WEBSOCKET_PROTOCOL } from './websocket-protocol.ts';
