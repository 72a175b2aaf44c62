/**
 * The lean provider: any OpenAI-compatible Chat Completions server (OpenAI, Ollama, vLLM,
 * llama.cpp, LM Studio, ...) over undici, on a keep-alive connection pool.
 *
 * This is the benchmark's hot path, so it avoids per-token work beyond what correctness needs:
 * bytes go through one streaming UTF-8 decoder into the library's own SSE parser, each `data`
 * payload is parsed once with `JSON.parse`, and the only per-token allocation is the provider
 * event itself. No SDK, no Web Streams, no per-chunk promise when events are already queued.
 *
 * The run's AbortSignal is handed to undici, which destroys the socket on abort: the upstream
 * sees the connection close and stops generating (and billing).
 *
 * @module
 */
import { Agent, type Dispatcher, request as undiciRequest } from 'undici';
import { StreamwellError } from '../../errors/index.ts';
import type { Provider, ProviderEvent, ProviderRequest, ProviderSelfTestStep } from '../provider.ts';
import { markUpstreamRetryable, retryHintForNetworkError, retryHintForStatus } from '../upstream-retry.ts';
import { createChatCompletionDecoder, decodeWholeCompletion } from './create-chat-completion-decoder.ts';
import { createUpstreamError, describeUrl, readUpstreamMessage } from './create-upstream-error.ts';
import { createUpstreamParser, UPSTREAM_READ_LIMITS, type UpstreamParserOptions } from './create-upstream-parser.ts';
import { dispatchChatCompletion } from './dispatch-chat-completion.ts';
import { discoverModel, readLimited, translateError } from './list-models.ts';
import { selfTestOpenAICompatible } from './self-test-openai-compatible.ts';
import type { UpstreamHttpOptions } from './upstream-batch-handler.ts';

