/**
 * Rows of the SQL thread store to and from the port's types.
 *
 * @module
 */
import type { Selectable } from 'kysely';
import type { AttachmentsTable, ItemsTable, ThreadsTable } from './store-schema.ts';
import type {
  AttachmentRecord,
  ItemRole,
  ItemStatus,
  JsonObject,
  JsonValue,
  ThreadItem,
  ThreadRecord,
  ThreadSummary,
} from './thread-store.ts';

/**
 * The `owner` column's value: '' stands for the anonymous principal (auth off), so that the
 * column is never null and one index serves every lookup.
 *
 * @param owner - the principal
 * @returns the column value
 */
export const ownerKey = (owner: string | undefined): string => owner ?? '';

/**
 * The principal of an `owner` column value.
 *
 * @param key - the column value
 * @returns the principal, undefined for the anonymous one
 */
export const ownerFromKey = (key: string): string | undefined => (key === '' ? undefined : key);

/** JSON text of a column, or null. */
export const toJsonColumn = (value: JsonValue | undefined): string | null =>
  value === undefined || value === null ? null : JSON.stringify(value);

const fromJsonColumn = (text: string | null): JsonValue => (text === null ? null : (JSON.parse(text) as JsonValue));

/** A thread row as a summary. */
export function toThreadSummary(
  row: Pick<Selectable<ThreadsTable>, 'id' | 'title' | 'created_at' | 'updated_at'>,
): ThreadSummary {
  return { id: row.id, title: row.title, createdAt: row.created_at, updatedAt: row.updated_at };
}

/** A thread row with its metadata. */
export function toThreadRecord(row: Selectable<ThreadsTable>): ThreadRecord {
  return { ...toThreadSummary(row), metadata: JSON.parse(row.metadata) as JsonObject };
}

/** An item row. */
export function toThreadItem(row: Selectable<ItemsTable>): ThreadItem {
  return {
    id: row.id,
    threadId: row.thread_id,
    role: row.role as ItemRole,
    kind: row.kind,
    content: row.content,
    status: row.status as ItemStatus,
    streamId: row.stream_id,
    createdAt: row.created_at,
    data: fromJsonColumn(row.data),
  };
}

/** An attachment row. */
export function toAttachmentRecord(row: Selectable<AttachmentsTable>): AttachmentRecord {
  return {
    id: row.id,
    owner: ownerFromKey(row.owner),
    threadId: row.thread_id,
    name: row.name,
    mimeType: row.mime_type,
    data: fromJsonColumn(row.data),
    createdAt: row.created_at,
  };
}
