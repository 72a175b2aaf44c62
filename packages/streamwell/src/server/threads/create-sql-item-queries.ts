/**
 * The generic half of the SQL thread store: threads with metadata, items of every kind, and
 * attachment metadata, as ChatKit's Store needs them (reference/chatkit-protocol.md §10), on the
 * same tables as the conversation methods.
 *
 * @module
 */
import type { Kysely, Transaction } from 'kysely';
import { StreamwellError } from '../../errors/index.ts';
import { createItemId } from './create-item-id.ts';
import { PAGE_LIMITS, pageLimit } from './page-limit.ts';
import { ownerKey, toAttachmentRecord, toJsonColumn, toThreadItem, toThreadRecord } from './sql-rows.ts';
import { type StoreSchema, TABLES } from './store-schema.ts';
import type { ThreadItemInput, ThreadStore } from './thread-store.ts';

const T = TABLES.threads;
const I = TABLES.items;
const A = TABLES.attachments;

const notFound = (id: string, what = 'thread'): StreamwellError =>
  new StreamwellError('not_found', `Unknown ${what} ${id}.`, { status: 404 });

/** The methods this module implements. */
export type SqlItemQueries = Pick<
  ThreadStore,
  | 'loadThread'
  | 'saveThread'
  | 'addItem'
  | 'saveItem'
  | 'loadItem'
  | 'deleteItem'
  | 'loadItems'
  | 'saveAttachment'
  | 'loadAttachment'
  | 'deleteAttachment'
>;

/** Bumps the thread's `updatedAt` (and `last_seq` by `seqs`) if `owner` owns it; the new `last_seq`. */
async function claimThread(
  trx: Transaction<StoreSchema>,
  threadId: string,
  owner: string | undefined,
  at: string,
  seqs: number,
): Promise<number> {
  const row = await trx
    .updateTable(T)
    .set((thread) => ({ updated_at: at, last_seq: thread('last_seq', '+', seqs) }))
    .where('id', '=', threadId)
    .where('owner', '=', ownerKey(owner))
    .returning('last_seq')
    .executeTakeFirst();
  if (row === undefined) throw notFound(threadId);
  return row.last_seq;
}

function itemColumns(input: ThreadItemInput) {
  return {
    role: input.role,
    kind: input.kind ?? 'message',
    content: input.content ?? '',
    status: input.status ?? 'complete',
    stream_id: input.streamId ?? null,
    data: toJsonColumn(input.data),
  };
}

/**
 * The generic queries on an open database.
 *
 * @param db - the store's database
 * @param now - the clock, as ISO strings
 * @returns the methods, to spread into the store
 */
