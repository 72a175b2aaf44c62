/**
 * A run: one generation, owned by the server and independent of any connection.
 *
 * The run numbers every event (its `id`), keeps them in a bounded log for replay, enforces the
 * first-token, idle and total timeouts, emits a checkpoint every N tokens, and ends with exactly
 * one terminal event (`done` or `error`). Cancelling aborts the provider's request.
 *
 * Connections are only views: {@link Run.attach} hands a subscriber the backlog after its cursor
 * and registers it for live events in the same synchronous step, so there is no gap and no
 * duplicate whatever the timing.
 *
 * @module
 */

import { isStreamwellError } from '../errors/index.ts';
import {
  type DoneData,
  type ErrorData,
  type FinishReason,
  PROTOCOL_VERSION,
  type StartData,
  type StreamErrorCode,
  type StreamEventName,
} from '../protocol/index.ts';
import { createMemoryRunEventLog } from './memory-run-event-log.ts';
import type { ChatMessage, Provider, ProviderEvent } from './provider.ts';
import type { RunAttachment, RunEvent, RunEventLog, RunSubscriber } from './run-event-log.ts';
import type { RunHandle } from './run-handle.ts';
import { tokenJson } from './run-log.ts';
import {
  backoffDelayMs,
  DEFAULT_UPSTREAM_RETRY_POLICY,
  MAX_UNBOUNDED_RETRY_AFTER_MS,
  type UpstreamRetry,
  upstreamRetryHintOf,
} from './upstream-retry.ts';

/** Final status of a run; `running` until the terminal event. */
export type RunStatus = 'running' | 'complete' | 'cancelled' | 'error' | 'timeout';

export type { RunAttachment, RunEvent, RunSubscriber } from './run-event-log.ts';

/** Limits and timings of one run. Every field has a default in the registry. */
export interface RunLimits {
  /** End the run with `first_token_timeout` when no token arrives in this time. 0 disables. */
  readonly firstTokenTimeoutMs: number;
  /** End the run with `idle_timeout` when the provider is silent this long after a token. 0 disables. */
  readonly idleTimeoutMs: number;
  /** End the run with `stream_timeout` after this total time. 0 disables. */
  readonly streamTimeoutMs: number;
  /** Emit a `checkpoint` every this many tokens. 0 disables. */
  readonly checkpointEvery: number;
  /** Maximum bytes of events one run may retain; past it the run ends with `retention_exceeded`. */
  readonly maxRunBytes: number;
  /**
   * Most upstream attempts per run: a failure before the first byte of the upstream's answer
   * (see `markUpstreamRetryable`) is retried with backoff until this many attempts were made, as
   * long as nothing was relayed and the first-token budget allows. 1 disables retries.
   * @defaultValue 4
   */
  readonly maxUpstreamAttempts?: number;
}

/**
 * Observes a run for logs and metrics. Every hook is optional and must not throw: hooks run
 * inside the run's own steps (a throw from `onTokenGap` ends the run as a provider failure).
 */
export interface RunObserver {
  onFirstToken?(run: Run, timeToFirstTokenMs: number): void;
  /** Gap since the previous token; called from the second token on. Keep it cheap. */
  onTokenGap?(run: Run, gapMs: number): void;
  /**
   * A checkpoint event was emitted (every `CHECKPOINT_EVERY` tokens): the moment to persist the
   * partial answer ({@link Run.text}). Keep it cheap and asynchronous; it runs on the token path.
   */
  onCheckpoint?(run: Run, tokens: number): void;
  /**
   * The upstream failed before its answer started and the run retries it after `retry.delayMs`;
   * `error` is the failure (its message is safe to log: providers scrub keys from it).
   */
  onUpstreamRetry?(run: Run, retry: UpstreamRetry, error: unknown): void;
  onEnd?(run: Run, summary: RunSummary): void;
}

