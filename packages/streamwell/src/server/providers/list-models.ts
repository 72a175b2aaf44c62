/**
 * Small undici helpers shared by the OpenAI-compatible provider and its self-test: the model
 * list (`GET {baseUrl}/models`), bounded body reads, and error translation.
 *
 * @module
 */
import { type Dispatcher, request as undiciRequest } from 'undici';
import { isStreamwellError } from '../../errors/index.ts';
import { markUpstreamRetryable, retryHintForNetworkError, retryHintForStatus } from '../upstream-retry.ts';
import { createUpstreamError, describeUrl, networkReason, readUpstreamMessage } from './create-upstream-error.ts';

/**
 * What {@link listModels} needs.
 *
 * @internal
 */
export interface ListModelsOptions {
  /** Base URL with the version path, no trailing slash. */
  readonly baseUrl: string;
  /** Request headers (authorization included); `accept` and `content-type` are replaced. */
  readonly headers: Readonly<Record<string, string>>;
  readonly dispatcher: Dispatcher;
  /** Scrubbed from error messages. */
  readonly apiKey: string | undefined;
  readonly signal: AbortSignal;
}

/**
 * Reads a body as text, up to `limit` bytes; the rest is discarded and the body destroyed.
 *
 * @param body - an undici response body
 * @param limit - most bytes kept
 * @returns the text
 *
 * @internal
 */
export async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    if (size + buffer.length > limit) {
      chunks.push(buffer.subarray(0, limit - size));
      body.destroy();
      break;
    }
    chunks.push(buffer);
    size += buffer.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Maps what undici threw: an abort stays an abort (the run already ended and ignores it), a
 * StreamwellError passes through, anything else is a network `upstream_error` naming the
 * reason (`ECONNREFUSED`, `UND_ERR_SOCKET`, ...).
 *
 * @param error - what was thrown
 * @param signal - the request's signal
 * @param target - `METHOD url`, for the message
 * @returns the error to throw
 *
 * @internal
 */
export function translateError(error: unknown, signal: AbortSignal, target: string): unknown {
  if (signal.aborted) return signal.reason ?? error;
  if (isStreamwellError(error)) return error;
  return createUpstreamError({ target: `${target} (${networkReason(error)})`, cause: error });
}

/**
 * Lists the model ids of an OpenAI-compatible server (`GET {baseUrl}/models`).
 *
 * @param options - base URL, headers, dispatcher, signal
 * @returns the ids, in the server's order
 * @throws StreamwellError `upstream_auth` or `upstream_error`
 *
 * @internal
 */
export async function listModels(options: ListModelsOptions): Promise<string[]> {
  const url = `${options.baseUrl}/models`;
  const target = `GET ${describeUrl(url)}`;
  const { accept: _accept, 'content-type': _contentType, ...headers } = options.headers;
  let response: Dispatcher.ResponseData;
  try {
    response = await undiciRequest(url, {
      method: 'GET',
      headers: { ...headers, accept: 'application/json' },
      signal: options.signal,
      dispatcher: options.dispatcher,
    });
  } catch (error) {
    // Before any answer (the model lookup of a stream's first request): the run may retry it.
    const translated = translateError(error, options.signal, target);
    const hint = options.signal.aborted ? undefined : retryHintForNetworkError(error);
    throw hint === undefined ? translated : markUpstreamRetryable(translated as object, hint);
  }
  const text = await readLimited(response.body, 4 * 1024 * 1024);
  if (response.statusCode < 200 || response.statusCode >= 300) {
    const failure = createUpstreamError({
      target,
      status: response.statusCode,
      upstreamMessage: readUpstreamMessage(text),
      apiKey: options.apiKey,
    });
    const hint = retryHintForStatus(response.statusCode, (name) => {
      const value = response.headers[name];
      return Array.isArray(value) ? value[0] : value;
    });
    throw hint === undefined ? failure : markUpstreamRetryable(failure, hint);
  }
  try {
    const parsed = JSON.parse(text) as { data?: Array<{ id?: unknown }> };
    return (parsed.data ?? []).map((entry) => entry.id).filter((id): id is string => typeof id === 'string');
  } catch (error) {
    throw createUpstreamError({
      target,
      status: response.statusCode,
      upstreamMessage: 'the model list is not JSON',
      cause: error,
    });
  }
}

/**
 * The first model the server lists: the default when `LLM_MODEL` is not set.
 *
 * @throws StreamwellError `upstream_error` when the list is empty
 *
 * @internal
 */
export async function discoverModel(options: ListModelsOptions): Promise<string> {
  const first = (await listModels(options))[0];
  if (first === undefined) {
    throw createUpstreamError({
      target: `GET ${describeUrl(`${options.baseUrl}/models`)}`,
      upstreamMessage: 'LLM_MODEL is not set and the server lists no models; set LLM_MODEL',
    });
  }
  return first;
}
