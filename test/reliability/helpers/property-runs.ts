/**
 * fast-check settings shared by the property suites: the number of runs scales with
 * {@link scale} (quick in `npm test`, large under `npm run soak`), and a failure prints its seed,
 * path and shrunk counterexample (fast-check's report) so that it can be replayed exactly with
 * `STREAMWELL_FC_SEED=<seed> STREAMWELL_FC_PATH=<path>`.
 *
 * @module
 */
import type { Parameters } from 'fast-check';
import { scale } from './soak-mode.ts';

/**
 * The parameters of one `fc.assert`.
 *
 * @param quick - runs in `npm test`
 * @param full - runs under `npm run soak`
 * @returns `numRuns`, plus the replay seed and path when set in the environment
 */
export function propertyRuns<T>(quick: number, full: number): Parameters<T> {
  const seed = process.env.STREAMWELL_FC_SEED;
  const path = process.env.STREAMWELL_FC_PATH;
  return {
    numRuns: scale(quick, full),
    ...(seed === undefined ? {} : { seed: Number(seed) }),
    ...(path === undefined ? {} : { path }),
  };
}
