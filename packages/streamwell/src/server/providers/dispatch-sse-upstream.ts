/**
 * One request of the `sse` provider on undici's low-level `dispatch` API, as the
 * OpenAI-compatible provider's batch path does (see `dispatch-chat-completion.ts` for why not
 * `request()`): the body's bytes reach the decoder straight from the HTTP parser's callback, and
 * the events of one read go to the caller in one synchronous call.
 *
 * The run's AbortSignal destroys the connection: the upstream sees its client leave (FastAPI's
 * `StreamingResponse` then cancels the generator, and with it the agent run).
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
import { createSseUpstreamDecoder, type SseUpstreamDecoder } from './create-sse-upstream-decoder.ts';
import { createUpstreamError, networkReason, scrubSecret } from './create-upstream-error.ts';
import { UPSTREAM_READ_LIMITS } from './create-upstream-parser.ts';
import { explainUpstreamResponse, isEventStreamType, type UpstreamResponseFacts } from './explain-upstream-response.ts';
import { UpstreamBatchHandler, type UpstreamRequest } from './upstream-batch-handler.ts';

const { maxErrorBodyBytes } = UPSTREAM_READ_LIMITS;

/** What {@link dispatchSseUpstream} sends (to `UPSTREAM_URL`) and how it reads the answer. */
export interface SseUpstreamCallOptions extends UpstreamRequest {
  /** Longest upstream event (and line). */
  readonly maxEventBytes: number;
  /** Values scrubbed from upstream text in messages. */
  readonly secrets: readonly string[];
}

/** A request in flight. */
export interface SseUpstreamCall {
  /**
   * Settles when the reply is complete: resolves after the last batch; rejects with the run's
   * abort reason on abort, an `upstream_error` / `upstream_auth` StreamwellError on a failed
   * reply, or what `onEvents` threw.
   */
  readonly done: Promise<void>;
  /** Stops reading the socket (backpressure) until {@link SseUpstreamCall.resume}. */
  pause(): void;
  resume(): void;
  /** Closes the connection; `done` rejects with `reason`. */
  abort(reason: Error): void;
}

/**
 * Sends `POST {"message"}` to the upstream and delivers its events in batches.
 *
 * @param options - request and limits
 * @param onEvents - called synchronously with the events of each upstream read (never empty)
 * @returns the call
 */
export function dispatchSseUpstream(
  options: SseUpstreamCallOptions,
  onEvents: (events: readonly ProviderEvent[]) => void,
): SseUpstreamCall {
  let handler!: SseUpstreamHandler;
  const done = new Promise<void>((resolve, reject) => {
    handler = new SseUpstreamHandler(options, onEvents, resolve, reject);
  });
  handler.start();
  return {
    done,
    pause: () => handler.pause(),
    resume: () => handler.resume(),
    abort: (reason) => handler.abort(reason),
  };
}

/** `connect` until the head arrives; then `sse` (relaying) or `reject` (reading the body to explain it). */
type Mode = 'connect' | 'sse' | 'reject';

/** One request's handler: the shared lifecycle, plus the checks and the decoding of an SSE backend. */
class SseUpstreamHandler extends UpstreamBatchHandler {
  #options: SseUpstreamCallOptions;
  #mode: Mode = 'connect';
  #facts: Omit<UpstreamResponseFacts, 'body'> | undefined;
  #decoder: SseUpstreamDecoder;
  #collected: Buffer[] = [];
  #collectedBytes = 0;
  /** Set for a 429, 502 or 503 head: the run may retry the request (nothing was relayed). */
  #retryHint: UpstreamRetryHint | undefined;

