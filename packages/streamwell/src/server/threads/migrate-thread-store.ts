/**
 * The SQL thread store's migrations (in code: one set for SQLite and PostgreSQL) and the runner
 * that applies them at start, safely when several instances start at once.
 *
 * - PostgreSQL: Kysely's migrator takes a session-level advisory lock (`pg_advisory_lock`) and
 *   runs the pending migrations in one transaction; the others wait on the lock, then find
 *   nothing left to do. Its bookkeeping tables are created with "if not exists" and a re-check.
 * - SQLite: Kysely's SQLite adapter takes no lock at all (it assumes one connection, i.e. one
 *   process). Two processes on one file would both run a migration. So the whole run happens
 *   inside `BEGIN IMMEDIATE`, which takes the file's write lock first; the other processes wait
 *   for it (busy_timeout) and then see every migration applied. SQLite's DDL is transactional.
 *
 * @module
 */
import { type Kysely, type Migration, Migrator, sql } from 'kysely';
import { StreamwellError } from '../../errors/index.ts';
import { TABLES } from './store-schema.ts';

/**
 * The migrations, by name; names sort in the order they run. Never edit one that has shipped:
 * add the next. They see the database untyped: a migration runs against the schema as it was
 * then, not as the types say now.
 */
export const THREAD_STORE_MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001_threads_items_attachments': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable(TABLES.threads)
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('owner', 'text', (column) => column.notNull())
        .addColumn('title', 'text')
        .addColumn('created_at', 'text', (column) => column.notNull())
        .addColumn('updated_at', 'text', (column) => column.notNull())
        .addColumn('metadata', 'text', (column) => column.notNull().defaultTo('{}'))
        .addColumn('last_seq', 'integer', (column) => column.notNull().defaultTo(0))
        .execute();
      // listThreads: one owner's threads by (updated_at, id), in either direction.
      await db.schema
        .createIndex('streamwell_threads_owner_updated')
        .on(TABLES.threads)
        .columns(['owner', 'updated_at', 'id'])
        .execute();

      await db.schema
        .createTable(TABLES.items)
        .addColumn('thread_id', 'text', (column) =>
          column.notNull().references(`${TABLES.threads}.id`).onDelete('cascade'),
        )
        .addColumn('id', 'text', (column) => column.notNull())
        .addColumn('seq', 'integer', (column) => column.notNull())
        .addColumn('role', 'text', (column) => column.notNull())
        .addColumn('kind', 'text', (column) => column.notNull().defaultTo('message'))
        .addColumn('content', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('status', 'text', (column) => column.notNull())
        .addColumn('stream_id', 'text')
        .addColumn('created_at', 'text', (column) => column.notNull())
        .addColumn('data', 'text')
        // Item ids are unique within a thread (ChatKit's generators are short and random).
        .addPrimaryKeyConstraint('streamwell_thread_items_pk', ['thread_id', 'id'])
        .execute();
      await db.schema
        .createIndex('streamwell_thread_items_seq')
        .on(TABLES.items)
        .columns(['thread_id', 'seq'])
        .unique()
        .execute();
      // Restart recovery reads the messages still streaming: a partial index stays tiny.
      await db.schema
        .createIndex('streamwell_thread_items_streaming')
        .on(TABLES.items)
        .column('created_at')
        .where(sql.ref('status'), '=', 'streaming')
        .execute();

      await db.schema
        .createTable(TABLES.attachments)
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('owner', 'text', (column) => column.notNull())
        .addColumn('thread_id', 'text')
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('mime_type', 'text', (column) => column.notNull())
        .addColumn('data', 'text')
        .addColumn('created_at', 'text', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('streamwell_attachments_thread').on(TABLES.attachments).column('thread_id').execute();
    },
  },
});

/**
 * Applies the pending migrations.
 *
 * @param db - the store's database (nothing else may use it while this runs)
 * @param dialect - which database it is
 * @returns the names of the migrations this call applied
 * @throws StreamwellError `internal_error` naming the migration that failed (its cause attached)
 */
export async function migrateThreadStore(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...THREAD_STORE_MIGRATIONS }) },
    migrationTableName: TABLES.migrations,
    migrationLockTableName: TABLES.migrationLock,
  });
  // SQLite: one connection, so these statements and every statement of the migrator run on it,
  // inside the write transaction (see the module comment).
  if (dialect === 'sqlite') await sql`begin immediate`.execute(db);
  let result: Awaited<ReturnType<Migrator['migrateToLatest']>>;
  try {
    result = await migrator.migrateToLatest();
  } catch (error) {
    if (dialect === 'sqlite') await sql`rollback`.execute(db);
    throw error;
  }
  if (result.error !== undefined) {
    if (dialect === 'sqlite') await sql`rollback`.execute(db);
    const failed = result.results?.find((entry) => entry.status === 'Error')?.migrationName;
    throw new StreamwellError(
      'internal_error',
      `The thread store's migration ${failed ?? '(bookkeeping)'} failed: ${String((result.error as Error)?.message ?? result.error)}`,
      { cause: result.error },
    );
  }
  if (dialect === 'sqlite') await sql`commit`.execute(db);
  return (result.results ?? []).filter((entry) => entry.status === 'Success').map((entry) => entry.migrationName);
}
