/**
 * Sizes of the reliability suites: a bounded quick mode in `npm test` (and CI), the full mode under
 * `npm run soak` (`STREAMWELL_SOAK=1`). docs/reliability.md quotes the figures of the last full run.
 *
 * @module
 */

/** True under `npm run soak`: the suites run their full sizes (minutes, thousands of cases). */
export const SOAK: boolean = process.env.STREAMWELL_SOAK === '1';

/**
 * Picks the quick or the full size of one knob (a count, a duration, a timeout).
 *
 * @param quick - the size in `npm test`
 * @param full - the size under `npm run soak`
 * @returns `full` under `npm run soak`, else `quick`
 */
export function scale<T>(quick: T, full: T): T {
  return SOAK ? full : quick;
}
