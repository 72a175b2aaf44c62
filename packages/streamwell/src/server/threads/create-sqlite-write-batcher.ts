/**
 * Group commit for SQLite: the store's per-run writes that arrive in one event-loop turn, from
 * every run, go into one transaction, each write in a savepoint of its own.
 *
 * Why: with better-sqlite3 each transaction costs a BEGIN, a COMMIT (a WAL append) and a pass
 * through the operation gate (a loop turn). In the bulk benchmark (200 runs at a time) every run
 * made two of them, `beginTurn` and the final message write: commits alone were ~7 % of the
 * gateway's busy time (docs/benchmarks.md, finding 14). The writes are synchronous functions of
 * the connection (prepared statements, see `create-sqlite-turn-writes.ts`): a whole batch runs in
 * one synchronous step, with no promise between two statements.
 *
 * Exactness: each write runs in a savepoint (a nested better-sqlite3 transaction function), so
 * when one write fails (an unknown thread, a wrong owner, a constraint) only its own statements
 * are rolled back and only its caller gets the error; the others commit. A failed COMMIT (the
 * write lock held by another process past the busy timeout) commits nothing and fails every write
 * of the batch.
 *
 * Checkpoints ride along: a write marked `deferrable` (a streaming message's checkpoint, which
 * nobody waits for) does not start a transaction of its own. It waits for the next batch of
 * other writes (a turn starting, a reply ending) and goes in first, or for `deferMs`
 * ({@link DEFER_MS} by default) when none comes. Under load a checkpoint then costs its
 * statements and a savepoint, not a commit. Long replies gain most (a checkpoint write a second,
 * each a commit before): 100 streams of 600 tokens at 30 tokens/s cost 7–15 % less CPU per token
 * (docs/benchmarks.md, finding 20). What a crash can lose grows by at most `deferMs` of text.
 *
 * @module
 */
import type { OperationGate } from './create-operation-gate.ts';

/** What the batcher needs of a better-sqlite3 database: its transaction functions. */
export interface SqliteTransactions {
  /**
   * Wraps `fn` in BEGIN/COMMIT; called inside another such function, in SAVEPOINT/RELEASE
   * (rolled back to the savepoint when `fn` throws). better-sqlite3's `Database.transaction`.
   */
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  /** False once SQLite rolled the whole transaction back by itself (a full disk, an I/O error). */
  readonly inTransaction: boolean;
}

/** Runs synchronous writes, several to a transaction. */
export interface SqliteWriteBatcher {
  /**
   * Runs `work` in a transaction shared with the other writes of this loop turn.
   *
   * @param work - synchronous statements
   * @param deferrable - true when the write may wait (up to `deferMs`) for a batch of other
   *   writes to join, instead of committing on its own
   * @returns what `work` returned, once its transaction committed
   */
  run<T>(work: () => T, deferrable?: boolean): Promise<T>;
  /** Runs every deferred write now and resolves when nothing is queued (before closing). */
  drain(): Promise<void>;
}

interface Pending {
  readonly work: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/**
 * Most writes in one transaction. A batch runs synchronously on the event loop, so it must stay
 * short: 32 turns are ~130 statements.
 */
const MAX_BATCH = 32;

/**
 * Longest a deferrable write waits for other writes to share their commit, by default. Short
 * next to the checkpoint interval (`CHECKPOINT_WRITE_INTERVAL_MS`, 1 s by default), long next to
 * the gap between two turns of a loaded server (~2 ms at 500 streams/s).
 */
export const DEFER_MS = 100;

/** Options of {@link createSqliteWriteBatcher}. */
export interface SqliteWriteBatcherOptions {
  /** Longest a deferrable write waits; 0 runs it as any other write. @defaultValue {@link DEFER_MS} */
  readonly deferMs?: number | undefined;
}

/**
 * Creates a batcher over a SQLite database.
 *
 * @param database - the better-sqlite3 database (one connection)
 * @param gate - the store's operation gate; each batch is one operation
 * @param options - how long deferrable writes wait
 * @returns the batcher
 * @example
 * const batcher = createSqliteWriteBatcher(database, gate);
 * const changed = await batcher.run(() => update.run('a', 1).changes);
 */
export function createSqliteWriteBatcher(
  database: SqliteTransactions,
  gate: OperationGate,
  options: SqliteWriteBatcherOptions = {},
): SqliteWriteBatcher {
  const deferMs = options.deferMs ?? DEFER_MS;
  const queue: Pending[] = [];
  /** Deferrable writes waiting for a batch to join. */
  const deferred: Pending[] = [];
  let deferTimer: ReturnType<typeof setTimeout> | undefined;
  let scheduled = false;
  /** Settles when the batch running now (or scheduled) has run; for `drain`. */
  let idle: Promise<void> = Promise.resolve();
  const inSavepoint = database.transaction((work: () => unknown) => work());
  const runBatch = database.transaction((batch: readonly Pending[]): Outcome[] => {
    const outcomes: Outcome[] = [];
    for (const pending of batch) {
      try {
        outcomes.push({ ok: true, value: inSavepoint(pending.work) });
      } catch (error) {
        // Some errors (SQLITE_FULL, SQLITE_IOERR, ...) roll back the whole transaction, not just
        // the savepoint: then the earlier writes are gone too, and every write of the batch fails.
        if (!database.inTransaction) throw error;
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  });

  function schedule(): void {
    scheduled = true;
    // A loop turn first, so that the writes of every run woken in this turn join one batch.
    idle = new Promise((settled) => {
      setImmediate(() => {
        gate(flush).then(settled, settled);
      });
    });
  }

  /** The deferred writes' wait is over: they are ordinary writes now. */
  function promote(): void {
    if (deferTimer !== undefined) clearTimeout(deferTimer);
    deferTimer = undefined;
    queue.unshift(...deferred.splice(0));
    if (queue.length > 0 && !scheduled) schedule();
  }

  async function flush(): Promise<void> {
    scheduled = false;
    const batch = queue.splice(0, MAX_BATCH);
    // Deferred writes go first (a checkpoint before its message's final write) into the room left.
    if (deferred.length > 0 && batch.length < MAX_BATCH) {
      batch.unshift(...deferred.splice(0, MAX_BATCH - batch.length));
      if (deferred.length === 0 && deferTimer !== undefined) {
        clearTimeout(deferTimer);
        deferTimer = undefined;
      }
    }
    if (queue.length > 0) schedule();
    let outcomes: Outcome[];
    try {
      outcomes = runBatch(batch);
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    batch.forEach((pending, index) => {
      const outcome = outcomes[index] as Outcome;
      if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(outcome.error);
    });
  }

  return {
    run<T>(work: () => T, deferrable = false): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const pending = { work, resolve: resolve as (value: unknown) => void, reject };
        if (!deferrable || deferMs <= 0) {
          queue.push(pending);
          if (!scheduled) schedule();
          return;
        }
        deferred.push(pending);
        deferTimer ??= setTimeout(promote, deferMs);
      });
    },

    async drain() {
      promote();
      while (scheduled || queue.length > 0 || deferred.length > 0) {
        await idle;
        promote();
      }
    },
  };
}