/** Options of {@link createOpenAICompatibleProvider}. */
export interface OpenAICompatibleProviderOptions extends UpstreamHttpOptions {
  /**
   * The API base URL including the version path, as the OpenAI SDK's `baseURL`
   * (`LLM_BASE_URL`), e.g. `http://localhost:11434/v1`. `/chat/completions` and `/models` are
   * appended to it.
   */
  readonly baseUrl: string;
  /** Bearer key (`LLM_API_KEY`); local servers usually need none. */
  readonly apiKey?: string | undefined;
  /**
   * The model (`LLM_MODEL`). When omitted, the first model the server lists at `GET /models` is
   * used (looked up once, on first use): right for llama.cpp and LM Studio, which serve one model.
   */
  readonly model?: string | undefined;
  /** Extra request body fields, e.g. `{ temperature: 0.2, max_tokens: 512 }`. */
  readonly extraBody?: Readonly<Record<string, unknown>>;
  /** Extra request headers. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The provider, plus `close()` for its connection pool. */
export interface OpenAICompatibleProvider extends Provider {
  /** The base URL in use (without a trailing slash). */
  readonly baseUrl: string;
  /** Closes the provider's own connection pool (not an injected dispatcher). */
  close(): Promise<void>;
}

/** Queued events past which the socket is paused until the consumer catches up. */
const HIGH_WATER_EVENTS = 1024;
const { maxErrorBodyBytes, maxWholeBodyBytes, endWaitMs, drainTimeoutMs } = UPSTREAM_READ_LIMITS;

/**
 * Checks a base URL and removes a trailing slash.
 *
 * @throws StreamwellError `invalid_config` for anything but an absolute http(s) URL
 *
 * @internal
 */
export function normalizeBaseUrl(baseUrl: string, variable = 'LLM_BASE_URL'): string {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new StreamwellError('invalid_config', `${variable} must be an absolute http(s) URL, got "${baseUrl}".`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new StreamwellError('invalid_config', `${variable} must use http or https, got "${parsed.protocol}".`);
  }
  return baseUrl.replace(/\/+$/, '');
}

/**
 * Creates the OpenAI-compatible Chat Completions provider.
 *
 * @param options - base URL (with `/v1`), key, model
 * @returns the provider; call `close()` on shutdown to release its connections
 * @throws StreamwellError `invalid_config` for a bad base URL
 * @example
 * const provider = createOpenAICompatibleProvider({ baseUrl: 'http://localhost:11434/v1', model: 'llama3.2' });
 */
export function createOpenAICompatibleProvider(options: OpenAICompatibleProviderOptions): OpenAICompatibleProvider {
  const baseUrl = normalizeBaseUrl(options.baseUrl);
  const completionsUrl = `${baseUrl}/chat/completions`;
  const completionsTarget = new URL(completionsUrl);
  const target = `POST ${describeUrl(completionsUrl)}`;
  const apiKey = options.apiKey === '' ? undefined : options.apiKey;
  const ownDispatcher = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ??
    new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connect: { timeout: 10_000 } });
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'text/event-stream',
    ...options.headers,
  };
  if (apiKey !== undefined) headers.authorization = `Bearer ${apiKey}`;
  const headersTimeout = options.headersTimeoutMs ?? 300_000;
  const maxEventBytes = options.maxEventBytes ?? 1024 * 1024;
  const configuredModel = options.model === '' ? undefined : options.model;
  let model = configuredModel;
  let discovering: Promise<string> | undefined;

  const resolveModel = async (signal: AbortSignal): Promise<string> => {
    if (model !== undefined) return model;
    // One lookup serves every stream that starts meanwhile, so it must not run on any one
    // stream's signal (a cancel would fail them all); each caller stops waiting on its own.
    discovering ??= discoverModel({
      baseUrl,
      headers,
      dispatcher,
      apiKey,
      signal: AbortSignal.timeout(headersTimeout),
    }).then(
      (found) => {
        model = found;
        return found;
      },
      (error: unknown) => {
        discovering = undefined;
        throw error;
      },
    );
    return untilAborted(discovering, signal);
  };

  const requestBody = (modelName: string, request: ProviderRequest): string =>
    JSON.stringify({ ...options.extraBody, model: modelName, messages: request.messages, stream: true });

  /** Sends the request and checks the answer: an SSE body, or one whole JSON completion. */
  async function open(request: ProviderRequest): Promise<Dispatcher.ResponseData & { eventStream: boolean }> {
    const { signal } = request;
    const body = requestBody(await resolveModel(signal), request);
    let response: Dispatcher.ResponseData;
    try {
      response = await undiciRequest(completionsUrl, {
        method: 'POST',
        headers,
        body,
        signal,
        dispatcher,
        headersTimeout,
        // Silence between tokens is the run's idle timeout to judge, not the HTTP client's.
        bodyTimeout: 0,
      });
    } catch (error) {
      // No response head: the upstream has not started answering, the run may try again.
      const translated = translateError(error, signal, target);
      const hint = signal.aborted ? undefined : retryHintForNetworkError(error);
      throw hint === undefined ? translated : markUpstreamRetryable(translated as object, hint);
    }
    if (response.statusCode < 200 || response.statusCode >= 300) {
      const text = await readLimited(response.body, maxErrorBodyBytes).catch(() => '');
      const failure = createUpstreamError({
        target,
        status: response.statusCode,
        upstreamMessage: readUpstreamMessage(text),
        apiKey,
      });
      const hint = retryHintForStatus(response.statusCode, (name) => {
        const value = response.headers[name];
        return Array.isArray(value) ? value[0] : value;
      });
      throw hint === undefined ? failure : markUpstreamRetryable(failure, hint);
    }
    const contentType = String(response.headers['content-type'] ?? '');
    return Object.assign(response, { eventStream: contentType.includes('text/event-stream') });
  }

  async function* stream(request: ProviderRequest): AsyncIterable<ProviderEvent> {
    const response = await open(request);
    if (!response.eventStream) {
      // A server that ignores `stream: true` answers one JSON completion: still a reply.
      yield* readWholeCompletion(response.body, String(response.headers['content-type'] ?? ''), target, apiKey);
      return;
    }
    yield* readEventStream(response.body, { signal: request.signal, target, apiKey, maxEventBytes });
  }

  async function streamBatches(
    request: ProviderRequest,
    onEvents: (events: readonly ProviderEvent[]) => void,
  ): Promise<void> {
    const { signal } = request;
    // No await when the model is known: the request leaves in the same tick as the run starts.
    const modelName = model ?? (await resolveModel(signal));
    return dispatchChatCompletion(
      {
        dispatcher,
        url: completionsTarget,
        headers,
        body: requestBody(modelName, request),
        headersTimeout,
        signal,
        target,
        apiKey,
        maxEventBytes,
      },
      onEvents,
    );
  }

  return {
    name: 'openai',
    get model() {
      return model ?? 'auto';
    },
    baseUrl,
    stream,
    streamBatches,
    selfTest: (signal?: AbortSignal): Promise<readonly ProviderSelfTestStep[]> =>
      selfTestOpenAICompatible({ baseUrl, apiKey, model: configuredModel, headers, dispatcher, stream }, signal),
    async close() {
      if (ownDispatcher) await dispatcher.close();
    },
  };
}

