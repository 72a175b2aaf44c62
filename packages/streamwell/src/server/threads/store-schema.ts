/**
 * The tables of the SQL thread store, as Kysely sees them. One schema for SQLite and PostgreSQL:
 * text, integers and ISO 8601 text timestamps only, so that both return the same values and
 * sort the same way (ISO strings in UTC sort in time order).
 *
 * @module
 */

/** Table names: prefixed, so that the store can share a database with an application's tables. */
export const TABLES = Object.freeze({
  threads: 'streamwell_threads',
  items: 'streamwell_thread_items',
  attachments: 'streamwell_attachments',
  migrations: 'streamwell_migrations',
  migrationLock: 'streamwell_migrations_lock',
} as const);

/** `streamwell_threads`. */
export interface ThreadsTable {
  id: string;
  /** The principal; '' for the anonymous one (auth off), so that the column is never null. */
  owner: string;
  title: string | null;
  created_at: string;
  updated_at: string;
  /** JSON object. */
  metadata: string;
  /** The `seq` of the thread's last item: items take the next numbers, in one row update. */
  last_seq: number;
}

/** `streamwell_thread_items`. */
export interface ItemsTable {
  thread_id: string;
  id: string;
  /** Insertion order within the thread (1, 2, ...): the order of history and pagination. */
  seq: number;
  role: string;
  kind: string;
  content: string;
  status: string;
  stream_id: string | null;
  created_at: string;
  /** JSON, or null. */
  data: string | null;
}

/** `streamwell_attachments`. */
export interface AttachmentsTable {
  id: string;
  owner: string;
  thread_id: string | null;
  name: string;
  mime_type: string;
  /** JSON, or null. */
  data: string | null;
  created_at: string;
}

/** The whole schema. */
export interface StoreSchema {
  streamwell_threads: ThreadsTable;
  streamwell_thread_items: ItemsTable;
  streamwell_attachments: AttachmentsTable;
}
