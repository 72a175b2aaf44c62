/**
 * The batch path of the OpenAI-compatible provider on undici's low-level `dispatch` API: the
 * body's bytes reach the SSE parser straight from the HTTP parser's callback, and every event of
 * one read goes to the run in one synchronous call.
 *
 * Why not `undici.request()` here (the generator path still uses it): `request()` wraps every
 * response in an `AsyncResource` and a Node `Readable`, so each upstream read costs a
 * `Readable.push`, a `data` event and async-hook bookkeeping before the parser sees a byte. In
 * the benchmark's profile (docs/benchmarks.md, finding 9) that layer was a few percent of the
 * gateway's CPU per token, with nothing in it the relay needs: backpressure is moot (events are
 * written on as they come) and the reply is read exactly once.
 *
 * @module
 */
import type { Dispatcher } from 'undici';
import type { ProviderEvent } from '../provider.ts';
import {
  markUpstreamRetryable,
  retryHintForNetworkError,
  retryHintForStatus,
  type UpstreamRetryHint,
} from '../upstream-retry.ts';
import { createChatCompletionDecoder, decodeWholeCompletion } from './create-chat-completion-decoder.ts';
import { createUpstreamError, readUpstreamMessage } from './create-upstream-error.ts';
import { createUpstreamParser, UPSTREAM_READ_LIMITS } from './create-upstream-parser.ts';
import { translateError } from './list-models.ts';
import type { UpstreamRequest } from './upstream-batch-handler.ts';

const { maxErrorBodyBytes, maxWholeBodyBytes, endWaitMs, drainTimeoutMs } = UPSTREAM_READ_LIMITS;

/**
 * What {@link dispatchChatCompletion} sends (to the Chat Completions endpoint) and how it reads the answer.
 *
 * @internal
 */
export interface DispatchChatCompletionOptions extends UpstreamRequest {
  /** The key in use, scrubbed from upstream messages. */
  readonly apiKey: string | undefined;
  readonly maxEventBytes: number;
}

/**
 * Sends one streamed Chat Completions request and delivers its events in batches.
 *
 * @param options - request and limits
 * @param onEvents - called synchronously with the events of each upstream read (never empty)
 * @returns settles when the reply is complete; rejects with the run's abort reason on abort, an
 *   `upstream_error` / `upstream_auth` StreamwellError on a failed reply, or what `onEvents` threw
 *
 * @internal
 */
export function dispatchChatCompletion(
  options: DispatchChatCompletionOptions,
  onEvents: (events: readonly ProviderEvent[]) => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const handler = new ChatCompletionHandler(options, onEvents, resolve, reject);
    if (options.signal.aborted) {
      handler.abort();
      return;
    }
    options.signal.addEventListener('abort', handler);
    const { url } = options;
    options.dispatcher.dispatch(
      {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: options.headers,
        body: options.body,
        headersTimeout: options.headersTimeout,
        // Silence between tokens is the run's idle timeout to judge, not the HTTP client's.
        bodyTimeout: 0,
      },
      handler,
    );
  });
}

type Mode = 'sse' | 'error' | 'whole';

/**
 * One request's handler. A class (methods on the prototype) rather than closures: one object
 * per stream, and it doubles as the signal's abort listener (`handleEvent`).
 */
