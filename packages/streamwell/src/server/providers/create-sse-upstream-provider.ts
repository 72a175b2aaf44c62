/**
 * The `sse` provider: streamwell in front of an existing SSE backend, such as the troubleshooting
 * guide's own FastAPI endpoint (`Runner.run_streamed`, a generator yielding
 * `data: {"token": ...}`), with nothing changed in that backend.
 *
 * Each reply POSTs `{"message": TEXT}` (JSON) to the upstream URL, where TEXT is the new user
 * message. That is all the guide's endpoint reads, so the rest of the thread's history is not
 * sent: a backend that keeps a conversation keeps it itself, keyed by the
 * `X-Streamwell-Thread-Id` header sent with every request (`X-Streamwell-Stream-Id` names the
 * run, for its logs; both percent-encoded when they are not printable ASCII). The body is read as {@link createSseUpstreamDecoder} describes.
 *
 * The run's AbortSignal reaches the socket: cancel, timeouts and the disconnect grace close the
 * upstream connection, which is how the backend learns to stop.
 *
 * @module
 */
import { Agent } from 'undici';
import { StreamwellError } from '../../errors/index.ts';
import type { Provider, ProviderEvent, ProviderRequest, ProviderSelfTestStep } from '../provider.ts';
import { checkStreamedRoundTrip } from './check-streamed-round-trip.ts';
import { describeUrl, headerSecrets } from './create-upstream-error.ts';
import { dispatchSseUpstream } from './dispatch-sse-upstream.ts';
import { parseUpstreamHeaders } from './parse-upstream-headers.ts';
import type { UpstreamHttpOptions } from './upstream-batch-handler.ts';

/** Options of {@link createSseUpstreamProvider}. */
export interface SseUpstreamProviderOptions extends UpstreamHttpOptions {
  /** The upstream's streaming endpoint (`UPSTREAM_URL`), e.g. `http://127.0.0.1:8001/api/stream/message`. */
  readonly url: string;
  /**
   * Headers sent with every upstream request (`UPSTREAM_HEADERS`): a record, or the variable's
   * text (`Name: value` lines, see {@link parseUpstreamHeaders}).
   */
  readonly headers?: Readonly<Record<string, string>> | string | undefined;
}

/** The provider, plus `close()` for its connection pool. */
export interface SseUpstreamProvider extends Provider {
  /** The upstream URL in use (for the operator's logs; the `start` event says only `upstream`). */
  readonly url: string;
  /** Closes the provider's own connection pool (not an injected dispatcher). */
  close(): Promise<void>;
}

/** Events queued for a slow `stream()` consumer past which the socket is paused. */
const HIGH_WATER_EVENTS = 1024;

function checkUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StreamwellError('invalid_config', `UPSTREAM_URL must be an absolute http(s) URL, got "${url}".`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new StreamwellError('invalid_config', `UPSTREAM_URL must use http or https, got "${parsed.protocol}".`);
  }
  return parsed;
}

/**
 * Creates the provider that relays an existing SSE endpoint.
 *
 * @param options - the upstream URL and headers
 * @returns the provider; call `close()` on shutdown to release its connections
 * @throws StreamwellError `invalid_config` for a URL that is not absolute http(s), or bad headers
 * @example
 * const provider = createSseUpstreamProvider({ url: 'http://127.0.0.1:8001/api/stream/message' });
 */
export function createSseUpstreamProvider(options: SseUpstreamProviderOptions): SseUpstreamProvider {
  const url = checkUrl(options.url);
  const target = `POST ${describeUrl(url.href)}`;
  const userHeaders =
    typeof options.headers === 'string' ? parseUpstreamHeaders(options.headers) : lowerCaseNames(options.headers ?? {});
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'text/event-stream',
    ...userHeaders,
  };
  const secrets = headerSecrets(userHeaders);
  const ownDispatcher = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ??
    new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connect: { timeout: 10_000 } });
  const headersTimeout = options.headersTimeoutMs ?? 300_000;
  const maxEventBytes = options.maxEventBytes ?? 1024 * 1024;

  const call = (request: ProviderRequest, onEvents: (events: readonly ProviderEvent[]) => void) => {
    const message = lastUserMessage(request);
    return dispatchSseUpstream(
      {
        dispatcher,
        url,
        headers: {
          ...headers,
          'x-streamwell-thread-id': headerSafe(request.threadId),
          'x-streamwell-stream-id': headerSafe(request.streamId),
        },
        body: JSON.stringify({ message }),
        headersTimeout,
        signal: request.signal,
        target,
        maxEventBytes,
        secrets,
      },
      onEvents,
    );
  };

  async function* stream(request: ProviderRequest): AsyncIterable<ProviderEvent> {
    let queue: ProviderEvent[] = [];
    let settled = false;
    let failure: { error: unknown } | undefined;
    let wake: (() => void) | undefined;
    const notify = (): void => {
      const resume = wake;
      wake = undefined;
      resume?.();
    };
    const upstream = call(request, (events) => {
      for (const event of events) queue.push(event);
      if (queue.length > HIGH_WATER_EVENTS) upstream.pause();
      notify();
    });
    upstream.done.then(
      () => {
        settled = true;
        notify();
      },
      (error: unknown) => {
        settled = true;
        failure = { error };
        notify();
      },
    );
    try {
      while (true) {
        if (queue.length > 0) {
          const batch = queue;
          queue = [];
          upstream.resume();
          yield* batch;
          continue;
        }
        if (settled) {
          if (failure !== undefined) throw failure.error;
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      // A consumer that stops early (break, return) must not leave the upstream generating.
      if (!settled) upstream.abort(new StreamwellError('aborted', 'The reply was abandoned by its reader.'));
    }
  }

  return {
    name: 'sse',
    // Not the URL: `model` reaches every browser in every `start` event. (A failure's message
    // names the URL, as the other providers' messages do, for the one who has to fix it.)
    model: 'upstream',
    url: url.href,
    stream,
    streamBatches: (request, onEvents) => call(request, onEvents).done,
    async selfTest(signal?: AbortSignal): Promise<readonly ProviderSelfTestStep[]> {
      return [await checkStreamedRoundTrip(stream, signal)];
    },
    async close() {
      if (ownDispatcher) await dispatcher.close();
    },
  };
}

/** The new user message: the last `user` message of the history (the run always ends with one). */
function lastUserMessage(request: ProviderRequest): string {
  for (let index = request.messages.length - 1; index >= 0; index -= 1) {
    const message = request.messages[index];
    if (message?.role === 'user') return message.content;
  }
  return '';
}

/** Ids are free text: anything beyond printable ASCII is percent-encoded to stay a valid header value. */
function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

function lowerCaseNames(headers: Readonly<Record<string, string>>): Record<string, string> {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value;
  return lower;
}
