/**
 * The streamwell stream client: start a reply, survive drops, stop it for real.
 *
 * @module
 */
import { StreamwellError } from '../errors/index.ts';
import { type BackoffOptions, createBackoff } from './backoff.ts';
import { createSseTransport, type SseTransportOptions } from './sse-transport.ts';
import { type StreamCallbacks, StreamSession, type StreamSessionSettings } from './stream-session.ts';
import type { StreamTransport } from './stream-transport.ts';

/** Options of {@link createStreamClient}. Every limit has a default. */
export interface StreamClientOptions extends SseTransportOptions {
  /**
   * Carries the stream. Default: SSE over `fetch` on the streamwell endpoints, built from the
   * transport options (`url`, `resumeUrl`, `cancelUrl`, `headers`, `fetch`...).
   */
  readonly transport?: StreamTransport;
  /** Failed reconnects in a row before `retry_exhausted`. @defaultValue 8 */
  readonly maxAttempts?: number;
  /** Reconnect delays (capped exponential, full jitter; the server's `retry:` replaces the first step). */
  readonly backoff?: BackoffOptions;
  /**
   * Silence after which a connection counts as dead and is replaced: 3 × the server's 15 s
   * heartbeat, so one lost heartbeat is not a stall. 0 disables.
   *
   * @defaultValue 45000
   */
  readonly stallTimeoutMs?: number;
  /** A gap between tokens longer than this is a slow token. @defaultValue 1000 */
  readonly slowTokenMs?: number;
  /**
   * Send an `Idempotency-Key` (random per start) so that a start retried after a network error
   * can never start a second model call. @defaultValue true
   */
  readonly idempotency?: boolean;
  /** Most events held for an async iterator that reads slower than they arrive. @defaultValue 10000 */
  readonly maxQueuedEvents?: number;
  /** Clock for metrics, in ms. @defaultValue performance.now */
  readonly now?: () => number;
}

/** Per-stream options of `start`. */
export interface StartStreamOptions extends StreamCallbacks {
  /** Continue this thread (the model sees its history). */
  readonly threadId?: string;
  /** Aborts locally (like {@link StreamSession.abort}). */
  readonly signal?: AbortSignal;
  /** Overrides the generated `Idempotency-Key`. */
  readonly idempotencyKey?: string;
}

/** Per-stream options of `resume`. */
export interface ResumeStreamOptions extends StreamCallbacks {
  /** The last event id already seen; undefined replays the whole run from `start`. */
  readonly after?: number;
  /** Text already shown for the events up to `after`, so `session.text` stays whole. */
  readonly text?: string;
  readonly signal?: AbortSignal;
}

/** A stream client. */
export interface StreamClient {
  /**
   * POSTs the message and streams the reply. The request starts on the next microtask, so
   * callbacks and an iterator created right away see every event. Events are queued for
   * iteration only once an iterator exists: one created later starts at the next event
   * (`session.text` still holds the whole reply).
   *
   * @param message - the user message
   * @param options - thread, callbacks, signal
   * @returns the live session (an async iterable of protocol events)
   */
  start(message: string, options?: StartStreamOptions): StreamSession;
  /**
   * Follows an existing stream (for example after a page reload) from a cursor.
   *
   * @param streamId - the stream
   * @param options - cursor, known text, callbacks, signal
   * @returns the live session
   */
  resume(streamId: string, options?: ResumeStreamOptions): StreamSession;
  /**
   * Cancels a run on the server by id.
   *
   * @throws StreamwellError when the server could not be reached or refused
   */
  cancel(streamId: string): Promise<void>;
  /** The transport in use. */
  readonly transport: StreamTransport;
}

/**
 * A random `Idempotency-Key`.
 *
 * @internal
 */
export function createIdempotencyKey(): string {
  const cryptoObject = globalThis.crypto;
  if (typeof cryptoObject?.randomUUID === 'function') return cryptoObject.randomUUID();
  const bytes = new Uint8Array(16);
  cryptoObject.getRandomValues(bytes);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (Number.isInteger(value) && value >= 0) return value;
  throw new StreamwellError('invalid_config', `${name} must be a non-negative integer, got ${value}`);
}

function pickCallbacks(options: StreamCallbacks): StreamCallbacks {
  const { onEvent, onToken, onStatus, onStreamId, onReconnect, onSlowToken, onError } = options;
  return { onEvent, onToken, onStatus, onStreamId, onReconnect, onSlowToken, onError } as StreamCallbacks;
}

/**
 * Creates a stream client.
 *
 * @param options - endpoints, transport, retry and stall settings
 * @returns the client
 * @throws StreamwellError `invalid_config` for a bad limit
 * @example
 * const client = createStreamClient({ url: 'http://localhost:8000/api/stream/message' });
 * const session = client.start('Hello', { onToken: (_token, text) => render(text) });
 * const result = await session.done; // { status: 'done', text, finishReason: 'stop', ... }
 */
export function createStreamClient(options: StreamClientOptions = {}): StreamClient {
  const transport = options.transport ?? createSseTransport(options);
  const settings: StreamSessionSettings = {
    transport,
    backoff: createBackoff(options.backoff),
    maxAttempts: positiveInteger(options.maxAttempts, 8, 'maxAttempts'),
    stallTimeoutMs: positiveInteger(options.stallTimeoutMs, 45_000, 'stallTimeoutMs'),
    slowTokenMs: positiveInteger(options.slowTokenMs, 1000, 'slowTokenMs'),
    maxQueuedEvents: positiveInteger(options.maxQueuedEvents, 10_000, 'maxQueuedEvents'),
    ...(options.now === undefined ? {} : { now: options.now }),
  };
  const idempotency = options.idempotency ?? true;
  return {
    transport,
    start(message, startOptions = {}) {
      const idempotencyKey = startOptions.idempotencyKey ?? (idempotency ? createIdempotencyKey() : undefined);
      return new StreamSession(
        settings,
        {
          kind: 'start',
          message,
          ...(startOptions.threadId === undefined ? {} : { threadId: startOptions.threadId }),
          ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        },
        pickCallbacks(startOptions),
        startOptions.signal,
      );
    },
    resume(streamId, resumeOptions = {}) {
      return new StreamSession(
        settings,
        {
          kind: 'resume',
          streamId,
          ...(resumeOptions.after === undefined ? {} : { after: resumeOptions.after }),
          ...(resumeOptions.text === undefined ? {} : { text: resumeOptions.text }),
        },
        pickCallbacks(resumeOptions),
        resumeOptions.signal,
      );
    },
    cancel(streamId) {
      return transport.cancel(streamId);
    },
  };
}

/**
 * One-call form: creates a client and starts a stream.
 *
 * @param options - client options plus the message and per-stream options
 * @returns the live session
 * @example
 * for await (const event of streamMessage({ url, message: 'Hi' })) if (event.event === 'token') out(event.data.token);
 */
export function streamMessage(
  options: StreamClientOptions & StartStreamOptions & { readonly message: string },
): StreamSession {
  return createStreamClient(options).start(options.message, options);
}
