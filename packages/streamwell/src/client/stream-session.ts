/**
 * One stream as the client sees it: start (or resume), then reconnect after any drop until the
 * terminal event, keeping the partial text, deduplicating replayed events by id, measuring
 * latency, and exposing it all as callbacks, an async iterator and a `done` promise.
 *
 * The reconnect loop is transport-agnostic (see `stream-transport.ts`): after a drop it always
 * *resumes* with the last id it saw; it only repeats a start when no stream id is known yet and
 * the start carries an `Idempotency-Key` (or the server refused it with 429/503), so a retry can
 * never make a second model call.
 *
 * This file is longer than our usual module because the loop, the event handling and the
 * public surface share one state; they are split into small methods.
 *
 * @module
 */
import { isStreamwellError, StreamwellError, type StreamwellErrorCode } from '../errors/index.ts';
import type { FinishReason, StreamEvent } from '../protocol/index.ts';
import { type Backoff, sleep } from './backoff.ts';
import { type ClientMetrics, type ClientMetricsSnapshot, createClientMetrics } from './client-metrics.ts';
import { createEventQueue, type EventQueue } from './event-queue.ts';
import { startStallWatch } from './stall-watch.ts';
import { StreamHttpError } from './stream-http-error.ts';
import type { StreamTransport, TransportHandlers, TransportResult } from './stream-transport.ts';

/** Where a stream is. `done`, `stopped` and `error` are final. */
export type StreamStatus = 'connecting' | 'streaming' | 'reconnecting' | 'done' | 'stopped' | 'error';

/** Passed to `onReconnect`. */
export interface ReconnectInfo {
  /** 1 for the first retry after a drop; resets once events flow again. */
  readonly attempt: number;
  /** The wait before this attempt. */
  readonly delayMs: number;
  /** The cursor the resume sends (`Last-Event-ID`); undefined replays from the start. */
  readonly lastEventId: number | undefined;
  /** Why the previous connection ended. */
  readonly error: StreamwellError;
}

/** Callbacks of a stream. All optional; they run synchronously as things happen. */
export interface StreamCallbacks {
  /** Every new protocol event (replayed duplicates are dropped before this). */
  onEvent?(event: StreamEvent): void;
  /** Every new token, with the whole text so far. */
  onToken?(token: string, text: string): void;
  onStatus?(status: StreamStatus): void;
  /** The stream id is known (header or `start` event). */
  onStreamId?(streamId: string): void;
  onReconnect?(info: ReconnectInfo): void;
  /** A gap between tokens exceeded `slowTokenMs`. */
  onSlowToken?(gapMs: number): void;
  /** The stream failed (status `error`); the partial text is still on the session. */
  onError?(error: StreamwellError): void;
}

/** What `done` resolves with. */
export interface StreamResult {
  readonly status: 'done' | 'stopped' | 'error';
  /** All text received, also after a stop or an error. */
  readonly text: string;
  readonly streamId: string | undefined;
  readonly threadId: string | undefined;
  /** From the `done` event; undefined when the stream ended otherwise. */
  readonly finishReason: FinishReason | undefined;
  readonly error: StreamwellError | undefined;
  readonly lastEventId: number | undefined;
}

/**
 * Settings of a session (the client fills them from its options).
 *
 * @internal
 */
export interface StreamSessionSettings {
  readonly transport: StreamTransport;
  readonly backoff: Backoff;
  /** Failed reconnects in a row before giving up with `retry_exhausted`. */
  readonly maxAttempts: number;
  /** Silence (no byte, no heartbeat) that counts as a dead connection; 0 disables. */
  readonly stallTimeoutMs: number;
  readonly slowTokenMs: number;
  /** Most events waiting for an async iterator. */
  readonly maxQueuedEvents: number;
  readonly now?: () => number;
}

/**
 * What the session begins with.
 *
 * @internal
 */
export type SessionBeginning =
  | { readonly kind: 'start'; readonly message: string; readonly threadId?: string; readonly idempotencyKey?: string }
  | { readonly kind: 'resume'; readonly streamId: string; readonly after?: number; readonly text?: string };

