/**
 * Checks on the response head: reachable with status 200, `Content-Type: text/event-stream`, and
 * the headers that keep proxies from caching, buffering or compressing the stream.
 *
 * @module
 */
import { type CheckResult, createCheckResult, formatMs } from './check-result.ts';
import { describeProbeFallback, type ProbeFallback } from './probe-fallback.ts';
import type { StreamObservation } from './stream-observation.ts';

/**
 * Context for {@link evaluateReachable}.
 *
 * @internal
 */
export interface ReachableContext {
  readonly url: string;
  readonly method: string;
  /** The JSON error code the server answered with (`{"error":{"code"}}`), when it did. */
  readonly errorCode?: string | undefined;
  /**
   * True when the request carried a body (`-m`). A GET refused with 405 is now followed by the
   * probe POST (see `fallback`), so this no longer changes the verdict; it stays for callers.
   */
  readonly sentMessage: boolean;
  /** Set when a GET was refused with 405 and this is the reply to the probe POSTed instead. */
  readonly fallback?: ProbeFallback | undefined;
}

const STATUS_FIXES: Readonly<Record<number, string>> = {
  400: 'The server rejected the request body. streamwell expects JSON {"message": "..."}; check the body your client sends.',
  401: 'The endpoint needs credentials: pass them with -H "Authorization: Bearer ...".',
  404: 'Nothing is served at this path: check the URL (streamwell serves POST /api/stream/message).',
  413: 'The message is too long for the server (MAX_MESSAGE_CHARS / MAX_BODY_BYTES).',
  415: 'Send the body as application/json (or text/plain, as the guide does).',
  429: 'The server is at its stream limit (MAX_CONCURRENT_STREAMS) or rate limit: retry later or raise the limit.',
  503: 'The server is unavailable or draining; check its health (/healthz) and logs.',
};

function statusFix(status: number, context: ReachableContext): string {
  if (status === 403 && context.errorCode === 'origin_not_allowed') {
    return 'The server refuses this Origin: add it to CORS_ORIGINS (comma-separated) on the server.';
  }
  if (status === 421 && context.errorCode === 'host_not_allowed') {
    return 'The server listens on loopback and refuses this Host name (its DNS-rebinding defence): add the name to ALLOWED_HOSTS on the server.';
  }
  if (status === 403)
    return 'The server forbids this request: check credentials, origin allowlists and firewall rules.';
  if (status === 405) return `The endpoint does not accept ${context.method}: check the method your client uses.`;
  if (status >= 500)
    return 'The server failed: read its log for this request (the guide adds a print at the top of the handler).';
  return STATUS_FIXES[status] ?? 'An event stream must answer 200; EventSource treats anything else as fatal.';
}

function networkFix(message: string): string {
  if (/ECONNREFUSED/i.test(message))
    return 'Nothing listens at that host and port: start the server or correct the URL.';
  if (/ENOTFOUND|EAI_AGAIN/i.test(message)) return 'The host name does not resolve: check the URL and DNS.';
  if (/timed? ?out|timeout/i.test(message)) {
    return 'No response head arrived in time: the handler hangs before its first write. Send the headers (and a first comment) immediately, then produce tokens.';
  }
  if (/certificate|self[- ]signed|TLS|SSL/i.test(message))
    return 'TLS failed: check the certificate chain and the scheme (http vs https).';
  return 'The connection failed: check the URL, that the server runs, and any proxy or firewall on the way.';
}

/**
 * Endpoint reachable, status 200.
 *
 * @param observation - the recorded stream
 * @param context - how it was requested
 * @returns the `reachable` check
 *
 * @internal
 */
export function evaluateReachable(observation: StreamObservation, context: ReachableContext): CheckResult {
  const check = evaluateReply(observation, context);
  if (context.fallback === undefined) return check;
  // Say first that the checklist ran on the probe's reply, not on the GET the user asked for.
  const evidence = `${describeProbeFallback(context.url, context.fallback)} ${check.evidence}`;
  return createCheckResult(check.id, check.title, check.status, evidence, check.fix);
}

function evaluateReply(observation: StreamObservation, context: ReachableContext): CheckResult {
  const title = 'Endpoint reachable, status 200';
  if (observation.status === undefined || observation.responseAt === undefined) {
    const message = observation.errorMessage ?? 'no response';
    return createCheckResult(
      'reachable',
      title,
      'fail',
      `${context.method} ${context.url}: ${message}.`,
      networkFix(message),
    );
  }
  const after = formatMs(observation.responseAt - observation.requestedAt);
  if (observation.status === 200) {
    return createCheckResult(
      'reachable',
      title,
      'pass',
      `${context.method} ${context.url} answered 200 after ${after}.`,
    );
  }
  const location = observation.headers.location;
  if (observation.status >= 300 && observation.status < 400 && location !== undefined) {
    return createCheckResult(
      'reachable',
      title,
      'fail',
      `${context.method} ${context.url} answered ${observation.status} redirecting to ${location}.`,
      'Call the final URL directly: a redirect costs a round trip on every (re)connect, and a POST may be turned into a GET on the way.',
    );
  }
  const code = context.errorCode === undefined ? '' : ` (error code "${context.errorCode}")`;
  return createCheckResult(
    'reachable',
    title,
    'fail',
    `${context.method} ${context.url} answered ${observation.status}${code} after ${after}.`,
    statusFix(observation.status, context),
  );
}