  constructor(
    options: SseUpstreamCallOptions,
    onEvents: (events: readonly ProviderEvent[]) => void,
    resolve: () => void,
    reject: (error: unknown) => void,
  ) {
    super(options, onEvents, resolve, reject);
    this.#options = options;
    this.#decoder = createSseUpstreamDecoder(options);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    // A 1xx (100 Continue, 103 Early Hints) comes before the real answer: wait for that one.
    if (this.settled || statusCode < 200) return;
    const header = (name: string): string => {
      const value = headers[name];
      return Array.isArray(value) ? value.join(', ') : (value ?? '');
    };
    this.#facts = {
      status: statusCode,
      statusText: statusMessage,
      contentType: header('content-type'),
      contentEncoding: header('content-encoding'),
      allow: header('allow'),
      location: header('location'),
    };
    this.#retryHint = retryHintForStatus(statusCode, (name) => header(name) || undefined);
    if (statusCode >= 300 || !isEventStreamType(this.#facts.contentType)) {
      // Judged with the start of its body: an HTML title or a JSON message says what happened.
      this.#mode = 'reject';
      return;
    }
    this.#mode = 'sse';
    // A stream the head already rules out (compressed): no need to wait for its body.
    if (explainUpstreamResponse({ ...this.#facts, body: '' }) !== undefined) this.#failWithResponse();
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    if (this.#mode === 'reject') {
      this.#collect(chunk);
      return;
    }
    try {
      this.#decoder.push(chunk, this.batch);
    } catch (error) {
      // Events decoded before the failure still go out first.
      if (this.flush()) this.fail(error);
      return;
    }
    if (this.flush() && this.#decoder.finished) this.succeed();
  }

  onResponseEnd(): void {
    this.ended = true;
    if (this.settled) return;
    if (this.#mode === 'reject') {
      this.#failWithResponse();
      return;
    }
    // The body ended cleanly (the chunked terminator, or all of Content-Length): the reply is complete.
    this.#decoder.end(this.batch);
    if (this.flush()) this.succeed();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.ended = true;
    if (this.settled) return;
    const { target } = this.#options;
    const reason = networkReason(error);
    if (this.#mode === 'sse') {
      this.fail(
        createUpstreamError({
          target,
          headline: `The upstream (${target}) closed the connection mid-reply, after ${this.#decoder.tokens} tokens and before the end of its body (${reason})`,
          cause: error,
        }),
      );
      return;
    }
    const headline =
      reason === 'UND_ERR_HEADERS_TIMEOUT'
        ? `The upstream (${target}) sent no response head within ${this.#options.headersTimeout} ms`
        : `The upstream (${target}) could not be reached (${reason})`;
    const failure = createUpstreamError({ target, headline, cause: error });
    // No response head yet (refused, reset, connect timeout): the run may send the request again.
    const hint = this.#mode === 'connect' ? retryHintForNetworkError(error) : undefined;
    this.fail(hint === undefined ? failure : markUpstreamRetryable(failure, hint));
  }

  /** Keeps the start of a body that is not a stream, enough to say what it is. */
  #collect(chunk: Buffer): void {
    const room = maxErrorBodyBytes - this.#collectedBytes;
    this.#collected.push(chunk.length <= room ? chunk : chunk.subarray(0, room));
    this.#collectedBytes += Math.min(chunk.length, room);
    // Enough to explain it: report now, which also drops the rest of the body.
    if (this.#collectedBytes >= maxErrorBodyBytes) this.#failWithResponse();
  }

  /** Fails with what is wrong with the answer (status, type, encoding), in the shared words. */
  #failWithResponse(): void {
    const facts = this.#facts;
    if (facts === undefined) return;
    const { target, secrets } = this.#options;
    let body = Buffer.concat(this.#collected).toString('utf8');
    for (const secret of secrets) if (secret.length >= 4) body = scrubSecret(body, secret);
    const explained = explainUpstreamResponse({ ...facts, body: scrubSecret(body, undefined) });
    const headline =
      explained === undefined
        ? `The upstream (${target}) answered HTTP ${facts.status}`
        : `The upstream (${target}) ${explained.problem}. ${explained.fix.replace(/\.$/, '')}`;
    const failure = createUpstreamError({ target, status: facts.status, headline });
    this.fail(this.#retryHint === undefined ? failure : markUpstreamRetryable(failure, this.#retryHint));
  }
}
