/**
 * The durable thread store: SQLite (better-sqlite3) or PostgreSQL (pg), one query path through
 * Kysely and one set of migrations, applied when the store is created. The implementation
 * (open-sql-thread-store.ts) and Kysely load on the first call, not when `streamwell/server` is
 * imported.
 *
 * @module
 */
import type { OpenDatabaseOptions } from './open-database.ts';
import { parseDatabaseUrl } from './parse-database-url.ts';
import type { ThreadStore, ThreadStoreCommonOptions } from './thread-store.ts';

/** Options of {@link createSqlThreadStore}. */
export interface SqlThreadStoreOptions extends ThreadStoreCommonOptions, OpenDatabaseOptions {
  /**
   * `DATABASE_URL`: unset for `./data/streamwell.db`, `file:/path/x.db` for another SQLite file,
   * `postgres://...` for PostgreSQL (see `parseDatabaseUrl`).
   */
  readonly url?: string | undefined;
  /** What relative SQLite paths are relative to. @defaultValue `process.cwd()` */
  readonly cwd?: string;
  /** Told which migrations this call applied (none when another instance, or an earlier start, did). */
  readonly onMigrated?: (applied: readonly string[]) => void;
  /**
   * SQLite: longest a checkpoint write (`updateMessage` with status `streaming`) waits for other
   * writes to share their commit, instead of committing alone. A crash can lose up to this much
   * more of a streaming reply. 0 commits each checkpoint at once. PostgreSQL ignores it.
   * @defaultValue 100
   */
  readonly checkpointCommitDelayMs?: number;
}

/**
 * Opens (and migrates) the durable thread store.
 *
 * @param options - `url` (`DATABASE_URL`), pool, timeouts, history limits
 * @returns the store, ready; `close()` it at shutdown
 * @throws StreamwellError `invalid_config` for a bad `url` or a missing driver package,
 *   `store_unavailable` when the database cannot be reached, `internal_error` when a migration fails
 * @example
 * const threads = await createSqlThreadStore({ url: process.env.DATABASE_URL });
 */
export async function createSqlThreadStore(options: SqlThreadStoreOptions = {}): Promise<ThreadStore> {
  const target = parseDatabaseUrl(options.url, options.cwd);
  const { openSqlThreadStore } = await import('./open-sql-thread-store.ts');
  return openSqlThreadStore(target, options);
}