/** One summary per finished run. */
export interface RunSummary {
  readonly status: Exclude<RunStatus, 'running'>;
  /** `stop`, `length`, `cancelled`, ... for `done`; the error code for `error`. */
  readonly outcome: string;
  readonly tokens: number;
  readonly durationMs: number;
  readonly timeToFirstTokenMs: number | undefined;
  readonly retainedBytes: number;
}

/**
 * A byte total shared by the runs of one registry: each run adds what it retains and takes it
 * back when evicted, so the registry checks its global cap without walking every run.
 */
export interface RetentionCounter {
  /** Bytes retained by every run sharing this counter (estimate, as {@link Run.retainedBytes}). */
  bytes: number;
}

/**
 * Options of {@link createRun}.
 *
 * @internal
 */
export interface CreateRunOptions {
  readonly id: string;
  readonly threadId: string;
  /** The principal that started the run; only it may resume or cancel. */
  readonly owner: string | undefined;
  readonly provider: Provider;
  /**
   * The history to send, ending with the new user message; a promise when the caller is still
   * reading it (a durable thread store): the model is called once it resolves. It must not
   * reject: a caller that fails to read it ends the run (`fail`) and resolves it.
   */
  readonly messages: readonly ChatMessage[] | Promise<readonly ChatMessage[]>;
  readonly limits: RunLimits;
  readonly observer?: RunObserver;
  /** Maps a provider failure to a message that is safe to show a client. */
  readonly describeError?: (error: unknown) => string;
  /** Shared with other runs to keep a global total. @defaultValue a counter of this run's own */
  readonly retention?: RetentionCounter;
  /** Where the run's events go. @defaultValue a new in-memory log ({@link createMemoryRunEventLog}) */
  readonly log?: RunEventLog;
}

// Bytes a retained event is counted beyond its JSON text: an upper-bound estimate for the
// retention caps (a live log keeps a token's text and an array slot; a packed one far less),
// not an exact heap size.
const EVENT_OVERHEAD_BYTES = 48;

const defaultDescribeError = (error: unknown): string =>
  isStreamwellError(error) ? error.message : 'The model request failed.';

/** Provider event types that become protocol events of the same name. */
const AGENT_EVENT_TYPES: ReadonlySet<string> = new Set(['tool-call', 'tool-result', 'handoff']);

/**
 * Creates and starts a run. The provider is called on the next microtask, so the caller can
 * attach before the first event is produced (the `start` event is emitted synchronously and
 * is always part of the backlog).
 *
 * @param options - identity, provider, history and limits
 * @returns the running {@link Run}
 *
 * @internal
 */
export function createRun(options: CreateRunOptions): Run {
  return new Run(options);
}

/** One generation. Create it with {@link createRun}. */
export class Run implements RunHandle {
  readonly id: string;
  /** Always true: this process produces the run. */
  readonly local = true;
  readonly threadId: string;
  readonly owner: string | undefined;
  readonly provider: Provider;
  /** `performance.now()` when the run started. */
  readonly startedAt: number;

  #status: RunStatus = 'running';
  #outcome = '';
  #log: RunEventLog;
  #bytes = 0;
  #retention: RetentionCounter;
  #tokens = 0;
  #finishReason: FinishReason = 'stop';
  #controller = new AbortController();
  #limits: RunLimits;
  #observer: RunObserver | undefined;
  #describeError: (error: unknown) => string;
  #firstTokenAt: number | undefined;
  #lastActivityAt: number;
  #lastTokenAt = 0;
  /** True once a token or an agent event went out: from then on a failure is never retried. */
  #relayed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #endedAt: number | undefined;
  #finished: Promise<RunSummary>;
  #resolveFinished!: (summary: RunSummary) => void;