/** A live stream. Create it with `createStreamClient().start()` / `.resume()` or `streamMessage()`. */
export class StreamSession implements AsyncIterable<StreamEvent> {
  #settings: StreamSessionSettings;
  #callbacks: StreamCallbacks;
  #beginning: SessionBeginning;
  #status: StreamStatus = 'connecting';
  #streamId: string | undefined;
  #threadId: string | undefined;
  #demo = false;
  #lastEventId: number | undefined;
  #resumedFrom: number | undefined;
  // Grown with `+=`: engines keep that as a rope (O(1) per token) and flatten it only when the
  // text is read, so a caller that ignores `onToken`'s text never pays for copying it.
  #text = '';
  #finishReason: FinishReason | undefined;
  #error: StreamwellError | undefined;
  #finished = false;
  #controller = new AbortController();
  #connection: AbortController | undefined;
  #progress = false;
  #serverRetryMs: number | undefined;
  #metrics: ClientMetrics;
  #queue: EventQueue<StreamEvent>;
  #iterated = false;
  #cancelling: Promise<void> | undefined;
  #cancelWhenKnown: ((streamId: string) => void) | undefined;
  #nothingToCancel: (() => void) | undefined;
  #releaseSignal: (() => void) | undefined;
  #done: Promise<StreamResult>;
  #resolveDone!: (result: StreamResult) => void;

