/**
 * How often the primary replaces crashed workers: at most `limit` restarts in any `windowMs`. A
 * worker that crashes again and again (a bug on a hot path, Redis refusing every start) would
 * otherwise be restarted forever at the cost of a process start each time; past the budget the
 * primary stops the server and exits 1, so that its supervisor (systemd, Kubernetes) sees it.
 *
 * @module
 */

/** A sliding window of restarts. */
export interface RestartBudget {
  /**
   * Takes one restart.
   *
   * @param now - the time, ms (monotonic)
   * @returns false when `limit` restarts were taken within the window already
   */
  take(now: number): boolean;
}

/**
 * Creates a restart budget.
 *
 * @param limit - restarts allowed in any window
 * @param windowMs - the window
 * @returns the budget
 */
export function createRestartBudget(limit: number, windowMs: number): RestartBudget {
  const taken: number[] = [];
  return {
    take(now) {
      while (taken.length > 0 && (taken[0] as number) <= now - windowMs) taken.shift();
      if (taken.length >= limit) return false;
      taken.push(now);
      return true;
    },
  };
}
