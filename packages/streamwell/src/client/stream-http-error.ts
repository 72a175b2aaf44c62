/**
 * The error a stream request fails with when the server answers with an error status.
 *
 * @module
 */
import { StreamwellError, type StreamwellErrorCode } from '../errors/index.ts';

/** Options of {@link StreamHttpError}. */
export interface StreamHttpErrorOptions {
  /** The HTTP status. */
  readonly status: number;
  /** The `error.code` of the server's JSON error body, when it sent one. */
  readonly serverCode?: string | undefined;
  /** The server's `Retry-After`, in ms. */
  readonly retryAfterMs?: number | undefined;
  /** Whether the request may succeed later (408, 425, 429, 5xx). */
  readonly retryable: boolean;
}

/**
 * Thrown (or reported) when a start, resume or cancel request answers with an error status.
 * `code` is `not_found` for 404 (the stream expired or was never there) and `http_status`
 * otherwise; `serverCode` carries the server's own code (`too_many_streams`, `unauthorized`...).
 */
export class StreamHttpError extends StreamwellError {
  /** The server's `error.code`, if its body was a streamwell JSON error. */
  readonly serverCode: string | undefined;
  /** The server's `Retry-After` in ms, if any. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: StreamHttpErrorOptions) {
    const code: StreamwellErrorCode = options.status === 404 ? 'not_found' : 'http_status';
    super(code, message, { status: options.status, retryable: options.retryable });
    this.serverCode = options.serverCode;
    this.retryAfterMs = options.retryAfterMs;
  }
}