  /**
   * Runs are made by the registry (`createRun`), never by users.
   *
   * @internal
   */
  constructor(options: CreateRunOptions) {
    this.id = options.id;
    this.threadId = options.threadId;
    this.owner = options.owner;
    this.provider = options.provider;
    this.#limits = options.limits;
    this.#observer = options.observer;
    this.#describeError = options.describeError ?? defaultDescribeError;
    this.#retention = options.retention ?? { bytes: 0 };
    this.#log = options.log ?? createMemoryRunEventLog();
    this.startedAt = performance.now();
    this.#lastActivityAt = this.startedAt;
    this.#finished = new Promise((resolve) => {
      this.#resolveFinished = resolve;
    });
    const data: { -readonly [K in keyof StartData]: StartData[K] } = {
      streamId: this.id,
      threadId: this.threadId,
      protocol: PROTOCOL_VERSION,
      provider: options.provider.name,
      model: options.provider.model,
    };
    // Assigned, not spread in: the same JSON (`demo` last), without an object spread per run.
    if (options.provider.demo) data.demo = true;
    this.#emit('start', JSON.stringify(data));
    this.#scheduleTimer();
    queueMicrotask(() => {
      void this.#pump(options.messages);
    });
  }

  /** `running` until the terminal event, then the final status. */
  get status(): RunStatus {
    return this.#status;
  }

  /** The terminal outcome: finish reason for `done`, error code for `error`; '' while running. */
  get outcome(): string {
    return this.#outcome;
  }

  /** Tokens so far. */
  get tokens(): number {
    return this.#tokens;
  }

  /** The text streamed so far: the partial answer while running or after a failure. */
  get text(): string {
    return this.#log.text();
  }

  /** Id of the newest event. */
  get lastEventId(): number {
    return this.#log.lastEventId;
  }

  /** Length of {@link Run.text}, in UTF-16 code units. */
  get textLength(): number {
    return this.#log.text().length;
  }

  /** Bytes the run's event log retains (estimate). */
  get retainedBytes(): number {
    return this.#bytes;
  }

  /** Number of attached subscribers. */
  get subscriberCount(): number {
    return this.#log.subscriberCount;
  }

  /** `performance.now()` at the terminal event, or undefined while running. */
  get endedAt(): number | undefined {
    return this.#endedAt;
  }

  /** Resolves with the summary when the run ends. Never rejects. */
  get finished(): Promise<RunSummary> {
    return this.#finished;
  }

  /** The signal passed to the provider; aborted on cancel, timeout or failure. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /**
   * Attaches a subscriber at a cursor: returns every retained event with an id greater than
   * `after` (all events when `after` is undefined) and delivers every later event live.
   * A finished run returns its backlog and delivers nothing more.
   *
   * @param after - the last event id the subscriber has seen, or undefined for everything
   * @param subscriber - receives live events
   * @returns the backlog and a detach function
   */
  attach(after: number | undefined, subscriber: RunSubscriber): RunAttachment {
    return this.#log.subscribe(after, subscriber);
  }

  /**
   * Retained events with an id greater than `after`, in order.
   *
   * @param after - a cursor; undefined means from the start
   */
  eventsAfter(after: number | undefined): readonly RunEvent[] {
    return this.#log.after(after);
  }

  /**
   * Stops the run: emits `done` with `finishReason: "cancelled"` and aborts the provider's
   * request. Idempotent; on a finished run it does nothing.
   *
   * @returns the run's status after the call
   */
  cancel(): RunStatus {
    if (this.#status === 'running') {
      this.#end('cancelled', { event: 'done', data: { finishReason: 'cancelled', tokens: this.#tokens } });
    }
    return this.#status;
  }

  /**
   * Ends the run with an `error` event carrying `code`, and aborts the provider.
   * Used for timeouts, shutdown and abandonment. Does nothing on a finished run.
   *
   * @param code - the stable error code
   * @param message - a message safe to show a client
   */
  fail(code: StreamErrorCode, message: string): void {
    if (this.#status !== 'running') return;
    const status: RunStatus = code.endsWith('_timeout') ? 'timeout' : code === 'abandoned' ? 'cancelled' : 'error';
    const data: ErrorData = { error: message, code };
    this.#end(status, { event: 'error', data });
  }

  /**
   * Drops every subscriber and tells each it was evicted. Called by the registry when the run
   * leaves retention.
   */
  evict(): void {
    this.#retention.bytes -= this.#bytes;
    this.#bytes = 0;
    this.#log.evict();
  }

  async #pump(pending: readonly ChatMessage[] | Promise<readonly ChatMessage[]>): Promise<void> {
    const messages = pending instanceof Promise ? await pending : pending;
    // Ended while the history was read (cancelled, timed out, or the thread was refused).
    if (this.#status !== 'running') return;
    const request = {
      messages,
      signal: this.#controller.signal,
      streamId: this.id,
      threadId: this.threadId,
    };
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#call(request);
        if (this.#status === 'running') {
          this.#end('complete', { event: 'done', data: { finishReason: this.#finishReason, tokens: this.#tokens } });
        }
        return;
      } catch (error) {
        // After a cancel or timeout the provider throws an abort error: the run already ended.
        if (this.#status !== 'running') return;
        const verdict = this.#retryVerdict(error, attempt);
        if (verdict.retry === undefined) {
          const code: StreamErrorCode =
            isStreamwellError(error) && error.code === 'upstream_auth' ? 'upstream_auth' : 'upstream_error';
          const data: ErrorData = { error: this.#describeError(error) + verdict.note, code };
          this.#end('error', { event: 'error', data });
          return;
        }
        try {
          this.#observer?.onUpstreamRetry?.(this, verdict.retry, error);
        } catch {
          // An observer is for logs and metrics: its failure must not stop the retry, nor (thrown
          // here, outside the attempt's try) become an unhandled rejection that ends the process.
        }
        await this.#wait(verdict.retry.delayMs);
        if (this.#status !== 'running') return;
      }
    }
  }

  async #call(request: Parameters<Provider['stream']>[0]): Promise<void> {
    const provider = this.provider;
    if (provider.streamBatches !== undefined) {
      await provider.streamBatches(request, (events) => this.#applyBatch(events));
      return;
    }
    for await (const event of provider.stream(request)) {
      if (this.#status !== 'running') break;
      this.#apply(event, performance.now());
    }
  }

  /**
   * Whether a failed attempt is retried, and after how long. Only a failure the provider marked
   * as before the first byte of the upstream's answer, only while nothing was relayed (a second
   * answer would repeat the first one's text), at most `maxUpstreamAttempts` attempts, and only
   * when the wait ends inside the first-token (and total) budget: otherwise the run fails now,
   * with a note saying why, rather than at the deadline.
   */
  #retryVerdict(error: unknown, attempt: number): { retry?: UpstreamRetry; note: string } {
    const hint = upstreamRetryHintOf(error);
    if (hint === undefined || this.#relayed) return { note: '' };
    const maxAttempts = this.#limits.maxUpstreamAttempts ?? DEFAULT_UPSTREAM_RETRY_POLICY.maxAttempts;
    const attempts = attempt === 1 ? '1 attempt' : `${attempt} attempts`;
    if (attempt >= maxAttempts) return { note: attempt === 1 ? '' : ` Gave up after ${attempts}.` };
    const { firstTokenTimeoutMs, streamTimeoutMs } = this.#limits;
    let left = Number.POSITIVE_INFINITY;
    if (firstTokenTimeoutMs > 0) left = this.startedAt + firstTokenTimeoutMs - performance.now();
    if (streamTimeoutMs > 0) left = Math.min(left, this.startedAt + streamTimeoutMs - performance.now());
    const retry = (delayMs: number, retryAfter: boolean): { retry: UpstreamRetry; note: string } => ({
      retry: { attempt: attempt + 1, maxAttempts, reason: hint.reason, delayMs, retryAfter },
      note: '',
    });
    if (hint.retryAfterMs !== undefined) {
      const limit = Math.min(left, MAX_UNBOUNDED_RETRY_AFTER_MS);
      if (hint.retryAfterMs < limit) return retry(hint.retryAfterMs, true);
      const room = Number.isFinite(left)
        ? `the ${Math.max(0, Math.floor(left))} ms left of the first-token budget`
        : `${MAX_UNBOUNDED_RETRY_AFTER_MS} ms`;
      return {
        note: ` The upstream asked to retry after ${hint.retryAfterMs} ms (Retry-After), longer than ${room}; gave up after ${attempts}.`,
      };
    }
    const delayMs = backoffDelayMs(attempt, DEFAULT_UPSTREAM_RETRY_POLICY);
    if (delayMs < left) return retry(delayMs, false);
    return { note: ` No first-token budget left for another attempt; gave up after ${attempts}.` };
  }

  /** Waits before a retry; a cancel or timeout (the run's signal) ends the wait at once. */
  #wait(milliseconds: number): Promise<void> {
    const signal = this.#controller.signal;
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, milliseconds);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** @param now - `performance.now()` when the event arrived (one reading per upstream read) */
  #apply(event: ProviderEvent, now: number): void {
    if (event.type === 'text') this.#token(event.text, now);
    else if (event.type === 'finish') this.#finishReason = event.finishReason;
    else this.#agentEvent(event);
  }

  /** One provider batch: its events are numbered and logged one by one, then delivered at once. */
  #applyBatch(events: readonly ProviderEvent[]): void {
    if (this.#status !== 'running') return;
    this.#log.beginBatch();
    // The events of one read arrived together: one clock reading for all of them (it was one
    // per token, ~0.7 % of the gateway's busy time in the bulk profile).
    const now = performance.now();
    try {
      for (let index = 0; index < events.length && this.#status === 'running'; index += 1) {
        this.#apply(events[index] as ProviderEvent, now);
      }
    } finally {
      // After a terminal event inside the batch the log has delivered and closed already.
      if (this.#status === 'running') this.#log.endBatch();
    }
  }

  #token(text: string, now: number): void {
    if (text.length === 0) return;
    this.#lastActivityAt = now;
    this.#relayed = true;
    this.#tokens += 1;
    if (this.#firstTokenAt === undefined) {
      this.#firstTokenAt = now;
      this.#observer?.onFirstToken?.(this, now - this.startedAt);
      // The armed deadline was the first-token or total one; from now on the idle one applies.
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#scheduleTimer();
    } else {
      this.#observer?.onTokenGap?.(this, now - this.#lastTokenAt);
    }
    this.#lastTokenAt = now;
    // The log keeps the text alone and rebuilds this JSON for a replay (see RunLog).
    this.#emit('token', tokenJson(text), text);
    const every = this.#limits.checkpointEvery;
    if (every > 0 && this.#tokens % every === 0 && this.#status === 'running') {
      this.#emit('checkpoint', `{"type":"checkpoint","tokens":${this.#tokens}}`);
      this.#observer?.onCheckpoint?.(this, this.#tokens);
    }
  }

  #agentEvent(event: Exclude<ProviderEvent, { type: 'text' } | { type: 'finish' }>): void {
    // A provider outside TypeScript's reach could yield any `type`; only protocol names go out,
    // which is what lets the frame encoder skip its field checks.
    if (!AGENT_EVENT_TYPES.has(event.type)) return;
    this.#relayed = true;
    this.#lastActivityAt = performance.now();
    const { type, ...rest } = event;
    this.#emit(type, JSON.stringify({ type, ...rest }));
  }

  /** Logs and delivers one event; a token passes its text, which is all the log keeps of it. */
  #emit(event: StreamEventName, json: string, tokenText?: string): void {
    const size = json.length + event.length + EVENT_OVERHEAD_BYTES;
    if (this.#bytes + size > this.#limits.maxRunBytes) {
      // Over the per-run cap: end the run clearly instead of dropping events a resume needs.
      this.fail('retention_exceeded', `This reply exceeded the ${this.#limits.maxRunBytes}-byte retention limit.`);
      return;
    }
    this.#bytes += size;
    this.#retention.bytes += size;
    this.#log.append(event, json, tokenText);
  }

  #end(
    status: Exclude<RunStatus, 'running'>,
    terminal: { event: 'done'; data: DoneData } | { event: 'error'; data: ErrorData },
  ): void {
    this.#status = status;
    this.#outcome = terminal.event === 'done' ? terminal.data.finishReason : terminal.data.code;
    this.#endedAt = performance.now();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    // The terminal event is never refused by the byte cap: every run ends with one.
    const json = JSON.stringify(terminal.data);
    const size = json.length + terminal.event.length + EVENT_OVERHEAD_BYTES;
    this.#bytes += size;
    this.#retention.bytes += size;
    this.#log.finalize(terminal.event, json, {
      status,
      outcome: this.#outcome,
      tokens: this.#tokens,
    });
    // A complete run's provider has already returned: nothing to stop. Skipping the abort there
    // saves a DOMException (with its stack trace) and an event dispatch per stream.
    if (status !== 'complete' && !this.#controller.signal.aborted) this.#controller.abort();
    const summary: RunSummary = {
      status,
      outcome: this.#outcome,
      tokens: this.#tokens,
      durationMs: this.#endedAt - this.startedAt,
      timeToFirstTokenMs: this.#firstTokenAt === undefined ? undefined : this.#firstTokenAt - this.startedAt,
      retainedBytes: this.#bytes,
    };
    // `finished` releases the run's concurrency slot in the registry: it must settle even when a
    // hook throws.
    try {
      this.#observer?.onEnd?.(this, summary);
    } finally {
      this.#resolveFinished(summary);
    }
  }

  /**
   * One timer for all three timeouts. Tokens only record a timestamp (no timer work on the
   * per-token hot path); when the timer fires it checks the deadlines and re-arms for the
   * nearest one still ahead.
   */
  #scheduleTimer(): void {
    const deadline = this.#nextDeadline();
    if (deadline === undefined) return;
    const delay = Math.max(0, deadline - performance.now());
    this.#timer = setTimeout(() => this.#onTimer(), Math.ceil(delay));
    this.#timer.unref?.();
  }

  #nextDeadline(): number | undefined {
    const { firstTokenTimeoutMs, idleTimeoutMs, streamTimeoutMs } = this.#limits;
    let deadline = Number.POSITIVE_INFINITY;
    if (streamTimeoutMs > 0) deadline = this.startedAt + streamTimeoutMs;
    if (this.#firstTokenAt === undefined) {
      if (firstTokenTimeoutMs > 0) deadline = Math.min(deadline, this.startedAt + firstTokenTimeoutMs);
    } else if (idleTimeoutMs > 0) {
      deadline = Math.min(deadline, this.#lastActivityAt + idleTimeoutMs);
    }
    return Number.isFinite(deadline) ? deadline : undefined;
  }

  #onTimer(): void {
    this.#timer = undefined;
    if (this.#status !== 'running') return;
    const now = performance.now();
    const { firstTokenTimeoutMs, idleTimeoutMs, streamTimeoutMs } = this.#limits;
    if (streamTimeoutMs > 0 && now - this.startedAt >= streamTimeoutMs) {
      this.fail('stream_timeout', `The reply took longer than ${streamTimeoutMs} ms in total.`);
    } else if (
      this.#firstTokenAt === undefined &&
      firstTokenTimeoutMs > 0 &&
      now - this.startedAt >= firstTokenTimeoutMs
    ) {
      this.fail('first_token_timeout', `The model sent no token within ${firstTokenTimeoutMs} ms.`);
    } else if (this.#firstTokenAt !== undefined && idleTimeoutMs > 0 && now - this.#lastActivityAt >= idleTimeoutMs) {
      this.fail('idle_timeout', `The model sent nothing for ${idleTimeoutMs} ms.`);
    } else {
      this.#scheduleTimer();
    }
  }
}
