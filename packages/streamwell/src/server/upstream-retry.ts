/**
 * Retrying an upstream call that failed before the first byte of its answer: connection refused,
 * reset or connect timeout before a response head, and HTTP 429, 502 and 503. Providers mark such
 * failures ({@link markUpstreamRetryable}); the run retries them with bounded exponential backoff
 * and jitter inside its first-token budget, and only while it has relayed nothing (a retry after a
 * token would send the client that text twice).
 *
 * Not retried, on purpose:
 * - HTTP 500: an inference server answers 500 for what the request itself causes (a prompt too
 *   long for the context, a chat template error, a model that fails to load), so the retry fails
 *   the same way and only delays the message the operator needs.
 * - HTTP 504: a gateway gave up waiting for the model, which may still be generating (and
 *   billing) behind it; a second request queues behind the first and most likely times out too.
 * - a response head timeout, 401/403 and every 4xx but 408 and 429: none is transient.
 * - anything after the response head of a 2xx: the upstream has started answering.
 *
 * @module
 */

/** Why an upstream call may be retried; the `reason` label of the retry metric. */
export type UpstreamRetryReason =
  /** ECONNREFUSED: nothing listens (the model server is restarting). */
  | 'refused'
  /** ECONNRESET, EPIPE, a socket closed before the response head (a stale keep-alive connection, an accept queue overflow). */
  | 'reset'
  /** The TCP (or TLS) connect took longer than the HTTP client's connect timeout. */
  | 'connect_timeout'
  /**
   * HTTP 408: the upstream did not receive the whole request in time (Node's own HTTP server
   * answers it to connections it could not read for `headersTimeout` when its event loop is
   * starved), so nothing was generated.
   */
  | 'request_timeout'
  /** HTTP 429. */
  | 'rate_limited'
  /** HTTP 502. */
  | 'bad_gateway'
  /** HTTP 503. */
  | 'unavailable';

/** What a provider knows about a failure that may be retried. */
export interface UpstreamRetryHint {
  readonly reason: UpstreamRetryReason;
  /** The upstream's `Retry-After` (or `retry-after-ms`), in milliseconds, when it sent one. */
  readonly retryAfterMs?: number | undefined;
}

/** One retry the run is about to make, for logs and metrics ({@link RunObserver.onUpstreamRetry}). */
export interface UpstreamRetry {
  /** The attempt that is about to start: 2 for the first retry. */
  readonly attempt: number;
  /** Most attempts the run makes in all. */
  readonly maxAttempts: number;
  readonly reason: UpstreamRetryReason;
  /** Wait before the attempt, in milliseconds. */
  readonly delayMs: number;
  /** True when the delay is the upstream's `Retry-After`. */
  readonly retryAfter: boolean;
}

/** Backoff of the run's upstream retries. */
export interface UpstreamRetryPolicy {
  /** Most attempts per run (1 = no retry). */
  readonly maxAttempts: number;
  /** Delay before the first retry, before jitter. */
  readonly baseDelayMs: number;
  /** Longest delay between two attempts, before jitter. */
  readonly maxDelayMs: number;
}

/**
 * The default policy: 4 attempts, 250 ms doubling to at most 4 s. Three retries wait about
 * 1.75 s in all (0.9 to 1.75 s with jitter): enough for a model server that restarts or a burst
 * of refused connects, a small part of the default 60 s first-token budget.
 *
 * @internal
 */
export const DEFAULT_UPSTREAM_RETRY_POLICY: UpstreamRetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 4000,
};

/**
 * Longest `Retry-After` honoured when the run has no first-token or total timeout to bound it.
 *
 * @internal
 */
export const MAX_UNBOUNDED_RETRY_AFTER_MS = 60_000;

const RETRY_HINT = Symbol.for('streamwell.upstreamRetry');

