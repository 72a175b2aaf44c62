/**
 * Verifies that a child's `process.hrtime.bigint()` and ours read the same clock: a child's
 * reading, taken while we wait for it, must fall between our readings before and after the
 * round trip. On Linux both are CLOCK_MONOTONIC (system-wide), so this holds; if it ever did not,
 * every per-token delay in the report would be meaningless, so the run stops.
 *
 * @module
 */
import type { Child } from './child.ts';
import { nowNs } from './clock.ts';

/** Result of the check. */
export interface ClockCheck {
  readonly ok: boolean;
  /** Largest round trip seen, µs (the bound on the check's precision). */
  readonly maxRoundTripUs: number;
  readonly samples: number;
}

/** Asks `child` for its clock `samples` times. */
export async function checkSharedClock(child: Child, samples = 20): Promise<ClockCheck> {
  let ok = true;
  let maxRoundTripUs = 0;
  for (let i = 0; i < samples; i++) {
    const before = nowNs();
    const theirs = await child.request<number>({ type: 'clock' });
    const after = nowNs();
    if (theirs < before || theirs > after) ok = false;
    maxRoundTripUs = Math.max(maxRoundTripUs, (after - before) / 1e3);
  }
  return { ok, maxRoundTripUs: Math.round(maxRoundTripUs), samples };
}
