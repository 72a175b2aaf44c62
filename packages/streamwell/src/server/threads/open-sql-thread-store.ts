/**
 * The durable thread store itself: SQLite (better-sqlite3) or PostgreSQL (pg), one query path
 * through Kysely and one set of migrations, applied when the store is opened. Loaded only by
 * `createSqlThreadStore` (create-sql-thread-store.ts), so that importing `streamwell/server`
 * costs nothing for Kysely unless a SQL store is opened.
 *
 * Costs, per call: `beginTurn` is four statements; `updateMessage` two (the message, then its
 * thread's `updatedAt`), in one transaction each on PostgreSQL; on SQLite those of one loop turn
 * share a transaction (create-transaction-batcher.ts). With better-sqlite3 every
 * statement runs synchronously on the event loop, one store operation at a time with a loop turn
 * between two (create-operation-gate.ts), so SQLite suits one instance; several instances share
 * PostgreSQL.
 *
 * @module
 */
import type { Kysely } from 'kysely';
import { StreamwellError } from '../../errors/index.ts';
import { createOperationGate, type OperationGate } from './create-operation-gate.ts';
import { createSqlItemQueries } from './create-sql-item-queries.ts';
import type { SqlThreadStoreOptions } from './create-sql-thread-store.ts';
import { createSqlTurnWrites } from './create-sql-turn-writes.ts';
import { createSqliteTurnWrites } from './create-sqlite-turn-writes.ts';
import { createSqliteWriteBatcher } from './create-sqlite-write-batcher.ts';
import { migrateThreadStore } from './migrate-thread-store.ts';
import { openDatabase, sqliteConnectionOf } from './open-database.ts';
import { PAGE_LIMITS, pageLimit } from './page-limit.ts';
import { type DatabaseTarget, describeDatabase } from './parse-database-url.ts';
import { ownerFromKey, ownerKey, toThreadItem, toThreadSummary } from './sql-rows.ts';
import { type StoreSchema, TABLES } from './store-schema.ts';
import { decodeThreadCursor, encodeThreadCursor, unknownAfter } from './thread-cursor.ts';
import type { ThreadStore } from './thread-store.ts';
import { toStoreError } from './to-store-error.ts';

const T = TABLES.threads;
const I = TABLES.items;

/** The per-run writes that SQLite batches (see create-transaction-batcher.ts). */
const BATCHED: ReadonlySet<string> = new Set(['beginTurn', 'updateMessage']);

/**
 * Wraps every method: calls pass the operation gate, and driver failures that mean "database
 * unreachable" become `store_unavailable`.
 */
function guard<S extends object>(
  store: S,
  gate: OperationGate,
  isClosed: () => boolean,
  selfGated: ReadonlySet<string>,
): S {
  const guarded: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(store)) {
    if (typeof value !== 'function' || name === 'close') {
      guarded[name] = value;
      continue;
    }
    const method = value as (...parameters: unknown[]) => Promise<unknown>;
    const gated = selfGated.has(name) ? method : (...args: unknown[]) => gate(() => method(...args));
    guarded[name] = async (...args: unknown[]) => {
      if (isClosed()) throw new StreamwellError('shutting_down', 'The thread store is closed.', { status: 503 });
      try {
        return await gated(...args);
      } catch (error) {
        throw toStoreError(error);
      }
    };
  }
  return guarded as S;
}

async function openAndMigrate(target: DatabaseTarget, options: SqlThreadStoreOptions): Promise<Kysely<StoreSchema>> {
  let db: Kysely<StoreSchema> | undefined;
  try {
    db = await openDatabase(target, options);
    const applied = await migrateThreadStore(db as Kysely<unknown>, target.dialect);
    options.onMigrated?.(applied);
    return db;
  } catch (error) {
    await db?.destroy().catch(() => {});
    if (error instanceof StreamwellError && error.code === 'invalid_config') throw error;
    const mapped = toStoreError(error);
    const reason = error instanceof Error ? error.message : String(error);
    // Start-up: the operator reads this, so it names the database (never its password).
    throw new StreamwellError(
      mapped instanceof StreamwellError ? 'store_unavailable' : 'internal_error',
      `Cannot open the thread database (${describeDatabase(target)}, from DATABASE_URL): ${reason}`,
      { cause: error, retryable: mapped instanceof StreamwellError },
    );
  }
}

/**
 * Opens (and migrates) the durable thread store: see `createSqlThreadStore`.
 *
 * @param target - the parsed `DATABASE_URL`
 * @param options - pool, timeouts, history limits
 * @returns the store, ready
 * @internal
 */
