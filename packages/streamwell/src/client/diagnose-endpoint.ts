/**
 * The browser's side of the troubleshooting checklist, as a library function: the web page's
 * "Diagnose" panel runs it. It sees what the page sees (no raw sockets, no preflight details):
 * the URL, CORS as the browser enforces it, the status, the content type, the timing of the
 * first chunk, event and token, buffering, the event format and the terminal event. The checks
 * have the same shape and the same evaluation logic as `streamwell doctor`.
 *
 * Browser-safe: `fetch` and `performance` only.
 *
 * @module
 */
import {
  type CheckResult,
  createCheckResult,
  createDiagnosisReport,
  type DiagnosisReport,
} from './diagnose/check-result.ts';
import { createStreamRecorder } from './diagnose/create-stream-recorder.ts';
import { evaluateBuffering } from './diagnose/evaluate-buffering.ts';
import { evaluateEvents } from './diagnose/evaluate-events.ts';
import { evaluateContentType, evaluateHeaders, evaluateReachable } from './diagnose/evaluate-response.ts';
import { evaluateTerminal } from './diagnose/evaluate-terminal.ts';
import { evaluateTiming } from './diagnose/evaluate-timing.ts';
import { sendWithProbeFallback } from './diagnose/probe-fallback.ts';
import type { StreamObservation } from './diagnose/stream-observation.ts';

/** Options of {@link diagnoseEndpoint}. */
export interface DiagnoseEndpointOptions {
  /** The stream endpoint, absolute or relative to the page. */
  readonly url: string;
  /**
   * POST `{"message": ...}`. Without it the endpoint is fetched with GET, and when that GET is
   * refused with 405 (a POST-only chat endpoint) a short probe message is POSTed instead.
   */
  readonly message?: string | undefined;
  /** Extra request headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /** `fetch` credentials mode. @defaultValue 'same-origin' */
  readonly credentials?: RequestCredentials;
  /** Stop waiting after this long. @defaultValue 15000 */
  readonly timeoutMs?: number;
  /** The page's URL, to resolve `url` and tell cross-origin from same-origin. @defaultValue location.href */
  readonly pageUrl?: string | undefined;
  /** The `fetch` to use. @defaultValue globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Aborts the diagnosis. */
  readonly signal?: AbortSignal;
  /** Progress notes for a UI. */
  readonly onProgress?: (note: string) => void;
}

/**
 * Default of {@link DiagnoseEndpointOptions.timeoutMs}.
 *
 * @internal
 */
export const DEFAULT_DIAGNOSE_TIMEOUT_MS = 15_000;

interface Target {
  readonly url: URL;
  readonly crossOrigin: boolean;
  readonly check: CheckResult;
}