export function createSqlItemQueries(db: Kysely<StoreSchema>, now: () => string): SqlItemQueries {
  async function insertItem(
    trx: Transaction<StoreSchema>,
    threadId: string,
    owner: string | undefined,
    input: ThreadItemInput,
  ) {
    const at = now();
    const seq = await claimThread(trx, threadId, owner, at, 1);
    const row = {
      thread_id: threadId,
      id: input.id ?? createItemId(),
      seq,
      created_at: input.createdAt ?? at,
      ...itemColumns(input),
    };
    await trx.insertInto(I).values(row).execute();
    return toThreadItem(row);
  }

  async function ownsThread(
    executor: Kysely<StoreSchema>,
    threadId: string,
    owner: string | undefined,
  ): Promise<boolean> {
    const row = await executor
      .selectFrom(T)
      .select('id')
      .where('id', '=', threadId)
      .where('owner', '=', ownerKey(owner))
      .executeTakeFirst();
    return row !== undefined;
  }

  return {
    async loadThread(threadId, owner) {
      const row = await db
        .selectFrom(T)
        .selectAll()
        .where('id', '=', threadId)
        .where('owner', '=', ownerKey(owner))
        .executeTakeFirst();
      return row === undefined ? undefined : toThreadRecord(row);
    },

    saveThread: ({ id, owner, title, metadata }) =>
      db.transaction().execute(async (trx) => {
        const at = now();
        await trx
          .insertInto(T)
          .values({
            id,
            owner: ownerKey(owner),
            title: title ?? null,
            created_at: at,
            updated_at: at,
            metadata: JSON.stringify(metadata ?? {}),
            last_seq: 0,
          })
          .onConflict((conflict) => conflict.column('id').doNothing())
          .execute();
        const row = await trx
          .updateTable(T)
          .set({
            updated_at: at,
            ...(title === undefined ? {} : { title }),
            ...(metadata === undefined ? {} : { metadata: JSON.stringify(metadata) }),
          })
          .where('id', '=', id)
          .where('owner', '=', ownerKey(owner))
          .returningAll()
          .executeTakeFirst();
        if (row === undefined) throw notFound(id);
        return toThreadRecord(row);
      }),

    addItem: (threadId, owner, input) =>
      db.transaction().execute(async (trx) => {
        if (input.id !== undefined) {
          const existing = await trx
            .selectFrom(I)
            .select('id')
            .where('thread_id', '=', threadId)
            .where('id', '=', input.id)
            .executeTakeFirst();
          if (existing !== undefined)
            throw new StreamwellError('bad_request', `Item ${input.id} already exists.`, { status: 400 });
        }
        return insertItem(trx, threadId, owner, input);
      }),

    saveItem: (threadId, owner, input) =>
      db.transaction().execute(async (trx) => {
        const at = now();
        await claimThread(trx, threadId, owner, at, 0);
        const row = await trx
          .updateTable(I)
          .set({ ...itemColumns(input), ...(input.createdAt === undefined ? {} : { created_at: input.createdAt }) })
          .where('thread_id', '=', threadId)
          .where('id', '=', input.id)
          .returningAll()
          .executeTakeFirst();
        return row === undefined ? insertItem(trx, threadId, owner, input) : toThreadItem(row);
      }),

    async loadItem(threadId, owner, itemId) {
      const row = await db
        .selectFrom(I)
        .innerJoin(T, `${T}.id`, `${I}.thread_id`)
        .selectAll(I)
        .where(`${I}.thread_id`, '=', threadId)
        .where(`${I}.id`, '=', itemId)
        .where(`${T}.owner`, '=', ownerKey(owner))
        .executeTakeFirst();
      return row === undefined ? undefined : toThreadItem(row);
    },

    async deleteItem(threadId, owner, itemId) {
      const result = await db
        .deleteFrom(I)
        .where('thread_id', '=', threadId)
        .where('id', '=', itemId)
        .where('thread_id', 'in', (query) =>
          query.selectFrom(T).select('id').where('id', '=', threadId).where('owner', '=', ownerKey(owner)),
        )
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async loadItems(threadId, owner, options = {}) {
      if (!(await ownsThread(db, threadId, owner))) throw notFound(threadId);
      const limit = pageLimit(options.limit, PAGE_LIMITS.defaultPage, PAGE_LIMITS.maxPage);
      const direction = options.order === 'desc' ? 'desc' : 'asc';
      let afterSeq: number | undefined;
      if (options.after !== undefined) {
        const cursor = await db
          .selectFrom(I)
          .select('seq')
          .where('thread_id', '=', threadId)
          .where('id', '=', options.after)
          .executeTakeFirst();
        if (cursor === undefined)
          throw new StreamwellError('invalid_cursor', `Unknown item ${options.after}.`, { status: 400 });
        afterSeq = cursor.seq;
      }
      const rows = await db
        .selectFrom(I)
        .selectAll()
        .where('thread_id', '=', threadId)
        .$if(afterSeq !== undefined, (query) => query.where('seq', direction === 'asc' ? '>' : '<', afterSeq ?? 0))
        .orderBy('seq', direction)
        .limit(limit + 1)
        .execute();
      const items = rows.slice(0, limit).map(toThreadItem);
      const hasMore = rows.length > limit;
      return { items, hasMore, after: hasMore ? (items[items.length - 1]?.id ?? null) : null };
    },

    async saveAttachment(input) {
      const at = now();
      const columns = {
        owner: ownerKey(input.owner),
        thread_id: input.threadId,
        name: input.name,
        mime_type: input.mimeType,
        data: toJsonColumn(input.data),
      };
      // Upsert, but only over the same owner's row: another principal's id stays theirs.
      const row = await db
        .insertInto(A)
        .values({ id: input.id, ...columns, created_at: input.createdAt ?? at })
        .onConflict((conflict) =>
          conflict
            .column('id')
            .doUpdateSet({ ...columns, ...(input.createdAt === undefined ? {} : { created_at: input.createdAt }) })
            .where(`${A}.owner`, '=', columns.owner),
        )
        .returningAll()
        .executeTakeFirst();
      if (row === undefined) throw notFound(input.id, 'attachment');
      return toAttachmentRecord(row);
    },

    async loadAttachment(attachmentId, owner) {
      const row = await db
        .selectFrom(A)
        .selectAll()
        .where('id', '=', attachmentId)
        .where('owner', '=', ownerKey(owner))
        .executeTakeFirst();
      return row === undefined ? undefined : toAttachmentRecord(row);
    },

    async deleteAttachment(attachmentId, owner) {
      const result = await db
        .deleteFrom(A)
        .where('id', '=', attachmentId)
        .where('owner', '=', ownerKey(owner))
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
