/**
 * Reconnect timing: capped exponential backoff with full jitter, `Retry-After` parsing, and an
 * abortable sleep.
 *
 * Full jitter (a uniformly random delay between 0 and the capped exponential step) spreads the
 * reconnects of many clients that lost the same server at the same moment, instead of having
 * them all return in lockstep.
 *
 * @module
 */
import { StreamwellError } from '../errors/index.ts';

/** Options of {@link createBackoff}. */
export interface BackoffOptions {
  /** Step of the first retry. @defaultValue 500 */
  readonly initialDelayMs?: number;
  /** Cap of any step. @defaultValue 15000 */
  readonly maxDelayMs?: number;
  /** Growth per attempt. @defaultValue 2 */
  readonly factor?: number;
  /** Source of randomness in [0, 1); inject a seeded one in tests. @defaultValue Math.random */
  readonly random?: () => number;
}

/**
 * Computes retry delays.
 *
 * @internal
 */
export interface Backoff {
  /**
   * The delay before retry number `attempt` (1 for the first retry).
   *
   * @param attempt - 1-based retry number
   * @param baseMs - overrides the initial step, e.g. with the server's SSE `retry:` value
   * @returns milliseconds, in `[0, min(maxDelayMs, base × factor^(attempt−1))]`
   */
  delay(attempt: number, baseMs?: number): number;
}

/**
 * Creates a capped exponential backoff with full jitter.
 *
 * @param options - steps, cap and randomness
 * @returns the backoff
 * @example createBackoff().delay(3) // a random delay between 0 and 2000 ms
 *
 * @internal
 */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const initialDelayMs = options.initialDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 15_000;
  const factor = options.factor ?? 2;
  const random = options.random ?? Math.random;
  if (!(initialDelayMs >= 0 && maxDelayMs >= 0 && factor >= 1)) {
    throw new StreamwellError('invalid_config', 'backoff needs initialDelayMs >= 0, maxDelayMs >= 0 and factor >= 1');
  }
  return {
    delay(attempt, baseMs) {
      const base = baseMs ?? initialDelayMs;
      const exponent = Math.max(0, attempt - 1);
      const ceiling = Math.min(maxDelayMs, base * factor ** exponent);
      return Math.floor(random() * ceiling);
    },
  };
}

/**
 * Parses an HTTP `Retry-After` header: delta-seconds or an HTTP date.
 *
 * @param value - the header value (null or undefined when absent)
 * @param now - the current time in epoch ms, for dates
 * @returns the delay in ms (0 for a date in the past), or undefined when absent or invalid
 * @example parseRetryAfter('3') // 3000
 *
 * @internal
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Only a real HTTP date (it names a weekday or month), not any string Date.parse accepts.
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Waits, unless the signal aborts first.
 *
 * @param milliseconds - how long
 * @param signal - aborts the wait
 * @returns resolves after the delay
 * @throws StreamwellError `aborted` when the signal aborts (also when it already has)
 *
 * @internal
 */
export function sleep(milliseconds: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = (): StreamwellError =>
      new StreamwellError('aborted', 'The wait was aborted.', { cause: signal?.reason });
    if (signal?.aborted) {
      reject(aborted());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, milliseconds);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