function resolveTarget(options: DiagnoseEndpointOptions): Target | CheckResult {
  const title = 'Endpoint URL';
  const pageUrl = options.pageUrl ?? (globalThis as { location?: { href: string } }).location?.href;
  let url: URL;
  try {
    url = pageUrl === undefined ? new URL(options.url) : new URL(options.url, pageUrl);
  } catch {
    return createCheckResult(
      'url',
      title,
      'fail',
      `"${options.url}" is not a valid URL.`,
      'Use a path like /api/stream/message or a full http(s) URL.',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return createCheckResult('url', title, 'fail', `${url.href} is not http(s).`, 'Use an http:// or https:// URL.');
  }
  const page = pageUrl === undefined ? undefined : new URL(pageUrl);
  const crossOrigin = page !== undefined && page.origin !== url.origin;
  if (page?.protocol === 'https:' && url.protocol === 'http:') {
    return createCheckResult(
      'url',
      title,
      'fail',
      `The page is https but the endpoint ${url.href} is http: browsers block this mixed content.`,
      'Serve the endpoint over https (or through the same origin as the page).',
    );
  }
  const where = crossOrigin ? `cross-origin from ${page?.origin}` : 'same origin as the page';
  return { url, crossOrigin, check: createCheckResult('url', title, 'pass', `${url.href} (${where}).`) };
}

/**
 * Diagnoses an endpoint from the browser.
 *
 * @param options - the endpoint and how to call it
 * @returns the report: `url`, `cors`, `reachable`, `content-type`, then for a 200 stream
 *   `headers` (same origin only), `timing`, `buffering`, `events`, `terminal`
 * @example
 * const report = await diagnoseEndpoint({ url: '/api/stream/message', message: 'test' });
 * for (const check of report.checks) console.log(check.status, check.title, check.evidence);
 */
export async function diagnoseEndpoint(options: DiagnoseEndpointOptions): Promise<DiagnosisReport> {
  const target = resolveTarget(options);
  if (!('url' in target)) return createDiagnosisReport([target]);
  const checks: CheckResult[] = [target.check];
  const { result: recorded, fallback } = await sendWithProbeFallback(
    options.message === undefined ? 'GET' : 'POST',
    (probe) => recordFetch(target.url, options, probe ?? options.message),
    ({ observation }) => ({ status: observation.status, allow: observation.headers.allow }),
  );
  const message = fallback?.message ?? options.message;
  const { observation, failure } = recorded;
  checks.push(corsCheck(target, observation, failure));
  if (failure !== undefined && target.crossOrigin) return createDiagnosisReport(checks);
  const method = message === undefined ? 'GET' : 'POST';
  checks.push(
    evaluateReachable(observation, { url: target.url.href, method, sentMessage: message !== undefined, fallback }),
  );
  if (observation.status !== 200) return createDiagnosisReport(checks);
  const buffering = evaluateBuffering(observation);
  checks.push(evaluateContentType(observation, target.url.href));
  // Cross-origin, the browser hides every header the server did not expose, so only judge them same-origin.
  if (!target.crossOrigin) checks.push(evaluateHeaders(observation, { streamedLive: buffering.status === 'pass' }));
  checks.push(evaluateTiming(observation), buffering, evaluateEvents(observation), evaluateTerminal(observation));
  return createDiagnosisReport(checks);
}

function corsCheck(target: Target, observation: StreamObservation, failure: string | undefined): CheckResult {
  const title = 'CORS, as the browser sees it';
  if (!target.crossOrigin) {
    return createCheckResult('cors', title, 'pass', 'Same origin as the page: CORS does not apply.');
  }
  if (failure !== undefined) {
    return createCheckResult(
      'cors',
      title,
      'fail',
      `fetch failed before any response (${failure}). From a cross-origin page this is most likely CORS (the browser hides the reason; DevTools' console shows it), or the server is down.`,
      'Allow this page origin on the server (streamwell: CORS_ORIGINS), answer the preflight (OPTIONS) with Access-Control-Allow-Origin, -Headers (Content-Type, Last-Event-ID) and -Credentials; or serve the page and the API from one origin. Run `streamwell doctor <url> --origin <page origin>` for the details.',
    );
  }
  const streamIdVisible = observation.headers['x-stream-id'] !== undefined;
  const startEvent = observation.events.find((event) => event.event === 'start');
  if (!streamIdVisible && startEvent !== undefined && startEvent.data.includes('"streamId"')) {
    return createCheckResult(
      'cors',
      title,
      'warn',
      'The browser let the page read the response, but not its X-Stream-Id header (not exposed), so a page cannot resume this stream from the header.',
      'Add X-Stream-Id to Access-Control-Expose-Headers.',
    );
  }
  return createCheckResult(
    'cors',
    title,
    'pass',
    `The browser let this page read the cross-origin response (status ${observation.status}).`,
  );
}

async function recordFetch(
  url: URL,
  options: DiagnoseEndpointOptions,
  message: string | undefined,
): Promise<{ observation: StreamObservation; failure: string | undefined }> {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const timeoutMs = options.timeoutMs ?? DEFAULT_DIAGNOSE_TIMEOUT_MS;
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  let reason: 'timeout' | 'terminal-wait' | undefined;
  const timer = setTimeout(() => {
    reason = 'timeout';
    controller.abort();
  }, timeoutMs);
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const recorder = createStreamRecorder({
    requestedAt: performance.now(),
    expectsReply: message !== undefined,
    timeoutMs,
    onTerminal: () => {
      graceTimer = setTimeout(() => {
        reason ??= 'terminal-wait';
        controller.abort();
      }, 500);
    },
  });
  let failure: string | undefined;
  try {
    options.onProgress?.(`${message === undefined ? 'GET' : 'POST'} ${url.href}`);
    const response = await fetchImpl(url.href, {
      method: message === undefined ? 'GET' : 'POST',
      headers: {
        Accept: 'text/event-stream',
        ...(message === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...options.headers,
      },
      ...(message === undefined ? {} : { body: JSON.stringify({ message }) }),
      credentials: options.credentials ?? 'same-origin',
      cache: 'no-store',
      signal: controller.signal,
    });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    recorder.response(response.status, headers, performance.now());
    options.onProgress?.(`status ${response.status}, reading the stream`);
    if (response.status !== 200 || response.body === null) {
      await response.body?.cancel();
      recorder.end('eof', performance.now());
    } else {
      await readBody(response.body, recorder);
    }
  } catch (error) {
    if (reason !== undefined) {
      const noHead =
        reason === 'timeout' && recorder.events.length === 0
          ? `timed out: no response within ${timeoutMs} ms`
          : undefined;
      recorder.end(reason, performance.now(), noHead);
    } else if (options.signal?.aborted === true) recorder.end('error', performance.now(), 'aborted');
    else {
      failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      recorder.end('error', performance.now(), failure);
    }
  } finally {
    clearTimeout(timer);
    if (graceTimer !== undefined) clearTimeout(graceTimer);
    options.signal?.removeEventListener('abort', abort);
  }
  // A failure after the response head is part of the stream (a cut), not a CORS or network refusal.
  return {
    observation: recorder.observation(),
    failure: recorder.observation().status === undefined ? failure : undefined,
  };
}

async function readBody(
  body: ReadableStream<Uint8Array>,
  recorder: ReturnType<typeof createStreamRecorder>,
): Promise<void> {
  const reader = body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) {
        recorder.end('eof', performance.now());
        return;
      }
      if (!recorder.read(value, performance.now())) {
        recorder.end('limit', performance.now());
        await reader.cancel();
        return;
      }
    }
  } finally {
    reader.releaseLock();
  }
}