export async function openSqlThreadStore(target: DatabaseTarget, options: SqlThreadStoreOptions): Promise<ThreadStore> {
  const db = await openAndMigrate(target, options);
  const maxHistoryChars = options.maxHistoryChars ?? 32_000;
  const maxHistoryMessages = options.maxHistoryMessages ?? 200;
  const now = (): string => (options.now?.() ?? new Date()).toISOString();
  let closed = false;
  // SQLite: one operation at a time, with an event-loop turn between two (see the gate's module),
  // and the per-run writes (`beginTurn`, `updateMessage`) of one loop turn in one transaction.
  const sqlite = target.dialect === 'sqlite';
  const gate = sqlite ? createOperationGate(1, true) : createOperationGate(options.poolSize ?? 10, false);
  const connection = sqlite ? sqliteConnectionOf(db) : undefined;
  const turnOptions = { now, maxHistoryChars, maxHistoryMessages };
  const batcher =
    connection && createSqliteWriteBatcher(connection, gate, { deferMs: options.checkpointCommitDelayMs });
  const turnWrites =
    connection && batcher
      ? createSqliteTurnWrites(connection, batcher, turnOptions)
      : createSqlTurnWrites(db, turnOptions);

  const store: ThreadStore = {
    kind: target.dialect,
    ...createSqlItemQueries(db, now),

    ...turnWrites,

    async listThreads(owner, listOptions = {}) {
      const limit = pageLimit(listOptions.limit, PAGE_LIMITS.defaultPage, PAGE_LIMITS.maxPage);
      const direction = listOptions.order === 'asc' ? 'asc' : 'desc';
      const beyond = direction === 'asc' ? '>' : '<';
      const column = listOptions.orderBy === 'createdAt' ? 'created_at' : 'updated_at';
      let cursor = listOptions.cursor === undefined ? undefined : decodeThreadCursor(listOptions.cursor);
      if (listOptions.after !== undefined) {
        const after = await db
          .selectFrom(T)
          .select(['id', column])
          .where('id', '=', listOptions.after)
          .where('owner', '=', ownerKey(owner))
          .executeTakeFirst();
        if (after === undefined) throw unknownAfter(listOptions.after);
        cursor = { at: after[column], id: after.id };
      }
      const rows = await db
        .selectFrom(T)
        .select(['id', 'title', 'created_at', 'updated_at'])
        .where('owner', '=', ownerKey(owner))
        .$if(cursor !== undefined, (query) =>
          query.where((row) =>
            row.or([
              row(column, beyond, cursor?.at ?? ''),
              row.and([row(column, '=', cursor?.at ?? ''), row('id', beyond, cursor?.id ?? '')]),
            ]),
          ),
        )
        .orderBy(column, direction)
        .orderBy('id', direction)
        .limit(limit + 1)
        .execute();
      const page = rows.slice(0, limit).map(toThreadSummary);
      const last = rows[limit - 1];
      return {
        threads: page,
        nextCursor:
          rows.length > limit && last !== undefined ? encodeThreadCursor({ at: last[column], id: last.id }) : null,
      };
    },

    async getThread(threadId, owner, getOptions = {}) {
      const limit = pageLimit(getOptions.limit, PAGE_LIMITS.defaultThreadMessages, PAGE_LIMITS.maxThreadMessages);
      const thread = await db
        .selectFrom(T)
        .select(['id', 'title', 'created_at', 'updated_at'])
        .where('id', '=', threadId)
        .where('owner', '=', ownerKey(owner))
        .executeTakeFirst();
      if (thread === undefined) return undefined;
      const rows = await db
        .selectFrom(I)
        .selectAll()
        .where('thread_id', '=', threadId)
        .where('kind', '=', 'message')
        .orderBy('seq', 'desc')
        .limit(limit + 1)
        .execute();
      const messages = rows.slice(0, limit).reverse().map(toThreadItem);
      return { ...toThreadSummary(thread), messages, hasMore: rows.length > limit };
    },

    deleteThread: (threadId, owner) =>
      db.transaction().execute(async (trx) => {
        const deleted = await trx
          .deleteFrom(T)
          .where('id', '=', threadId)
          .where('owner', '=', ownerKey(owner))
          .executeTakeFirst();
        if (Number(deleted.numDeletedRows) === 0) return false;
        // The foreign key cascades already; explicit, so that a database without enforced
        // foreign keys (an old SQLite connection) is left clean too.
        await trx.deleteFrom(I).where('thread_id', '=', threadId).execute();
        await trx.deleteFrom(TABLES.attachments).where('thread_id', '=', threadId).execute();
        return true;
      }),

    async listStreamingMessages(listOptions = {}) {
      const rows = await db
        .selectFrom(I)
        .innerJoin(T, `${T}.id`, `${I}.thread_id`)
        .select([`${I}.thread_id`, `${I}.id`, `${T}.owner`, `${I}.stream_id`, `${I}.content`, `${I}.created_at`])
        .where(`${I}.status`, '=', 'streaming')
        .orderBy(`${I}.created_at`)
        .limit(listOptions.limit ?? 1000)
        .execute();
      return rows.map((row) => ({
        threadId: row.thread_id,
        messageId: row.id,
        owner: ownerFromKey(row.owner),
        streamId: row.stream_id,
        content: row.content,
        createdAt: row.created_at,
      }));
    },

    async close() {
      if (closed) return;
      closed = true;
      // Checkpoints waiting to share a commit are written, not dropped.
      await batcher?.drain();
      await db.destroy();
    },
  };
  // The batcher passes the gate once per batch itself.
  return guard(store, gate, () => closed, connection === undefined ? new Set() : BATCHED);
}