/**
 * `Content-Type: text/event-stream`, as EventSource requires and as the guide's first checklist asks.
 *
 * @param observation - the recorded stream
 * @param url - the checked URL: a server's root answering with a page gets a fix that says so
 * @returns the `content-type` check
 *
 * @internal
 */
export function evaluateContentType(observation: StreamObservation, url?: string): CheckResult {
  const title = 'Content-Type is text/event-stream';
  const value = observation.headers['content-type'];
  const root = rootOf(url);
  const fix =
    root === undefined
      ? 'Send `Content-Type: text/event-stream` (FastAPI: StreamingResponse(..., media_type="text/event-stream"); streamwell: SSE_HEADERS). EventSource refuses any other type, and proxies buffer or compress other types.'
      : `This is the server's root, which answers with a page: check its stream endpoint instead, e.g. ${root}api/stream/message (streamwell's reference server and the guide's backend).`;
  if (value === undefined) {
    return createCheckResult('content-type', title, 'fail', 'The response has no Content-Type header.', fix);
  }
  const [mime = '', ...parameters] = value.split(';').map((part) => part.trim().toLowerCase());
  if (mime !== 'text/event-stream') {
    return createCheckResult('content-type', title, 'fail', `Content-Type is "${value}".`, fix);
  }
  const charset = parameters.find((parameter) => parameter.startsWith('charset='));
  if (charset !== undefined && charset !== 'charset=utf-8' && charset !== 'charset="utf-8"') {
    return createCheckResult(
      'content-type',
      title,
      'warn',
      `Content-Type is "${value}"; an event stream is always UTF-8.`,
      'Drop the charset parameter or set charset=utf-8.',
    );
  }
  return createCheckResult('content-type', title, 'pass', `Content-Type is "${value}".`);
}

/**
 * Context for {@link evaluateHeaders}.
 *
 * @internal
 */
export interface HeadersContext {
  /** The buffering verdict, when known: a missing `X-Accel-Buffering` matters less when events arrived live. */
  readonly streamedLive?: boolean | undefined;
}

/**
 * `Cache-Control`, `X-Accel-Buffering` and `Content-Encoding`: compression on an event stream fails.
 *
 * @param observation - the recorded stream
 * @param context - the buffering verdict, when known
 * @returns the `headers` check
 *
 * @internal
 */
export function evaluateHeaders(observation: StreamObservation, context: HeadersContext = {}): CheckResult {
  const title = 'Anti-buffering headers, no compression';
  const headers = observation.headers;
  const found = `Cache-Control: ${headers['cache-control'] ?? '(none)'}; X-Accel-Buffering: ${headers['x-accel-buffering'] ?? '(none)'}; Content-Encoding: ${headers['content-encoding'] ?? '(none)'}`;
  const encoding = (headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    return createCheckResult(
      'headers',
      title,
      'fail',
      `${found}. The stream is compressed: a compressor holds bytes until its buffer fills, so tokens arrive in bursts.`,
      'Turn compression off for text/event-stream: nginx `gzip off;` in the stream location (or drop text/event-stream from gzip_types); Express `compression({ filter })`; send `Cache-Control: no-cache, no-transform` so CDNs leave it alone.',
    );
  }
  const problems: string[] = [];
  const fixes: string[] = [];
  const cacheControl = (headers['cache-control'] ?? '').toLowerCase();
  if (!cacheControl.includes('no-cache') && !cacheControl.includes('no-store')) {
    problems.push('Cache-Control lacks no-cache, so a cache may hold or replay the stream');
    fixes.push('send `Cache-Control: no-cache, no-transform`');
  }
  const accel = (headers['x-accel-buffering'] ?? '').trim().toLowerCase();
  if (accel === 'yes') {
    problems.push('X-Accel-Buffering: yes asks nginx to buffer the stream');
    fixes.push('send `X-Accel-Buffering: no`');
  } else if (accel === '' && context.streamedLive !== true) {
    problems.push('no X-Accel-Buffering: no, so an nginx in front may buffer the stream');
    fixes.push('send `X-Accel-Buffering: no` (nginx strips it before the client, so it may just be hidden by a proxy)');
  }
  if (headers['content-length'] !== undefined) {
    problems.push(
      `Content-Length: ${headers['content-length']} means the whole body existed before the first byte was sent`,
    );
    fixes.push('stream the body (chunked) instead of building it first');
  }
  if (problems.length === 0) {
    const note =
      accel === '' ? ' (X-Accel-Buffering absent, but events arrived live: a proxy may have removed it)' : '';
    return createCheckResult('headers', title, 'pass', `${found}${note}.`);
  }
  const status = accel === 'yes' ? 'fail' : 'warn';
  return createCheckResult(
    'headers',
    title,
    status,
    `${found}: ${problems.join('; ')}.`,
    `${capitalize(fixes.join('; '))}.`,
  );
}

function capitalize(text: string): string {
  return text.length === 0 ? text : `${text[0]?.toUpperCase()}${text.slice(1)}`;
}

/** `http://host:port/` when `url` is a server's root (no path), else undefined. */
function rootOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    // Not `URL.canParse`: this module runs in browsers that predate it.
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  return parsed.pathname === '/' && parsed.search === '' ? `${parsed.origin}/` : undefined;
}
