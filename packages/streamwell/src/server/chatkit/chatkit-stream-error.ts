/**
 * The error a ChatKit responder or action throws to end its response with a ChatKit `error`
 * event (the reference's `CustomStreamError` and `StreamError`).
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';

/** Options of {@link ChatKitStreamError}. */
export interface ChatKitStreamErrorOptions {
  /**
   * `custom` shows `message` in the thread; `stream.error` shows ChatKit's own localized generic
   * message (the `message` is then only logged). @defaultValue 'custom'
   */
  readonly code?: 'custom' | 'stream.error';
  /** Whether the UI offers a Retry button. @defaultValue false for `custom`, true for `stream.error` */
  readonly allowRetry?: boolean;
  readonly cause?: unknown;
}

/**
 * Ends a ChatKit response with `{"type": "error", "code", "message"?, "allow_retry"}`. Its
 * streamwell code is `stream_error`.
 *
 * @example
 * throw new ChatKitStreamError('This thread is read-only.', { allowRetry: false });
 */
export class ChatKitStreamError extends StreamwellError {
  /** The ChatKit error code of the event. */
  readonly chatkitCode: 'custom' | 'stream.error';
  /** The event's `allow_retry`. */
  readonly allowRetry: boolean;

  /**
   * @param message - shown in the thread for `custom`
   * @param options - ChatKit code and retry
   */
  constructor(message: string, options: ChatKitStreamErrorOptions = {}) {
    super('stream_error', message, options.cause === undefined ? {} : { cause: options.cause });
    this.chatkitCode = options.code ?? 'custom';
    this.allowRetry = options.allowRetry ?? this.chatkitCode === 'stream.error';
  }
}
