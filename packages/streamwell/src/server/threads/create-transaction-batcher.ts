/**
 * Group commit for SQLite: the store's writes that arrive in one event-loop turn, from every
 * run, go into one transaction.
 *
 * Why: with better-sqlite3 each transaction costs a BEGIN, a COMMIT (a WAL append) and a pass
 * through the operation gate (a loop turn). In the bulk benchmark (200 runs at a time) every run
 * made two of them, `beginTurn` and the final message write: after the statement cache and the
 * checkpoint interval, commits alone were ~7 % of the gateway's busy time and the store ~17 %.
 *
 * Exactness: a batch is all or nothing inside SQLite, so when any write of a batch fails (an
 * unknown thread, a wrong owner, a constraint) the batch is rolled back and each of its writes
 * runs again in a transaction of its own, as before batching: one write's error is never another
 * write's. A write is a function of the transaction, so running it again is running it for the
 * first time (nothing of the rolled-back attempt is kept).
 *
 * @module
 */
import type { Kysely, Transaction } from 'kysely';
import type { OperationGate } from './create-operation-gate.ts';

/** A write: the statements of one store call, run inside a transaction it does not own. */
export type TransactionWork<Schema, T> = (trx: Transaction<Schema>) => Promise<T>;

/** Runs writes, several to a transaction. */
export interface TransactionBatcher<Schema> {
  /**
   * Runs `work` in a transaction shared with the other writes of this loop turn.
   *
   * @returns what `work` returned, once its transaction committed
   */
  run<T>(work: TransactionWork<Schema, T>): Promise<T>;
}

interface Pending<Schema> {
  readonly work: TransactionWork<Schema, unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Most writes in one transaction. Every statement of a batch runs synchronously on the event
 * loop (better-sqlite3), so a batch must stay short: 32 turns are ~130 statements.
 */
const MAX_BATCH = 32;

/**
 * Creates a batcher over a SQLite database.
 *
 * @param db - the Kysely instance (SQLite: one connection)
 * @param gate - the store's operation gate; each batch is one operation
 * @returns the batcher
 * @example
 * const batcher = createTransactionBatcher(db, gate);
 * const changed = await batcher.run((trx) => trx.updateTable('t').set({ a: 1 }).execute());
 */
export function createTransactionBatcher<Schema>(db: Kysely<Schema>, gate: OperationGate): TransactionBatcher<Schema> {
  const queue: Pending<Schema>[] = [];
  let scheduled = false;

  function schedule(): void {
    scheduled = true;
    // A loop turn first, so that the writes of every run woken in this turn join one batch.
    setImmediate(() => {
      void gate(flush);
    });
  }

  async function flush(): Promise<void> {
    scheduled = false;
    const batch = queue.splice(0, MAX_BATCH);
    if (queue.length > 0) schedule();
    let results: unknown[];
    try {
      results = await db.transaction().execute(async (trx) => {
        const out: unknown[] = [];
        for (const pending of batch) out.push(await pending.work(trx));
        return out;
      });
    } catch (error) {
      const only = batch.length === 1 ? batch[0] : undefined;
      if (only !== undefined) {
        only.reject(error);
        return;
      }
      // Rolled back: each write again on its own, so that only the failing one fails.
      for (const pending of batch) {
        try {
          pending.resolve(await db.transaction().execute(pending.work));
        } catch (alone) {
          pending.reject(alone);
        }
      }
      return;
    }
    batch.forEach((pending, index) => {
      pending.resolve(results[index]);
    });
  }

  return {
    run<T>(work: TransactionWork<Schema, T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
        if (!scheduled) schedule();
      });
    },
  };
}
