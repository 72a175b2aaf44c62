/**
 * Opens the thread store's database with Kysely: better-sqlite3 for SQLite, a pg Pool for
 * PostgreSQL. Both drivers are optional peer dependencies, loaded only when used; a missing one
 * is an `invalid_config` error that names the package to install.
 *
 * @module
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import type { SqlitePreparer } from './create-sqlite-turn-writes.ts';
import type { SqliteTransactions } from './create-sqlite-write-batcher.ts';
import { importDriver } from './import-driver.ts';
import type { DatabaseTarget } from './parse-database-url.ts';
import type { StoreSchema } from './store-schema.ts';

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** PostgreSQL: most connections of this instance. @defaultValue 10 */
  readonly poolSize?: number;
  /** PostgreSQL: how long to wait for a connection before failing with `store_unavailable`. @defaultValue 5000 */
  readonly connectTimeoutMs?: number;
  /** SQLite: how long to wait for another process's write lock. @defaultValue 5000 */
  readonly busyTimeoutMs?: number;
  /** Errors of idle connections (PostgreSQL restarted, network cut): reported, never thrown. */
  readonly onError?: (error: unknown) => void;
}

async function openSqlite(path: string, options: OpenDatabaseOptions): Promise<Kysely<StoreSchema>> {
  const Database = (await importDriver('better-sqlite3', () => import('better-sqlite3'))).default;
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
  try {
    // WAL: readers never block the writer, and a commit is one append (no fsync per commit with
    // synchronous=NORMAL; an OS crash may lose the last commits, a process crash loses none).
    await switchToWal(database, options.busyTimeoutMs ?? 5000);
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
  } catch (error) {
    database.close();
    throw error;
  }
  const db = new Kysely<StoreSchema>({ dialect: new SqliteDialect({ database: cachingStatements(database) }) });
  sqliteConnections.set(db, database);
  return db;
}

/** What the store's SQLite fast path uses of a better-sqlite3 database. */
export type SqliteConnection = SqlitePreparer & SqliteTransactions;

/** The better-sqlite3 database under each SQLite Kysely instance this module opened. */
const sqliteConnections = new WeakMap<Kysely<StoreSchema>, SqliteConnection>();

/**
 * The better-sqlite3 database under a Kysely instance opened by {@link openDatabase}, for the
 * store's per-run writes (`create-sqlite-turn-writes.ts`); undefined for PostgreSQL. Use it only
 * inside the store's operation gate: it is the same single connection Kysely uses.
 *
 * @param db - from {@link openDatabase}
 * @returns the connection, or undefined
 */
export function sqliteConnectionOf(db: Kysely<StoreSchema>): SqliteConnection | undefined {
  return sqliteConnections.get(db);
}

/** Most prepared statements kept per database (the store's queries are a few dozen shapes). */
const STATEMENT_CACHE_SIZE = 256;

/** What {@link cachingStatements} needs of a better-sqlite3 database. */
interface PreparingDatabase<Statement> {
  prepare(sql: string): Statement;
  close(): void;
}

/**
 * The database as Kysely's SQLite driver sees it, with its prepared statements kept by SQL text.
 * The driver prepares every query it runs, and SQLite compiles the SQL each time: in the bulk
 * benchmark (a checkpoint write every 50 tokens, a turn per run) `prepare` alone was ~7 % of
 * the gateway's busy time. A better-sqlite3 statement can be run again and again; one that is
 * busy (a streamed select still iterating) is not handed out twice: that query gets a fresh one.
 * Past {@link STATEMENT_CACHE_SIZE} shapes (only a store with unusual queries) the cache starts over.
 */
function cachingStatements<Statement extends { readonly busy?: boolean }>(
  database: PreparingDatabase<Statement>,
): PreparingDatabase<Statement> {
  const statements = new Map<string, Statement>();
  return {
    prepare(sql) {
      const cached = statements.get(sql);
      if (cached !== undefined && cached.busy !== true) return cached;
      const statement = database.prepare(sql);
      if (cached === undefined) {
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear();
        statements.set(sql, statement);
      }
      return statement;
    },
    close() {
      statements.clear();
      database.close();
    },
  };
}

/**
 * Sets WAL mode. On a file that several processes open at once, the switch can answer
 * SQLITE_BUSY ("database is locked") without waiting on the busy timeout (seen in CI: three
 * processes migrating a fresh file), so it is retried until the timeout.
 */
async function switchToWal(database: { pragma(source: string): unknown }, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      database.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      const busy = (error as { code?: unknown }).code === 'SQLITE_BUSY';
      if (!busy || performance.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

async function openPostgres(connectionString: string, options: OpenDatabaseOptions): Promise<Kysely<StoreSchema>> {
  const { Pool } = (await importDriver('pg', () => import('pg'))).default;
  const pool = new Pool({
    connectionString,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    application_name: 'streamwell',
  });
  // An idle connection that breaks (PostgreSQL restarted) is dropped from the pool, which then
  // emits `error`: without a listener that would end the process. The next query opens a new
  // connection, which is how the store recovers by itself.
  pool.on('error', (error) => options.onError?.(error));
  // A checked-out connection that breaks between two statements emits `error` on the client
  // itself, where nobody listens either; the statement that follows fails and the connection is
  // discarded on release.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  return new Kysely<StoreSchema>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * Opens a database.
 *
 * @param target - from `parseDatabaseUrl`
 * @param options - pool and timeouts
 * @returns a Kysely instance (not yet migrated; no connection is made yet for PostgreSQL)
 * @throws StreamwellError `invalid_config` when the driver package is not installed; SQLite's
 *   own error when the file cannot be opened
 */
export function openDatabase(target: DatabaseTarget, options: OpenDatabaseOptions = {}): Promise<Kysely<StoreSchema>> {
  return target.dialect === 'sqlite'
    ? openSqlite(target.path, options)
    : openPostgres(target.connectionString, options);
}
