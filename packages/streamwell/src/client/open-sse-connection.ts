/**
 * One event-stream HTTP request over `fetch`: send it, check the answer, and parse the body
 * until it ends. No retries here; the callers ({@link createSseTransport} for the streamwell
 * protocol, {@link streamSseEvents} for any SSE URL) own the reconnect loop.
 *
 * @module
 */
import { isStreamwellError, StreamwellError } from '../errors/index.ts';
import type { SseEvent } from '../protocol/sse-parser.ts';
import { createSseByteParser, type SseByteParser } from '../protocol/sse-stream.ts';
import { parseRetryAfter } from './backoff.ts';
import { StreamHttpError } from './stream-http-error.ts';

/**
 * One request.
 *
 * @internal
 */
export interface SseConnectionRequest {
  readonly url: string;
  /** @defaultValue 'GET' */
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Sent as `Last-Event-ID` when not empty (as EventSource does). */
  readonly lastEventId?: string | undefined;
  /** `fetch`'s `credentials`, for cookies on a cross-origin stream. */
  readonly credentials?: RequestCredentials;
  readonly signal: AbortSignal;
  readonly fetch: typeof fetch;
  /**
   * A parser owned by the caller, for state that outlives one connection (the last event ID of
   * a generic EventSource-like client). It gets `end()` when the body ends; after an error the
   * caller decides. Without it, one is made per connection from the callbacks below.
   */
  readonly parser?: SseByteParser;
  /** Parser limits (when no `parser` is given). */
  readonly maxEventBytes?: number;
  readonly maxLineBytes?: number;
  /** The response arrived with a 2xx status and an event-stream type. */
  onResponse?(response: Response): void;
  /** A chunk of the body arrived (events, heartbeats or partial lines). */
  onActivity?(): void;
  /** Each event (required unless `parser` is given). */
  onEvent?(event: SseEvent): void;
  onRetry?(milliseconds: number): void;
  onComment?(text: string): void;
}

/**
 * How a connection ended without an error: `ended` when the body ended (cleanly, by the
 * server), `no-content` when the server answered 204 ("do not reconnect").
 *
 * @internal
 */
export type SseConnectionResult = 'ended' | 'no-content';

/** Statuses worth retrying: the server or a proxy may answer differently later. */
const RETRYABLE_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

/** The most of an error body we read, to find the JSON error in it. */
const MAX_ERROR_BODY_CHARS = 16 * 1024;

async function readErrorBody(response: Response): Promise<{ code?: string; message?: string }> {
  try {
    const text = (await response.text()).slice(0, MAX_ERROR_BODY_CHARS);
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const code = typeof body.error?.code === 'string' ? body.error.code : undefined;
    const message = typeof body.error?.message === 'string' ? body.error.message : undefined;
    return { ...(code === undefined ? {} : { code }), ...(message === undefined ? {} : { message }) };
  } catch {
    return {};
  }
}

/**
 * Turns an error status into a {@link StreamHttpError}, reading the server's JSON error body.
 *
 * @param response - a response with a non-2xx status
 * @param what - the request, for the message (`GET /api/streams/abc`)
 * @returns the error
 *
 * @internal
 */
export async function toStreamHttpError(response: Response, what: string): Promise<StreamHttpError> {
  const body = await readErrorBody(response);
  const detail = body.message === undefined ? response.statusText : body.message;
  return new StreamHttpError(`${what} failed with status ${response.status}${detail ? `: ${detail}` : ''}`, {
    status: response.status,
    serverCode: body.code,
    retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
    retryable: RETRYABLE_STATUSES.has(response.status),
  });
}

/**
 * Describes a failed `fetch` or body read. An abort of `signal` becomes `aborted` carrying the
 * abort reason as `cause` (a caller that aborted for its own reason, such as a stall, finds its
 * own error there); anything else is a retryable `network` error.
 */
function toConnectionError(error: unknown, signal: AbortSignal, what: string): StreamwellError {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    if (isStreamwellError(reason)) return reason;
    return new StreamwellError('aborted', `${what} was aborted.`, { cause: reason });
  }
  if (isStreamwellError(error)) return error;
  const detail = error instanceof Error ? error.message : String(error);
  // A URL fetch cannot even parse (a relative URL outside a browser) will never work: say so
  // instead of retrying it.
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  if (cause?.code === 'ERR_INVALID_URL' || /Failed to parse URL|Invalid URL/i.test(detail)) {
    return new StreamwellError('invalid_config', `${what}: ${detail}`, { cause: error });
  }
  return new StreamwellError('network', `${what} failed: ${detail}${causeDetail(cause)}`, {
    retryable: true,
    cause: error,
  });
}