/**
 * Marks an error as a failure before the first byte of the upstream's answer, which the run may
 * retry. For custom providers too: mark what your backend's client reports before its answer
 * starts, and the run retries it like the built-in providers' failures.
 *
 * @param error - the error the provider is about to throw
 * @param hint - why, and the upstream's `Retry-After`
 * @returns the same error
 * @example
 * throw markUpstreamRetryable(new StreamwellError('upstream_error', 'Backend busy (HTTP 503).'), {
 *   reason: 'unavailable',
 * });
 */
export function markUpstreamRetryable<E extends object>(error: E, hint: UpstreamRetryHint): E {
  Object.defineProperty(error, RETRY_HINT, { value: hint, configurable: true });
  return error;
}

/**
 * The hint {@link markUpstreamRetryable} attached, if any.
 *
 * @param error - anything a provider threw
 * @returns the hint, or undefined when the failure must not be retried
 *
 * @internal
 */
export function upstreamRetryHintOf(error: unknown): UpstreamRetryHint | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  return (error as Record<symbol, UpstreamRetryHint | undefined>)[RETRY_HINT];
}

/**
 * The retry hint of an HTTP status, or undefined when the status is not retried (see the module
 * comment for 500 and 504).
 *
 * @param status - the upstream's status
 * @param header - reads one response header (lower-case name)
 * @param now - `Date.now()`, for an HTTP-date `Retry-After`
 * @returns the hint
 *
 * @internal
 */
export function retryHintForStatus(
  status: number,
  header: (name: string) => string | undefined,
  now: number = Date.now(),
): UpstreamRetryHint | undefined {
  const reason: UpstreamRetryReason | undefined =
    status === 408
      ? 'request_timeout'
      : status === 429
        ? 'rate_limited'
        : status === 502
          ? 'bad_gateway'
          : status === 503
            ? 'unavailable'
            : undefined;
  if (reason === undefined) return undefined;
  const retryAfterMs = parseRetryAfter(header('retry-after-ms'), header('retry-after'), now);
  return retryAfterMs === undefined ? { reason } : { reason, retryAfterMs };
}

/**
 * The retry hint of a network error that happened before the response head, by its code (on the
 * error or its causes).
 *
 * @param error - what the HTTP client threw
 * @returns the hint, or undefined for an error that is not retried (DNS, TLS, head timeout)
 *
 * @internal
 */
export function retryHintForNetworkError(error: unknown): UpstreamRetryHint | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    switch (code) {
      case 'ECONNREFUSED':
        return { reason: 'refused' };
      case 'ECONNRESET':
      case 'EPIPE':
      case 'UND_ERR_SOCKET':
      case 'UND_ERR_CLOSED':
        return { reason: 'reset' };
      case 'UND_ERR_CONNECT_TIMEOUT':
      case 'ETIMEDOUT':
        return { reason: 'connect_timeout' };
      default:
        current = (current as { cause?: unknown }).cause;
    }
  }
  return undefined;
}

/**
 * Reads `retry-after-ms` (OpenAI's, milliseconds) or `Retry-After` (seconds or an HTTP date).
 *
 * @param milliseconds - the `retry-after-ms` header
 * @param value - the `Retry-After` header
 * @param now - `Date.now()`
 * @returns the wait in milliseconds (0 for a date in the past), or undefined without a valid header
 *
 * @internal
 */
export function parseRetryAfter(
  milliseconds: string | undefined,
  value: string | undefined,
  now: number,
): number | undefined {
  if (milliseconds !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(milliseconds)) return Math.ceil(Number(milliseconds));
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The backoff before retry number `retry` (1 for the first): `baseDelayMs * 2^(retry-1)`, capped
 * at `maxDelayMs`, with "equal jitter" (half fixed, half random), so that streams refused
 * together do not all come back in the same millisecond, and none retries at once.
 *
 * @param retry - 1 for the first retry
 * @param policy - base and cap
 * @param random - a number in [0, 1)
 * @returns the delay in milliseconds
 *
 * @internal
 */
export function backoffDelayMs(retry: number, policy: UpstreamRetryPolicy, random: number = Math.random()): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(exponential / 2 + (exponential / 2) * random);
}
