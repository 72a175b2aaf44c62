/**
 * The thread store's per-run writes (`beginTurn`, `updateMessage`) through Kysely, each in a
 * transaction of its own: the PostgreSQL path. SQLite runs the same SQL as prepared statements in
 * a group commit (`create-sqlite-turn-writes.ts`).
 *
 * @module
 */
import { type Kysely, sql } from 'kysely';
import { StreamwellError } from '../../errors/index.ts';
import type { ChatMessage } from '../provider.ts';
import { boundHistory } from './bound-history.ts';
import { createItemId } from './create-item-id.ts';
import type { SqliteTurnWritesOptions } from './create-sqlite-turn-writes.ts';
import { ownerKey } from './sql-rows.ts';
import { type StoreSchema, TABLES } from './store-schema.ts';
import type { ThreadStore } from './thread-store.ts';
import { titleFromMessage } from './thread-title.ts';

const T = TABLES.threads;
const I = TABLES.items;

const notFound = (threadId: string): StreamwellError =>
  new StreamwellError('not_found', `Unknown thread ${threadId}.`, { status: 404 });

/**
 * Creates `beginTurn` and `updateMessage` over a Kysely database.
 *
 * @param db - the migrated database
 * @param options - clock and history limits
 * @returns the two store methods, with the semantics of {@link ThreadStore}
 */
export function createSqlTurnWrites(
  db: Kysely<StoreSchema>,
  options: SqliteTurnWritesOptions,
): Pick<ThreadStore, 'beginTurn' | 'updateMessage'> {
  const { now, maxHistoryChars, maxHistoryMessages } = options;
  return {
    beginTurn: ({ threadId, owner, message, streamId }) =>
      db.transaction().execute(async (trx) => {
        const at = now();
        const key = ownerKey(owner);
        const title = titleFromMessage(message);
        const inserted = await trx
          .insertInto(T)
          .values({ id: threadId, owner: key, title, created_at: at, updated_at: at, metadata: '{}', last_seq: 0 })
          .onConflict((conflict) => conflict.column('id').doNothing())
          .executeTakeFirst();
        const threadCreated = Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
        // The ownership check and the two sequence numbers in one statement; the row stays
        // locked (PostgreSQL) until commit, so concurrent turns of one thread take turns here.
        const thread = await trx
          .updateTable(T)
          .set((row) => ({
            last_seq: row('last_seq', '+', 2),
            updated_at: at,
            title: sql<string | null>`coalesce(title, ${title})`,
          }))
          .where('id', '=', threadId)
          .where('owner', '=', key)
          .returning('last_seq')
          .executeTakeFirst();
        if (thread === undefined) throw notFound(threadId);
        const earlier = threadCreated
          ? []
          : await trx
              .selectFrom(I)
              .select(['role', 'content'])
              .where('thread_id', '=', threadId)
              .where('kind', '=', 'message')
              .where('status', '!=', 'streaming')
              .where('content', '!=', '')
              .orderBy('seq', 'desc')
              .limit(maxHistoryMessages)
              .execute();
        const userMessageId = createItemId();
        const assistantMessageId = createItemId();
        const common = { thread_id: threadId, kind: 'message', stream_id: streamId, created_at: at, data: null };
        await trx
          .insertInto(I)
          .values([
            {
              ...common,
              id: userMessageId,
              seq: thread.last_seq - 1,
              role: 'user',
              content: message,
              status: 'complete',
            },
            {
              ...common,
              id: assistantMessageId,
              seq: thread.last_seq,
              role: 'assistant',
              content: '',
              status: 'streaming',
            },
          ])
          .execute();
        const history = boundHistory(
          earlier.reverse().map((row) => ({ role: row.role as ChatMessage['role'], content: row.content })),
          message,
          maxHistoryChars,
        );
        return { history, userMessageId, assistantMessageId, threadCreated };
      }),

    // One transaction, so one commit (one WAL flush) for both rows.
    updateMessage: ({ threadId, messageId, content, status }) =>
      db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable(I)
          .set({ content, status })
          .where('thread_id', '=', threadId)
          .where('id', '=', messageId)
          .where('status', '=', 'streaming')
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) return false;
        await trx.updateTable(T).set({ updated_at: now() }).where('id', '=', threadId).execute();
        return true;
      }),
  };
}