/**
 * Node's `fetch` says only "fetch failed"; the reason is in its `cause` (`connect ECONNREFUSED
 * 127.0.0.1:8000`, `getaddrinfo ENOTFOUND host`, `other side closed`). Browsers give no cause.
 */
function causeDetail(cause: unknown): string {
  const message = (cause as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' && message !== '' ? ` (${message})` : '';
}

function describe(method: string, url: string): string {
  try {
    const parsed = new URL(url, 'http://relative.invalid');
    return `${method} ${parsed.pathname}`;
  } catch {
    return `${method} ${url}`;
  }
}

/**
 * Sends one event-stream request and parses its body until it ends.
 *
 * @param request - the request and the callbacks that receive its events
 * @returns how the body ended
 * @throws StreamHttpError for an error status (`retryable` for 408/425/429/5xx, with `retryAfterMs`);
 *   StreamwellError `bad_content_type` (not an event stream), `network` (retryable: the connection
 *   failed or dropped mid-body), `buffer_overflow` (an event over the parser limits), or the
 *   `signal`'s reason when it is a StreamwellError (else `aborted`)
 *
 * @internal
 */
export async function openSseConnection(request: SseConnectionRequest): Promise<SseConnectionResult> {
  const method = request.method ?? 'GET';
  const what = describe(method, request.url);
  const headers: Record<string, string> = { Accept: 'text/event-stream', ...request.headers };
  // "If the event source's last event ID string is not the empty string, set `Last-Event-ID`."
  if (request.lastEventId !== undefined && request.lastEventId !== '') headers['Last-Event-ID'] = request.lastEventId;

  let response: Response;
  try {
    response = await request.fetch(request.url, {
      method,
      headers,
      signal: request.signal,
      ...(request.body === undefined ? {} : { body: request.body }),
      ...(request.credentials === undefined ? {} : { credentials: request.credentials }),
    });
  } catch (error) {
    throw toConnectionError(error, request.signal, what);
  }
  if (response.status === 204) {
    await response.body?.cancel().catch(() => {});
    return 'no-content';
  }
  if (!response.ok) throw await toStreamHttpError(response, what);
  const type = response.headers.get('content-type') ?? '';
  if (!/^text\/event-stream\b/i.test(type)) {
    await response.body?.cancel().catch(() => {});
    throw new StreamwellError(
      'bad_content_type',
      `${what} answered ${type || 'no content type'}, not text/event-stream.`,
      {
        status: response.status,
      },
    );
  }
  if (response.body === null) {
    throw new StreamwellError('network', `${what} answered without a body.`, { retryable: true });
  }
  request.onResponse?.(response);
  return readBody(response.body, request, what);
}

async function readBody(
  body: ReadableStream<Uint8Array>,
  request: SseConnectionRequest,
  what: string,
): Promise<SseConnectionResult> {
  let failure: StreamwellError | undefined;
  const parser =
    request.parser ??
    createSseByteParser({
      onEvent: (event) => request.onEvent?.(event),
      ...(request.onRetry === undefined ? {} : { onRetry: request.onRetry }),
      ...(request.onComment === undefined ? {} : { onComment: request.onComment }),
      onError: (error) => {
        failure = error;
      },
      ...(request.maxEventBytes === undefined ? {} : { maxEventBytes: request.maxEventBytes }),
      ...(request.maxLineBytes === undefined ? {} : { maxLineBytes: request.maxLineBytes }),
    });
  const reader = body.getReader();
  let finished = false;
  try {
    while (true) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (error) {
        throw toConnectionError(error, request.signal, what);
      }
      if (next.done) {
        finished = true;
        parser.end();
        return 'ended';
      }
      request.onActivity?.();
      parser.feed(next.value);
      if (failure !== undefined) throw failure;
      if (parser.terminated) {
        throw new StreamwellError('buffer_overflow', `${what}: an event exceeded the parser limits.`);
      }
      // A callback may have aborted (a terminal event, a cancel): stop reading right away.
      if (request.signal.aborted) throw toConnectionError(undefined, request.signal, what);
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
  }
}