class ChatCompletionHandler implements Dispatcher.DispatchHandler {
  #options: DispatchChatCompletionOptions;
  #onEvents: (events: readonly ProviderEvent[]) => void;
  #resolve: () => void;
  #reject: (error: unknown) => void;
  #controller: Dispatcher.DispatchController | undefined;
  #settled = false;
  #ended = false;
  #mode: Mode = 'sse';
  #status = 0;
  #contentType = '';
  /** Set for a 429, 502 or 503 head: the run may retry the request (nothing was relayed). */
  #retryHint: UpstreamRetryHint | undefined;
  #decoder: ReturnType<typeof createChatCompletionDecoder>;
  #parser: ReturnType<typeof createUpstreamParser>;
  #batch: ProviderEvent[] = [];
  #collected: Buffer[] = [];
  #collectedBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    options: DispatchChatCompletionOptions,
    onEvents: (events: readonly ProviderEvent[]) => void,
    resolve: () => void,
    reject: (error: unknown) => void,
  ) {
    this.#options = options;
    this.#onEvents = onEvents;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#decoder = createChatCompletionDecoder(options.target, options.apiKey);
    this.#parser = createUpstreamParser(options, this.#decoder, () => this.#batch);
  }

  /** The signal's `abort` listener. */
  handleEvent(): void {
    this.abort();
  }

  /** Stops on the run's signal: the connection is destroyed, the promise rejects with its reason. */
  abort(): void {
    const reason = this.#options.signal.reason;
    this.#controller?.abort(reason instanceof Error ? reason : new Error('aborted'));
    this.#fail(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // Aborted (or failed) while the request waited for a connection: never send it.
    if (this.#settled) controller.abort(new Error('aborted'));
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    // A 1xx (100 Continue, 103 Early Hints) comes before the real answer: wait for that one.
    if (this.#settled || statusCode < 200) return;
    this.#status = statusCode;
    const type = headers['content-type'];
    this.#contentType = Array.isArray(type) ? type.join(', ') : (type ?? '');
    if (statusCode < 200 || statusCode >= 300) {
      this.#mode = 'error';
      this.#retryHint = retryHintForStatus(statusCode, (name) => {
        const value = headers[name];
        return Array.isArray(value) ? value[0] : value;
      });
    } else if (!this.#contentType.includes('text/event-stream')) this.#mode = 'whole';
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled || this.#decoder.finished) return;
    if (this.#mode !== 'sse') {
      this.#collect(controller, chunk);
      return;
    }
    try {
      this.#parser.feed(chunk);
    } catch (error) {
      // Events parsed before the failure still go out first.
      if (this.#flush()) this.#fail(error);
      return;
    }
    if (this.#flush() && this.#decoder.finished) {
      // The end of the body normally follows `[DONE]` within microseconds; waiting for it frees
      // the keep-alive connection for the next request instead of opening a new one.
      this.#timer ??= setTimeout(() => this.#succeed(), endWaitMs);
    }
  }

  onResponseEnd(): void {
    this.#ended = true;
    if (this.#settled) return;
    if (this.#mode === 'error') {
      this.#failWithStatus();
      return;
    }
    try {
      // A server that ignored `stream: true` and answered one JSON completion: still a reply.
      if (this.#mode === 'whole') {
        const { target, apiKey } = this.#options;
        decodeWholeCompletion(this.#collectedText(), this.#contentType, target, apiKey, this.#batch);
      } else if (!this.#decoder.finished) this.#decoder.end(this.#batch);
    } catch (error) {
      if (this.#flush()) this.#fail(error);
      return;
    }
    if (this.#flush()) this.#succeed();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#ended = true;
    // After `[DONE]` the reply is complete: a broken tail only costs the connection.
    if (this.#mode === 'sse' && this.#decoder.finished) this.#succeed();
    else if (this.#status === 0 && !this.#settled && !this.#options.signal.aborted) {
      // No response head yet (refused, reset, connect timeout): the upstream has not started
      // answering, so the run may send the request again.
      const { signal, target } = this.#options;
      const translated = translateError(error, signal, target);
      const hint = retryHintForNetworkError(error);
      this.#fail(hint === undefined ? translated : markUpstreamRetryable(translated as object, hint));
    } else this.#fail(error);
  }

  /** Keeps an error body or a whole JSON completion, up to its limit. */
  #collect(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const limit = this.#mode === 'error' ? maxErrorBodyBytes : maxWholeBodyBytes;
    const room = limit - this.#collectedBytes;
    if (chunk.length <= room) {
      this.#collected.push(chunk);
      this.#collectedBytes += chunk.length;
      return;
    }
    if (this.#mode === 'error') {
      // Enough for the message: report it, which also drops the rest of the body.
      this.#collected.push(chunk.subarray(0, room));
      this.#collectedBytes = limit;
      this.#failWithStatus();
      return;
    }
    controller.abort(new Error('completion too large'));
    this.#fail(
      createUpstreamError({
        target: this.#options.target,
        upstreamMessage: `the completion is larger than ${maxWholeBodyBytes} bytes`,
      }),
    );
  }

  /** Fails with the upstream's HTTP status and the message of its error body. */
  #failWithStatus(): void {
    const error = createUpstreamError({
      target: this.#options.target,
      status: this.#status,
      upstreamMessage: readUpstreamMessage(this.#collectedText()),
      apiKey: this.#options.apiKey,
    });
    this.#fail(this.#retryHint === undefined ? error : markUpstreamRetryable(error, this.#retryHint));
  }

  #collectedText(): string {
    return Buffer.concat(this.#collected).toString('utf8');
  }

  /** Hands the pending events to the run; false (and the promise rejected) when that threw. */
  #flush(): boolean {
    const events = this.#batch;
    if (events.length === 0) return true;
    this.#batch = [];
    try {
      this.#onEvents(events);
      return true;
    } catch (error) {
      this.#fail(error);
      return false;
    }
  }

  #succeed(): void {
    if (this.#settled) return;
    this.#settle();
    if (!this.#ended) {
      // Let the tail of the body arrive in the background so the connection can be reused,
      // but not forever.
      const timer = setTimeout(() => {
        if (!this.#ended) this.#controller?.abort(new Error('body tail timed out'));
      }, drainTimeoutMs);
      timer.unref?.();
    }
    this.#resolve();
  }

  #fail(error: unknown): void {
    if (this.#settled) return;
    this.#settle();
    if (!this.#ended) this.#controller?.abort(error instanceof Error ? error : new Error(String(error)));
    this.#reject(translateError(error, this.#options.signal, this.#options.target));
  }

  #settle(): void {
    this.#settled = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#options.signal.removeEventListener('abort', this);
  }
}
