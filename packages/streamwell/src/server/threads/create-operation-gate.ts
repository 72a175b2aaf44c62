/**
 * A FIFO gate in front of the database driver: at most `concurrency` store operations at once,
 * the rest wait in arrival order.
 *
 * Why, per driver:
 * - better-sqlite3 has one connection and runs each statement synchronously. Kysely's SQLite
 *   driver serializes on a mutex that wakes every waiter at each release (1,000 concurrent writes
 *   cost ~500,000 wake-ups), and since every step resolves at once, a burst of operations runs
 *   as one long chain of microtasks that never lets the event loop run: timers and sockets (every
 *   open stream) stall until the burst is over. Here SQLite operations go one at a time, and the
 *   next starts only after the event loop has had a turn (`setImmediate`), so it never waits for
 *   more than one operation.
 * - pg's pool counts the time a request waits for a free connection against
 *   `connectionTimeoutMillis`: a burst of queries longer than the pool answered "timeout exceeded
 *   when trying to connect", as if the database were down. With at most `poolSize` operations
 *   at once, a request only ever waits for a connection being made.
 *
 * @module
 */

/** Runs an operation when the gate lets it through. */
export type OperationGate = <T>(run: () => Promise<T>) => Promise<T>;

/**
 * Creates a gate.
 *
 * @param concurrency - operations at once (1 for SQLite, the pool size for PostgreSQL)
 * @param yieldBetween - hand the slot to the next operation only after an event-loop turn
 * @returns the gate
 * @example
 * const gate = createOperationGate(1, true);
 * await gate(() => db.selectFrom('t').selectAll().execute());
 */
export function createOperationGate(concurrency: number, yieldBetween: boolean): OperationGate {
  let active = 0;
  // Bounded by the callers: each waiting entry is one pending store call.
  const waiting: (() => void)[] = [];

  function acquire(): Promise<void> | undefined {
    if (active < concurrency && waiting.length === 0) {
      active += 1;
      return undefined;
    }
    return new Promise((resolve) => waiting.push(resolve));
  }

  function release(): void {
    const next = waiting.shift();
    // The slot passes straight to the next waiter (`active` unchanged), so a newcomer cannot
    // overtake the queue.
    if (next === undefined) active -= 1;
    else if (yieldBetween) setImmediate(next);
    else next();
  }

  return async (run) => {
    const waited = acquire();
    if (waited !== undefined) await waited;
    try {
      return await run();
    } finally {
      release();
    }
  };
}
