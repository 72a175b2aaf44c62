/**
 * One clock for every process of a benchmark run.
 *
 * `process.hrtime.bigint()` reads libuv's `uv_hrtime()`, which on Linux is
 * `clock_gettime(CLOCK_MONOTONIC)`: a system-wide clock (nanoseconds since boot, not per process),
 * so a timestamp taken in the mock upstream and one taken in the load generator are directly
 * comparable. `bench/src/lib/check-shared-clock.ts` verifies this at the start of every run.
 * A double holds integer nanoseconds exactly up to 2^53 ns (104 days of uptime); past that the
 * error is still below 2 ns.
 *
 * @module
 */

/** CLOCK_MONOTONIC in nanoseconds, as a number. */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/** Milliseconds between two {@link nowNs} readings. */
export function msBetween(startNs: number, endNs: number): number {
  return (endNs - startNs) / 1e6;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
