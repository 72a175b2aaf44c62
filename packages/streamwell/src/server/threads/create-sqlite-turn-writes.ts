/**
 * The thread store's per-run writes on SQLite (`beginTurn`, `updateMessage`), as prepared
 * better-sqlite3 statements run synchronously inside the group commit of
 * `create-sqlite-write-batcher.ts`.
 *
 * Why not Kysely here: each run makes these writes (a turn, a checkpoint write per second, the
 * final write), and through Kysely every statement was built, compiled to SQL and run behind a
 * chain of promises: 390–500 µs of CPU per turn in a loop of 200 concurrent turns, of which SQLite
 * itself is a small part (docs/benchmarks.md, finding 15). The statements below are the same SQL
 * the Kysely code runs on PostgreSQL (`create-sql-turn-writes.ts`), written once; the test suite
 * runs every store behaviour against both.
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';
import type { ChatMessage } from '../provider.ts';
import { boundHistory } from './bound-history.ts';
import { createItemId } from './create-item-id.ts';
import type { SqliteWriteBatcher } from './create-sqlite-write-batcher.ts';
import { ownerKey } from './sql-rows.ts';
import { TABLES } from './store-schema.ts';
import type { ThreadStore } from './thread-store.ts';
import { titleFromMessage } from './thread-title.ts';

/** A prepared better-sqlite3 statement, as far as these writes use it. */
export interface SqliteStatement {
  run(...parameters: unknown[]): { readonly changes: number };
  get(...parameters: unknown[]): unknown;
  all(...parameters: unknown[]): unknown[];
}

/** What these writes need of a better-sqlite3 database. */
export interface SqlitePreparer {
  prepare(source: string): SqliteStatement;
}

/** Options of {@link createSqliteTurnWrites}. */
export interface SqliteTurnWritesOptions {
  /** The clock, as an ISO string. */
  readonly now: () => string;
  /** Most characters of history `beginTurn` returns. */
  readonly maxHistoryChars: number;
  /** Most earlier messages `beginTurn` reads. */
  readonly maxHistoryMessages: number;
}

const T = TABLES.threads;
const I = TABLES.items;

/**
 * Creates `beginTurn` and `updateMessage` for a migrated SQLite database.
 *
 * @param database - the better-sqlite3 database (its tables exist: prepared here)
 * @param batcher - the group commit every write goes through
 * @param options - clock and history limits
 * @returns the two store methods, with the semantics of {@link ThreadStore}
 */
export function createSqliteTurnWrites(
  database: SqlitePreparer,
  batcher: SqliteWriteBatcher,
  options: SqliteTurnWritesOptions,
): Pick<ThreadStore, 'beginTurn' | 'updateMessage'> {
  const { now, maxHistoryChars, maxHistoryMessages } = options;
  // A new thread is inserted with both sequence numbers taken (last_seq 2) and its title: what
  // the update below would make of it, in one statement instead of two.
  const insertThread = database.prepare(
    `insert into "${T}" ("id", "owner", "title", "created_at", "updated_at", "metadata", "last_seq") values (?, ?, ?, ?, ?, '{}', 2) on conflict ("id") do nothing`,
  );
  // An existing thread: the ownership check and the two sequence numbers in one statement.
  const claimThread = database.prepare(
    `update "${T}" set "last_seq" = "last_seq" + 2, "updated_at" = ?, "title" = coalesce("title", ?) where "id" = ? and "owner" = ? returning "last_seq"`,
  );
  const readHistory = database.prepare(
    `select "role", "content" from "${I}" where "thread_id" = ? and "kind" = 'message' and "status" != 'streaming' and "content" != '' order by "seq" desc limit ?`,
  );
  const insertMessages = database.prepare(
    `insert into "${I}" ("thread_id", "id", "seq", "role", "kind", "content", "status", "stream_id", "created_at", "data") values (?, ?, ?, 'user', 'message', ?, 'complete', ?, ?, null), (?, ?, ?, 'assistant', 'message', '', 'streaming', ?, ?, null)`,
  );
  // Only a message still streaming changes: a final status is final.
  const updateItem = database.prepare(
    `update "${I}" set "content" = ?, "status" = ? where "thread_id" = ? and "id" = ? and "status" = 'streaming'`,
  );
  const touchThread = database.prepare(`update "${T}" set "updated_at" = ? where "id" = ?`);

  return {
    beginTurn: ({ threadId, owner, message, streamId }) =>
      batcher.run(() => {
        const at = now();
        const key = ownerKey(owner);
        const title = titleFromMessage(message);
        const threadCreated = insertThread.run(threadId, key, title, at, at).changes > 0;
        let lastSeq = 2;
        let earlier: readonly ChatMessage[] = [];
        if (!threadCreated) {
          const claimed = claimThread.get(at, title, threadId, key) as { last_seq: number } | undefined;
          if (claimed === undefined) {
            throw new StreamwellError('not_found', `Unknown thread ${threadId}.`, { status: 404 });
          }
          lastSeq = claimed.last_seq;
          earlier = (readHistory.all(threadId, maxHistoryMessages) as ChatMessage[]).reverse();
        }
        const userMessageId = createItemId();
        const assistantMessageId = createItemId();
        insertMessages.run(
          threadId,
          userMessageId,
          lastSeq - 1,
          message,
          streamId,
          at,
          threadId,
          assistantMessageId,
          lastSeq,
          streamId,
          at,
        );
        const history = boundHistory(
          earlier.map((row) => ({ role: row.role, content: row.content })),
          message,
          maxHistoryChars,
        );
        return { history, userMessageId, assistantMessageId, threadCreated };
      }),

    // A checkpoint (status `streaming`) waits to share another batch's commit; a final write
    // does not (see the batcher).
    updateMessage: ({ threadId, messageId, content, status }) =>
      batcher.run(() => {
        if (updateItem.run(content, status, threadId, messageId).changes === 0) return false;
        touchThread.run(now(), threadId);
        return true;
      }, status === 'streaming'),
  };
}
