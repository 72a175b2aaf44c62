/**
 * Page sizes of the thread store's lists.
 *
 * @module
 */

/** Default and largest page sizes. */
export const PAGE_LIMITS = Object.freeze({
  /** Threads and items per page unless asked. */
  defaultPage: 20,
  /** Most threads or items per page. */
  maxPage: 100,
  /** Messages `getThread` returns unless asked. */
  defaultThreadMessages: 500,
  /** Most messages `getThread` returns. */
  maxThreadMessages: 1000,
});

/**
 * A page size: `value` rounded down and clamped to `[1, max]`, or `fallback` when absent.
 *
 * @param value - the size asked for
 * @param fallback - the default
 * @param max - the largest size
 * @returns the size to use
 */
export function pageLimit(value: number | undefined, fallback: number, max: number): number {
  if (value === undefined || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(1, Math.floor(value)));
}
