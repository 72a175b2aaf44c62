/**
 * The one error base class of streamwell. Every error that crosses a module boundary is a
 * `StreamwellError` (or a subclass) with a stable `code`, so callers branch on codes, never on
 * message text.
 *
 * @module
 */

import type { StreamErrorCode } from '../protocol/events.ts';

const MARKER = Symbol.for('streamwell.error');

/**
 * Stable error codes. HTTP-facing ones double as the `error.code` of JSON error bodies;
 * stream-facing ones as the `code` of the terminal `error` event. The README lists them all.
 */
export type StreamwellErrorCode =
  // request validation (HTTP 4xx)
  | 'bad_request'
  | 'invalid_json'
  | 'unsupported_media_type'
  | 'empty_message'
  | 'message_too_long'
  | 'body_too_large'
  | 'unauthorized'
  | 'origin_not_allowed'
  // the request's Host is not a name this server answers to (DNS rebinding)
  | 'host_not_allowed'
  | 'not_found'
  | 'method_not_allowed'
  | 'too_many_streams'
  // one principal (API key id) runs as many streams at once as it may
  | 'too_many_principal_streams'
  // the server holds as many open event-stream responses or WebSocket sockets as it may
  | 'too_many_connections'
  // one principal holds as many open stream connections as it may
  | 'too_many_principal_connections'
  // the request (headers and body) did not arrive within the server's request timeout
  | 'request_timeout'
  | 'idempotency_conflict'
  // HTTP resume: the Last-Event-ID / ?after= cursor is not an event id of the stream
  | 'invalid_cursor'
  | 'shutting_down'
  // WebSocket transport: a subscriber dropped because the socket did not drain (resume it)
  | 'slow_consumer'
  // a durable store (the thread database) cannot be reached right now; retrying later may work
  | 'store_unavailable'
  // an optional part the request needs is not set up (ChatKit actions, dictation)
  | 'not_implemented'
  // hosted ChatKit sessions need CHATKIT_WORKFLOW_ID and OPENAI_API_KEY
  | 'chatkit_not_configured'
  // run outcomes: the codes of the terminal `error` event
  | StreamErrorCode
  // client side
  | 'http_status'
  | 'bad_content_type'
  | 'network'
  | 'aborted'
  | 'retry_exhausted'
  | 'stalled'
  | 'parse_error'
  | 'buffer_overflow'
  | 'stream_error'
  | 'invalid_config';

/**
 * The HTTP status that fits each request-level code: one table, so an error received over a
 * WebSocket frame gets the same status it would have had over HTTP. Codes not listed have none.
 *
 * @internal
 */
export const HTTP_STATUS_BY_CODE: Readonly<Partial<Record<StreamwellErrorCode, number>>> = Object.freeze({
  bad_request: 400,
  invalid_json: 400,
  empty_message: 400,
  invalid_cursor: 400,
  unauthorized: 401,
  origin_not_allowed: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  host_not_allowed: 421,
  idempotency_conflict: 409,
  body_too_large: 413,
  message_too_long: 413,
  unsupported_media_type: 415,
  too_many_streams: 429,
  too_many_principal_streams: 429,
  too_many_principal_connections: 429,
  internal_error: 500,
  not_implemented: 501,
  shutting_down: 503,
  too_many_connections: 503,
  store_unavailable: 503,
  chatkit_not_configured: 503,
});

/** Options for {@link StreamwellError}. */
export interface StreamwellErrorOptions {
  /** HTTP status that fits this error, when it is answered over HTTP. */
  readonly status?: number;
  /** Whether retrying the same operation may succeed. */
  readonly retryable?: boolean;
  /** The underlying error. */
  readonly cause?: unknown;
}

/**
 * Base class for every streamwell error.
 *
 * @example
 * throw new StreamwellError('message_too_long', 'Message is 9000 characters; the limit is 8000', { status: 413 });
 */
export class StreamwellError extends Error {
  /** Stable machine-readable code. */
  readonly code: StreamwellErrorCode;
  /** HTTP status that fits, if any. */
  readonly status: number | undefined;
  /** Whether a retry may succeed. */
  readonly retryable: boolean;

  constructor(code: StreamwellErrorCode, message: string, options: StreamwellErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? HTTP_STATUS_BY_CODE[code];
    this.retryable = options.retryable ?? false;
    Object.defineProperty(this, MARKER, { value: true });
  }

  /** The JSON error body that HTTP endpoints answer with. */
  toJSON(): { error: { code: StreamwellErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/**
 * Tells a streamwell error apart from any other, also across bundle copies and realms (it checks
 * a `Symbol.for` marker, not `instanceof`).
 *
 * @param value - anything
 * @returns true when `value` is a {@link StreamwellError}
 */
export function isStreamwellError(value: unknown): value is StreamwellError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
}
