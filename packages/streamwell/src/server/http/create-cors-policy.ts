/**
 * CORS for the stream endpoints: an allowlist that never reflects an untrusted origin.
 *
 * The troubleshooting guide reflects whatever `Origin` arrives together with
 * `Access-Control-Allow-Credentials: true`, which lets any site spend the operator's tokens with a
 * visitor's cookies. Here an origin is allowed only when it is the server's own origin or on the
 * configured list; anything else is refused with `403 origin_not_allowed` before any model call.
 * Requests without `Origin` (curl, servers) are unaffected.
 *
 * Spec: https://fetch.spec.whatwg.org/#http-cors-protocol ("`Access-Control-Allow-Origin` ...
 * cannot be `*` when credentials are included").
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';
import type { HostAllowlist } from './create-host-allowlist.ts';
import type { HttpHeaders } from './http-types.ts';

/**
 * Request headers a browser may send cross-origin (answered in every preflight).
 *
 * @internal
 */
export const CORS_ALLOWED_HEADERS: readonly string[] = [
  'Content-Type',
  'Authorization',
  'Last-Event-ID',
  'Idempotency-Key',
];

/**
 * Response headers a cross-origin page may read.
 *
 * @internal
 */
export const CORS_EXPOSED_HEADERS: readonly string[] = ['X-Stream-Id', 'X-Streamwell-Protocol', 'Retry-After'];

/**
 * Methods of the stream endpoints.
 *
 * @internal
 */
export const CORS_ALLOWED_METHODS: readonly string[] = ['GET', 'POST', 'OPTIONS'];

/**
 * The refusal of a foreign `Origin`: one wording for every transport (HTTP, WebSocket upgrade,
 * the reference server's other routes).
 *
 * @returns `StreamwellError` `origin_not_allowed` (403)
 */
export function createOriginNotAllowedError(): StreamwellError {
  return new StreamwellError(
    'origin_not_allowed',
    'This origin is not allowed to use this server. Add it to CORS_ORIGINS if it should be.',
    { status: 403 },
  );
}

/** Options of {@link createCorsPolicy}. */
export interface CorsOptions {
  /** Origins allowed besides the server's own, e.g. `https://app.example.com`. Exact matches only. */
  readonly origins?: readonly string[];
  /**
   * Allow the origin the request was addressed to (its `Host`). With {@link CorsOptions.hosts},
   * only for a `Host` on that allowlist. @defaultValue true
   */
  readonly allowOwnOrigin?: boolean;
  /**
   * The `Host` allowlist (see `createHostAllowlist`): a request whose `Host` it refuses is
   * refused with `421 host_not_allowed` before its `Origin` is looked at (also without `Origin`),
   * and its `Host` never counts as the own origin. Without it, `Host` is trusted as sent, which
   * a DNS-rebinding page can choose: set it whenever the server may listen on loopback.
   *
   * @defaultValue undefined (every `Host` is trusted)
   */
  readonly hosts?: HostAllowlist;
  /** Preflight cache lifetime. @defaultValue 600 */
  readonly maxAgeSeconds?: number;
}

/** The CORS decisions and headers, shared by every adapter and the reference server. */
export interface CorsPolicy {
  /**
   * Whether a request from `origin` may proceed.
   *
   * @param origin - the `Origin` header value
   * @param host - the `Host` header value, for the server's own origin
   */
  isAllowed(origin: string, host: string | undefined): boolean;
  /**
   * Throws when the request's `Host` is not on the allowlist ({@link CorsOptions.hosts}), or when
   * it carries an `Origin` that is not allowed. No `Origin` (and an allowed `Host`): passes.
   *
   * @throws StreamwellError `host_not_allowed` (421), `origin_not_allowed` (403)
   */
  assertAllowed(origin: string | undefined, host: string | undefined): void;
  /**
   * Headers for an ordinary response: always `Vary: Origin`; for an allowed origin also
   * `Access-Control-Allow-Origin` (that origin, never `*`), credentials and exposed headers.
   */
  responseHeaders(origin: string | undefined, host: string | undefined): HttpHeaders;
  /** Headers for a preflight answer to an allowed origin (includes {@link CorsPolicy.responseHeaders}). */
  preflightHeaders(origin: string, host: string | undefined): HttpHeaders;
}

/**
 * Normalizes an origin as browsers serialize it (`scheme://host[:port]`, lower-case, default port
 * dropped), or throws for anything that is not a bare origin.
 *
 * @param text - e.g. `https://App.example.com:443`
 * @returns e.g. `https://app.example.com`
 * @throws TypeError when `text` has a path, query, credentials, or is not an http(s) URL
 */
