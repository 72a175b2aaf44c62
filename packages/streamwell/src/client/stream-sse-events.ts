/**
 * A generic event-stream client for any URL, with EventSource's reconnect rules: after a
 * network failure, wait the reconnection time (the server's `retry:`, else a default) and
 * reconnect with `Last-Event-ID`, the last event ID string in effect. It powers
 * `streamwell stream --raw`; the streamwell protocol itself uses {@link createStreamClient}.
 *
 * Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model
 *
 * Deliberate differences from a browser's EventSource, because a command must terminate:
 * - when the server ends the response cleanly, this resolves (EventSource would reconnect);
 * - only GET requests reconnect: a POST body is not idempotent, so a failed POST is an error.
 * As in EventSource, an HTTP error status or a wrong content type fails without reconnecting,
 * and 204 means "do not reconnect".
 *
 * @module
 */
import { isStreamwellError, StreamwellError } from '../errors/index.ts';
import type { SseEvent } from '../protocol/sse-parser.ts';
import { createSseByteParser } from '../protocol/sse-stream.ts';
import { type BackoffOptions, createBackoff, sleep } from './backoff.ts';
import { openSseConnection } from './open-sse-connection.ts';
import { startStallWatch } from './stall-watch.ts';

/** Options of {@link streamSseEvents}. */
export interface StreamSseEventsOptions {
  readonly url: string;
  /** @defaultValue 'GET' */
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** A last event ID to start from (sent as `Last-Event-ID`). */
  readonly lastEventId?: string;
  /** Reconnect after a network failure (GET only). @defaultValue true */
  readonly reconnect?: boolean;
  /** Reconnection time until the server sends `retry:`. @defaultValue 3000 */
  readonly reconnectionTimeMs?: number;
  /** Extra wait on repeated failures, added to the reconnection time ("optionally, wait some more"). */
  readonly backoff?: BackoffOptions;
  /** Failed reconnects in a row before `retry_exhausted`. @defaultValue 8 */
  readonly maxAttempts?: number;
  /** Silence that counts as a dead connection; 0 disables. @defaultValue 0 (a generic stream may be quiet) */
  readonly stallTimeoutMs?: number;
  readonly maxEventBytes?: number;
  readonly maxLineBytes?: number;
  readonly signal?: AbortSignal;
  /** @defaultValue globalThis.fetch */
  readonly fetch?: typeof fetch;
  onEvent(event: SseEvent): void;
  onRetry?(milliseconds: number): void;
  onComment?(text: string): void;
  /** A connection was answered with an event stream. */
  onOpen?(response: Response): void;
  /** A reconnect is about to wait `delayMs`. */
  onReconnect?(info: { attempt: number; delayMs: number; lastEventId: string; error: StreamwellError }): void;
}

/** How {@link streamSseEvents} ended. */
export interface StreamSseEventsResult {
  /** `ended`: the server closed the response; `no-content`: it answered 204. */
  readonly reason: 'ended' | 'no-content';
  readonly lastEventId: string;
}

/**
 * Reads an event stream, reconnecting after network failures.
 *
 * @param options - the request, reconnect rules and callbacks
 * @returns how it ended
 * @throws StreamHttpError for an error status; StreamwellError `bad_content_type`,
 *   `buffer_overflow`, `retry_exhausted`, `aborted`, or `network` when reconnecting is off
 */
export async function streamSseEvents(options: StreamSseEventsOptions): Promise<StreamSseEventsResult> {
  const method = options.method ?? 'GET';
  const reconnect = (options.reconnect ?? true) && method === 'GET';
  const backoff = createBackoff(options.backoff);
  const maxAttempts = options.maxAttempts ?? 8;
  const signal = options.signal ?? new AbortController().signal;
  let reconnectionTimeMs = options.reconnectionTimeMs ?? 3000;
  let progressed = false;
  const parser = createSseByteParser({
    onEvent: (event) => {
      progressed = true;
      options.onEvent(event);
    },
    onRetry: (milliseconds) => {
      // "set the event stream's reconnection time to that integer"
      reconnectionTimeMs = milliseconds;
      options.onRetry?.(milliseconds);
    },
    ...(options.onComment === undefined ? {} : { onComment: options.onComment }),
    ...(options.lastEventId === undefined ? {} : { lastEventId: options.lastEventId }),
    ...(options.maxEventBytes === undefined ? {} : { maxEventBytes: options.maxEventBytes }),
    ...(options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes }),
    onError: () => {},
  });
  let attempt = 0;
  while (true) {
    const connection = new AbortController();
    const onAbort = (): void => connection.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const stall = startStallWatch(options.stallTimeoutMs ?? 0, () =>
      connection.abort(new StreamwellError('stalled', 'Nothing arrived on the event stream.', { retryable: true })),
    );
    progressed = false;
    let failure: StreamwellError;
    try {
      const result = await openSseConnection({
        url: options.url,
        method,
        ...(options.headers === undefined ? {} : { headers: options.headers }),
        ...(options.body === undefined ? {} : { body: options.body }),
        lastEventId: parser.lastEventId,
        signal: connection.signal,
        fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
        parser,
        onActivity: stall.touch,
        ...(options.onOpen === undefined ? {} : { onResponse: options.onOpen }),
      });
      return { reason: result, lastEventId: parser.lastEventId };
    } catch (error) {
      failure = isStreamwellError(error) ? error : new StreamwellError('network', String(error), { cause: error });
    } finally {
      stall.stop();
      signal.removeEventListener('abort', onAbort);
    }
    // The dropped connection's unfinished event is discarded; the last event ID stays.
    parser.end();
    if (signal.aborted) throw new StreamwellError('aborted', 'The event stream was aborted.', { cause: signal.reason });
    const networkFailure = failure.code === 'network' || failure.code === 'stalled';
    if (!reconnect || !networkFailure) throw failure;
    attempt = progressed ? 1 : attempt + 1;
    if (attempt > maxAttempts) {
      throw new StreamwellError(
        'retry_exhausted',
        `Gave up after ${maxAttempts} reconnect attempts: ${failure.message}`,
        {
          cause: failure,
        },
      );
    }
    // "Wait a delay equal to the reconnection time of the event source", then (optionally) more
    // on repeated failures: a jittered exponential extra from the second attempt on.
    const delayMs = reconnectionTimeMs + (attempt > 1 ? backoff.delay(attempt - 1, reconnectionTimeMs) : 0);
    options.onReconnect?.({ attempt, delayMs, lastEventId: parser.lastEventId, error: failure });
    await sleep(delayMs, signal);
  }
}