/** Settles like `promise`, or rejects with the signal's reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

interface ReadOptions extends UpstreamParserOptions {
  readonly signal: AbortSignal;
}

/**
 * Pulls events out of an SSE body. The body is read in flowing mode: each `data` chunk is fed to
 * the parser right away and the events it yields are queued; the generator drains the queue and
 * waits only when it is empty. After `[DONE]` the rest of the body is drained in the background
 * so the keep-alive connection can be reused.
 */
async function* readEventStream(
  body: Dispatcher.ResponseData['body'],
  options: ReadOptions,
): AsyncIterable<ProviderEvent> {
  const { signal, target } = options;
  const decoder = createChatCompletionDecoder(target, options.apiKey);
  let queue: ProviderEvent[] = [];
  let spare: ProviderEvent[] = [];
  let failure: unknown;
  let ended = false;
  let wake: (() => void) | undefined;
  const parser = createUpstreamParser(options, decoder, () => queue);
  const notify = (): void => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const onData = (chunk: Buffer): void => {
    if (decoder.finished || failure !== undefined) return;
    try {
      parser.feed(chunk);
    } catch (error) {
      failure = error;
    }
    if (queue.length > HIGH_WATER_EVENTS) body.pause();
    if (queue.length > 0 || failure !== undefined || decoder.finished) notify();
  };
  const onEnd = (): void => {
    ended = true;
    notify();
  };
  const onError = (error: Error): void => {
    failure ??= error;
    notify();
  };
  body.on('data', onData);
  body.on('end', onEnd);
  body.on('error', onError);
  try {
    while (true) {
      if (queue.length > 0) {
        // Swap buffers so that events parsed while the consumer works go to the other array.
        const batch = queue;
        queue = spare;
        if (body.isPaused()) body.resume();
        for (let index = 0; index < batch.length; index += 1) yield batch[index] as ProviderEvent;
        batch.length = 0;
        spare = batch;
        continue;
      }
      if (failure !== undefined) throw translateError(failure, signal, target);
      if (decoder.finished) {
        // The end of the body (the chunked terminator) normally follows `[DONE]` within
        // microseconds. Waiting for it frees the connection for the next request; returning
        // earlier makes undici open a new one while this one looks busy.
        if (!ended && failure === undefined) {
          const timer = setTimeout(notify, endWaitMs);
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          clearTimeout(timer);
        }
        return;
      }
      if (ended) {
        decoder.end(queue);
        continue;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    body.off('data', onData);
    if (decoder.finished && !ended && failure === undefined) drainInBackground(body);
    else if (!ended) body.destroy();
  }
}

/** Reads what follows `[DONE]` (normally just the end of the chunked body), then lets go. */
function drainInBackground(body: Dispatcher.ResponseData['body']): void {
  const timer = setTimeout(() => body.destroy(), drainTimeoutMs);
  timer.unref?.();
  body.once('close', () => clearTimeout(timer));
  body.on('error', () => {});
  body.resume();
}

/** A server that answered one `chat.completion` JSON instead of a stream. */
async function* readWholeCompletion(
  body: Dispatcher.ResponseData['body'],
  contentType: string,
  target: string,
  apiKey: string | undefined,
): AsyncIterable<ProviderEvent> {
  const text = await readLimited(body, maxWholeBodyBytes);
  const events: ProviderEvent[] = [];
  decodeWholeCompletion(text, contentType, target, apiKey, events);
  yield* events;
}