export function normalizeOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`${JSON.stringify(text)} is not an origin (expected scheme://host[:port])`);
  }
  const isHttp = url.protocol === 'http:' || url.protocol === 'https:';
  if (!isHttp || url.username || url.password || url.search || url.hash || url.pathname !== '/') {
    throw new TypeError(`${JSON.stringify(text)} is not an origin (expected scheme://host[:port], no path)`);
  }
  return url.origin;
}

/**
 * `host` of an origin exactly as browsers serialize it (lower case, no default port, no
 * userinfo, path or trailing slash), or undefined for anything else. Only a canonical spelling
 * is ever echoed: `http://evil.example@localhost:3000` parses to host `localhost:3000`, and
 * `HTTP://LOCALHOST:3000` or `http://localhost:3000/` are no browser's `Origin`.
 */
function originHost(origin: string): { host: string; protocol: string } | undefined {
  if (!origin.startsWith('http://') && !origin.startsWith('https://')) return undefined;
  try {
    const url = new URL(origin);
    if (url.origin !== origin) return undefined;
    return { host: url.host, protocol: url.protocol };
  } catch {
    return undefined;
  }
}

function stripDefaultPort(host: string, protocol: string): string {
  const lower = host.toLowerCase();
  if (protocol === 'http:' && lower.endsWith(':80')) return lower.slice(0, -3);
  if (protocol === 'https:' && lower.endsWith(':443')) return lower.slice(0, -4);
  return lower;
}

/**
 * Creates a CORS policy. An `Origin` counts only in the spelling browsers send (see
 * {@link normalizeOrigin}); look-alikes such as `HTTP://Localhost:3000` or one with userinfo are refused.
 *
 * @param options - the allowlist
 * @returns the policy
 * @throws TypeError when an entry of `origins` is not a bare origin (`*` included: a wildcard
 *   with credentials is exactly the bug this policy exists to prevent)
 * @example
 * const cors = createCorsPolicy({ origins: ['http://localhost:3000'] });
 * cors.isAllowed('http://localhost:3000', 'api.example.com'); // true
 * cors.isAllowed('https://evil.example', 'api.example.com'); // false
 */
export function createCorsPolicy(options: CorsOptions = {}): CorsPolicy {
  const allowed = new Set((options.origins ?? []).map(normalizeOrigin));
  const allowOwnOrigin = options.allowOwnOrigin ?? true;
  const maxAge = String(options.maxAgeSeconds ?? 600);
  const exposed = CORS_EXPOSED_HEADERS.join(', ');

  const hosts = options.hosts;

  // A page's requests repeat one Origin and Host, and each request asks twice (the check, then
  // the response headers): the last verdict is kept (one entry), saving the URL parse of the
  // origin. The verdict depends on the two values alone (the Host allowlist is fixed).
  let lastOrigin: string | undefined;
  let lastHost: string | undefined;
  let lastVerdict = false;

  function isAllowed(origin: string, host: string | undefined): boolean {
    if (origin === lastOrigin && host === lastHost) return lastVerdict;
    const verdict = decide(origin, host);
    lastOrigin = origin;
    lastHost = host;
    lastVerdict = verdict;
    return verdict;
  }

  function decide(origin: string, host: string | undefined): boolean {
    // A refused Host refuses every origin: its responses carry no CORS grant at all.
    if (hosts !== undefined && !hosts.isAllowed(host)) return false;
    const parsed = originHost(origin);
    if (parsed === undefined) return false;
    // The list holds normalized origins, and `origin` is canonical: an exact match.
    if (allowed.has(origin)) return true;
    if (!allowOwnOrigin || host === undefined) return false;
    // Same origin: the page was served by this server, so Origin's host is the request's Host.
    return stripDefaultPort(parsed.host, parsed.protocol) === stripDefaultPort(host, parsed.protocol);
  }

  const policy: CorsPolicy = {
    isAllowed,
    assertAllowed(origin, host) {
      hosts?.assertAllowed(host);
      if (origin === undefined || isAllowed(origin, host)) return;
      throw createOriginNotAllowedError();
    },
    responseHeaders(origin, host) {
      if (origin === undefined || !isAllowed(origin, host)) return { Vary: 'Origin' };
      return {
        Vary: 'Origin',
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Expose-Headers': exposed,
      };
    },
    preflightHeaders(origin, host) {
      return {
        ...policy.responseHeaders(origin, host),
        'Access-Control-Allow-Methods': CORS_ALLOWED_METHODS.join(', '),
        'Access-Control-Allow-Headers': CORS_ALLOWED_HEADERS.join(', '),
        'Access-Control-Max-Age': maxAge,
      };
    },
  };
  return policy;
}