  /**
   * Made by the client's `start` / `resume` (or `streamMessage`); not meant to be constructed directly.
   *
   * @internal
   */
  constructor(
    settings: StreamSessionSettings,
    beginning: SessionBeginning,
    callbacks: StreamCallbacks,
    signal?: AbortSignal,
  ) {
    this.#settings = settings;
    this.#beginning = beginning;
    this.#callbacks = callbacks;
    this.#queue = createEventQueue(settings.maxQueuedEvents);
    this.#metrics = createClientMetrics({
      slowTokenMs: settings.slowTokenMs,
      ...(settings.now === undefined ? {} : { now: settings.now }),
      onSlowToken: (gap) => callbacks.onSlowToken?.(gap),
    });
    this.#done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
    if (beginning.kind === 'resume') {
      this.#streamId = beginning.streamId;
      this.#lastEventId = beginning.after;
      this.#text = beginning.text ?? '';
    }
    if (signal?.aborted) {
      this.abort(signal.reason);
    } else if (signal !== undefined) {
      const onAbort = (): void => this.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#releaseSignal = () => signal.removeEventListener('abort', onAbort);
    }
    queueMicrotask(() => {
      void this.#run();
    });
  }

  /** The stream id, once the server named it. */
  get streamId(): string | undefined {
    return this.#streamId;
  }
  /** The thread id from the `start` event. */
  get threadId(): string | undefined {
    return this.#threadId;
  }
  /** True when the built-in demo model answers (from the `start` event). */
  get demo(): boolean {
    return this.#demo;
  }
  get status(): StreamStatus {
    return this.#status;
  }
  /** The text so far: the partial answer while streaming, and after a stop or an error. */
  get text(): string {
    return this.#text;
  }
  /** The id of the newest event seen: the resume cursor. */
  get lastEventId(): number | undefined {
    return this.#lastEventId;
  }
  /** The cursor the latest reconnect resumed from. */
  get resumedFrom(): number | undefined {
    return this.#resumedFrom;
  }
  get error(): StreamwellError | undefined {
    return this.#error;
  }
  get finishReason(): FinishReason | undefined {
    return this.#finishReason;
  }
  get metrics(): ClientMetricsSnapshot {
    return this.#metrics.snapshot();
  }
  /** Resolves when the stream is over (never rejects). */
  get done(): Promise<StreamResult> {
    return this.#done;
  }

  /**
   * Stops the run on the server (`POST .../cancel`, which also stops the model call) and ends
   * this session with status `stopped`. If the stream id is not known yet, the cancel is sent as
   * soon as the server names the stream. Never rejects.
   *
   * @returns resolves when the server has been told (or could not be reached)
   */
  cancel(): Promise<void> {
    if (this.#cancelling !== undefined) return this.#cancelling;
    if (this.#finished) return Promise.resolve();
    const transport = this.#settings.transport;
    const send = (streamId: string): Promise<void> =>
      transport.cancel(streamId).then(
        () => undefined,
        () => undefined,
      );
    const streamId = this.#streamId;
    if (streamId !== undefined) {
      this.#finish('stopped', undefined);
      this.#controller.abort();
      this.#cancelling = send(streamId);
      return this.#cancelling;
    }
    // The start request is in flight and its run may exist already. Keep the request open until
    // the server names the stream, then cancel that run, so no model keeps generating unseen.
    this.#cancelling = new Promise<void>((resolve) => {
      this.#cancelWhenKnown = (knownId) => {
        this.#cancelWhenKnown = undefined;
        this.#controller.abort();
        void send(knownId).then(resolve);
      };
      this.#nothingToCancel = resolve;
    });
    this.#finish('stopped', undefined);
    return this.#cancelling;
  }

  /**
   * Stops reading locally without telling the server (the run continues there until its grace
   * period ends). Status `stopped`, `error` = `aborted`; an iterator throws that error.
   *
   * @param reason - kept as the error's cause
   */
  abort(reason?: unknown): void {
    if (this.#finished) {
      this.#controller.abort(reason);
      return;
    }
    this.#finish('stopped', new StreamwellError('aborted', 'The stream was aborted.', { cause: reason }));
    this.#controller.abort(reason);
  }

  [Symbol.asyncIterator](): AsyncIterator<StreamEvent> {
    if (this.#iterated) {
      throw new StreamwellError(
        'invalid_config',
        'A stream can be iterated only once; use onEvent for a second reader.',
      );
    }
    this.#iterated = true;
    return {
      next: () => this.#queue.next(),
      return: async () => {
        // Breaking out of `for await` early releases the connection.
        if (!this.#finished) this.abort();
        return { done: true, value: undefined };
      },
    };
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#finished) {
      const error = await this.#connectOnce();
      if (this.#finished || error === undefined) break;
      if (this.#progress) attempt = 0;
      attempt += 1;
      const refusal = this.#refusal(error, attempt);
      if (refusal !== undefined) {
        this.#finish('error', refusal);
        break;
      }
      const delayMs =
        error instanceof StreamHttpError && error.retryAfterMs !== undefined
          ? error.retryAfterMs
          : this.#settings.backoff.delay(attempt, this.#serverRetryMs);
      this.#setStatus('reconnecting');
      this.#metrics.markReconnect();
      this.#callbacks.onReconnect?.({ attempt, delayMs, lastEventId: this.#lastEventId, error });
      try {
        await sleep(delayMs, this.#controller.signal);
      } catch {
        break;
      }
    }
    this.#connection = undefined;
    if (this.#cancelWhenKnown !== undefined) {
      // A cancel waited for a stream id that never came: the start failed, no run to stop.
      this.#cancelWhenKnown = undefined;
      this.#nothingToCancel?.();
    }
  }

  /** Why not to retry after `error`, or undefined to retry. */
  #refusal(error: StreamwellError, attempt: number): StreamwellError | undefined {
    if (!error.retryable) return error;
    if (this.#streamId === undefined && this.#beginning.kind === 'start') {
      const refusedBeforeStart = error instanceof StreamHttpError && (error.status === 429 || error.status === 503);
      if (this.#beginning.idempotencyKey === undefined && !refusedBeforeStart) return error;
    }
    if (attempt > this.#settings.maxAttempts) {
      return new StreamwellError(
        'retry_exhausted',
        `Gave up after ${this.#settings.maxAttempts} reconnect attempts: ${error.message}`,
        { cause: error, ...(error.status === undefined ? {} : { status: error.status }) },
      );
    }
    return undefined;
  }

  /** One connection. Returns why it ended, or undefined when the stream is over. */
  async #connectOnce(): Promise<StreamwellError | undefined> {
    const connection = new AbortController();
    this.#connection = connection;
    const onSessionAbort = (): void => connection.abort(this.#controller.signal.reason);
    this.#controller.signal.addEventListener('abort', onSessionAbort, { once: true });
    const stall = startStallWatch(this.#settings.stallTimeoutMs, () => {
      const seconds = Math.round(this.#settings.stallTimeoutMs / 1000);
      connection.abort(
        new StreamwellError('stalled', `Nothing arrived for ${seconds} s (not even a heartbeat).`, { retryable: true }),
      );
    });
    this.#progress = false;
    this.#metrics.markRequest();
    try {
      const result = await this.#open(this.#handlers(stall.touch), connection.signal);
      if (this.#finished) return undefined;
      if (result === 'finished') {
        // 204: the server has nothing after our cursor, so we saw the end already.
        this.#finish('done', undefined);
        return undefined;
      }
      return new StreamwellError('network', 'The connection closed before the stream ended.', { retryable: true });
    } catch (error) {
      if (this.#finished) return undefined;
      return isStreamwellError(error)
        ? error
        : new StreamwellError('network', String(error), { retryable: true, cause: error });
    } finally {
      stall.stop();
      this.#controller.signal.removeEventListener('abort', onSessionAbort);
      if (!connection.signal.aborted) connection.abort();
    }
  }

  #open(handlers: TransportHandlers, signal: AbortSignal): Promise<TransportResult> {
    const transport = this.#settings.transport;
    const beginning = this.#beginning;
    if (this.#streamId === undefined && beginning.kind === 'start') {
      return transport.start(
        { message: beginning.message, threadId: beginning.threadId, idempotencyKey: beginning.idempotencyKey },
        handlers,
        signal,
      );
    }
    this.#resumedFrom = this.#lastEventId;
    return transport.resume({ streamId: this.#streamId as string, after: this.#lastEventId }, handlers, signal);
  }

  #handlers(touch: () => void): TransportHandlers {
    return {
      onStreamId: (streamId) => this.#setStreamId(streamId),
      onActivity: () => {
        touch();
        this.#metrics.markBytes();
        if (this.#status === 'connecting' || this.#status === 'reconnecting') this.#setStatus('streaming');
      },
      onRetry: (milliseconds) => {
        this.#serverRetryMs = milliseconds;
      },
      onEvent: (event) => this.#onEvent(event),
    };
  }

  #setStreamId(streamId: string): void {
    if (this.#streamId !== undefined) return;
    this.#streamId = streamId;
    this.#callbacks.onStreamId?.(streamId);
    this.#cancelWhenKnown?.(streamId);
  }

  #onEvent(event: StreamEvent): void {
    if (this.#finished) {
      // A cancel may be waiting for the id of a start whose response did not expose X-Stream-Id.
      if (event.event === 'start' && this.#cancelWhenKnown !== undefined) this.#setStreamId(event.data.streamId);
      return;
    }
    // Dedupe: ids strictly increase in a run, so anything at or below the cursor is a replay.
    if (this.#lastEventId !== undefined && event.id <= this.#lastEventId) return;
    this.#lastEventId = event.id;
    this.#progress = true;
    if (this.#status !== 'streaming') this.#setStatus('streaming');
    switch (event.event) {
      case 'start':
        this.#setStreamId(event.data.streamId);
        this.#threadId = event.data.threadId;
        this.#demo = event.data.demo === true;
        break;
      case 'token':
        this.#text += event.data.token;
        this.#metrics.markToken();
        break;
      case 'done':
        this.#finishReason = event.data.finishReason;
        break;
      default:
    }
    this.#callbacks.onEvent?.(event);
    if (event.event === 'token') this.#callbacks.onToken?.(event.data.token, this.#text);
    // Only an iterating consumer needs the queue; the store, the hook and the CLI use callbacks,
    // and queueing for them would hold every event of the reply until the session is dropped.
    if (this.#iterated) this.#queue.push(event);
    if (event.event === 'done') {
      this.#finish(event.data.finishReason === 'cancelled' ? 'stopped' : 'done', undefined);
    } else if (event.event === 'error') {
      const code = event.data.code as StreamwellErrorCode;
      this.#finish('error', new StreamwellError(code, event.data.error));
    }
  }

  #setStatus(status: StreamStatus): void {
    if (this.#status === status) return;
    this.#status = status;
    this.#callbacks.onStatus?.(status);
  }

  #finish(status: 'done' | 'stopped' | 'error', error: StreamwellError | undefined): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#error = error;
    this.#releaseSignal?.();
    this.#metrics.markEnd();
    this.#setStatus(status);
    if (status === 'error' && error !== undefined) this.#callbacks.onError?.(error);
    // Stop reading: after the terminal event the server closes anyway; after a stop we leave.
    if (this.#cancelWhenKnown === undefined) this.#connection?.abort();
    this.#queue.close(status === 'done' || (status === 'stopped' && error === undefined) ? undefined : error);
    this.#resolveDone({
      status,
      text: this.text,
      streamId: this.#streamId,
      threadId: this.#threadId,
      finishReason: this.#finishReason,
      error,
      lastEventId: this.#lastEventId,
    });
  }
}
