/**
 * The lifecycle of a provider's handler on undici's low-level `dispatch` API: send the request,
 * hand the events of each read to the run in one call, settle exactly once, and close the
 * connection on the run's signal. Subclasses read the response (`onResponseStart`,
 * `onResponseData`, `onResponseEnd`, `onResponseError`) and call
 * {@link UpstreamBatchHandler.flush}, `succeed` and `fail`.
 *
 * The `sse` provider's handler extends it. The OpenAI-compatible batch path
 * (`dispatch-chat-completion.ts`) keeps its own copy of this lifecycle on purpose: it is the
 * benchmark's hot path, and moving it onto this base class measured 1.086x the committed
 * callgrind instructions per relayed token against 1.025x without (budget 1.05x), so the
 * sharing waits until it is free.
 *
 * A class (methods on the prototype) rather than closures: one object per stream, and it doubles
 * as the signal's abort listener (`handleEvent`).
 *
 * @module
 */
import type { Dispatcher } from 'undici';
import type { ProviderEvent } from '../provider.ts';
import { UPSTREAM_READ_LIMITS } from './create-upstream-parser.ts';
import { translateError } from './list-models.ts';

/** HTTP options every undici-based provider takes. */
export interface UpstreamHttpOptions {
  /** The undici dispatcher; by default a keep-alive `Agent` owned by the provider. */
  readonly dispatcher?: Dispatcher;
  /** Time to wait for the response head (the model's queue and prompt time). @defaultValue 300000 */
  readonly headersTimeoutMs?: number;
  /** Longest SSE event (and line) accepted from the upstream. @defaultValue 1048576 */
  readonly maxEventBytes?: number;
}

/** One upstream POST and the run it serves. */
export interface UpstreamRequest {
  readonly dispatcher: Dispatcher;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON request body. */
  readonly body: string;
  /** Longest wait for the response head. */
  readonly headersTimeout: number;
  /** The run's signal: aborting it destroys the connection (the upstream stops generating). */
  readonly signal: AbortSignal;
  /** `POST <url>` without credentials, for messages. */
  readonly target: string;
}

/** Base of the dispatch handlers; see the module comment. */
export abstract class UpstreamBatchHandler implements Dispatcher.DispatchHandler {
  protected readonly request: UpstreamRequest;
  protected controller: Dispatcher.DispatchController | undefined;
  /** True once the promise settled; every later callback is ignored. */
  protected settled = false;
  /** True once the response body ended or failed (nothing left to abort). */
  protected ended = false;
  /** Events decoded from the current read, handed over by {@link UpstreamBatchHandler.flush}. */
  protected batch: ProviderEvent[] = [];
  readonly #onEvents: (events: readonly ProviderEvent[]) => void;
  readonly #resolve: () => void;
  readonly #reject: (error: unknown) => void;

  constructor(
    request: UpstreamRequest,
    onEvents: (events: readonly ProviderEvent[]) => void,
    resolve: () => void,
    reject: (error: unknown) => void,
  ) {
    this.request = request;
    this.#onEvents = onEvents;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** Sends the request, or settles at once when the run's signal has already aborted. */
  start(): void {
    const { signal, url } = this.request;
    if (signal.aborted) {
      this.abort();
      return;
    }
    signal.addEventListener('abort', this);
    this.request.dispatcher.dispatch(
      {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: this.request.headers,
        body: this.request.body,
        headersTimeout: this.request.headersTimeout,
        // Silence before and between tokens is the run's to judge (first-token and idle
        // timeouts, heartbeats meanwhile), not the HTTP client's.
        bodyTimeout: 0,
      },
      this,
    );
  }

  /** The signal's `abort` listener. */
  handleEvent(): void {
    this.abort();
  }

  /**
   * Stops: the connection is destroyed and the promise rejects (with the run's abort reason
   * when the run aborted).
   *
   * @param reason - why; the run's abort reason by default
   */
  abort(reason: unknown = this.request.signal.reason): void {
    this.fail(reason);
  }

  /** Stops reading the socket (backpressure) until {@link UpstreamBatchHandler.resume}. */
  pause(): void {
    this.controller?.pause();
  }

  resume(): void {
    this.controller?.resume();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Aborted (or failed) while the request waited for a connection: never send it.
    if (this.settled) controller.abort(new Error('aborted'));
  }

  /** Hands the pending events to the run; false (and the call failed) when that threw. */
  protected flush(): boolean {
    const events = this.batch;
    if (events.length === 0) return true;
    this.batch = [];
    try {
      this.#onEvents(events);
      return true;
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  /** The reply is complete; a body that has not ended yet may finish in the background. */
  protected succeed(): void {
    if (this.settled) return;
    this.settle();
    if (!this.ended) {
      // Let the tail of the body arrive in the background so the connection can be reused,
      // but not forever.
      const timer = setTimeout(() => {
        if (!this.ended) this.controller?.abort(new Error('body tail timed out'));
      }, UPSTREAM_READ_LIMITS.drainTimeoutMs);
      timer.unref?.();
    }
    this.#resolve();
  }

  /** The reply failed: the connection is closed and the promise rejects. */
  protected fail(error: unknown): void {
    if (this.settled) return;
    this.settle();
    if (!this.ended) this.controller?.abort(error instanceof Error ? error : new Error(String(error)));
    this.#reject(translateError(error, this.request.signal, this.request.target));
  }

  /** Marks the call settled; subclasses clear their own timers here too. */
  protected settle(): void {
    this.settled = true;
    this.request.signal.removeEventListener('abort', this);
  }
}
