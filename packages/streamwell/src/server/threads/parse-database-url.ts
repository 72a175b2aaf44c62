/**
 * `DATABASE_URL`: which database the thread store uses.
 *
 * | value | database |
 * |---|---|
 * | unset or blank | SQLite at `./data/streamwell.db`, relative to the working directory |
 * | `file:/var/lib/app/x.db`, `file:///var/lib/app/x.db`, `file:./x.db` | SQLite at that path (relative to the working directory) |
 * | `file::memory:` | SQLite in memory (lost at exit: tests) |
 * | `postgres://user:password@host:5432/db` (or `postgresql://`) | PostgreSQL |
 *
 * @module
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StreamwellError } from '../../errors/index.ts';

/** Where `DATABASE_URL` points. */
export type DatabaseTarget =
  | { readonly dialect: 'sqlite'; readonly path: string }
  | { readonly dialect: 'postgres'; readonly connectionString: string };

/** The SQLite file used when `DATABASE_URL` is unset, relative to the working directory. */
export const DEFAULT_SQLITE_PATH = './data/streamwell.db';

const invalid = (message: string): StreamwellError => new StreamwellError('invalid_config', message);

const EXPECTED = 'expected file:/path/to/streamwell.db (SQLite) or postgres://user@host:5432/database (PostgreSQL)';

function sqlitePath(value: string, cwd: string): string {
  const rest = value.slice('file:'.length).split(/[?#]/, 1)[0] ?? '';
  if (rest === ':memory:') return ':memory:';
  let path: string;
  if (rest.startsWith('//')) {
    try {
      path = fileURLToPath(value.split(/[?#]/, 1)[0] ?? value);
    } catch (error) {
      throw invalid(`DATABASE_URL is not a usable file URL (${(error as Error).message}); ${EXPECTED}`);
    }
  } else {
    path = decodeURIComponent(rest);
  }
  if (path === '' || path.endsWith('/')) throw invalid(`DATABASE_URL names no file; ${EXPECTED}`);
  return resolve(cwd, path);
}

/**
 * Parses `DATABASE_URL`.
 *
 * @param value - the variable's value; unset or blank means the default SQLite file
 * @param cwd - what relative SQLite paths are relative to @defaultValue `process.cwd()`
 * @returns the database to open
 * @throws StreamwellError `invalid_config` for any other value (the message names only its
 *   scheme, never the rest, which may hold a password)
 * @example parseDatabaseUrl(undefined, '/srv') // { dialect: 'sqlite', path: '/srv/data/streamwell.db' }
 */
export function parseDatabaseUrl(value: string | undefined, cwd: string = process.cwd()): DatabaseTarget {
  const text = value?.trim() ?? '';
  if (text === '') return { dialect: 'sqlite', path: resolve(cwd, DEFAULT_SQLITE_PATH) };
  const lower = text.toLowerCase();
  if (lower.startsWith('file:')) return { dialect: 'sqlite', path: sqlitePath(text, cwd) };
  if (lower.startsWith('postgres://') || lower.startsWith('postgresql://')) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw invalid(`DATABASE_URL is not a valid postgres:// URL; ${EXPECTED}`);
    }
    if (url.hostname === '' && !url.searchParams.has('host')) {
      throw invalid(`DATABASE_URL names no PostgreSQL host; ${EXPECTED}`);
    }
    return { dialect: 'postgres', connectionString: text };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1];
  throw invalid(
    scheme === undefined
      ? `DATABASE_URL is not a URL; ${EXPECTED}`
      : `DATABASE_URL has the scheme "${scheme}:", which is not supported; ${EXPECTED}`,
  );
}

/**
 * Names a database for logs and errors without its password.
 *
 * @param target - a parsed `DATABASE_URL`
 * @returns e.g. `SQLite /srv/data/streamwell.db` or `PostgreSQL db.internal:5432/chat`
 */
export function describeDatabase(target: DatabaseTarget): string {
  if (target.dialect === 'sqlite') return `SQLite ${target.path}`;
  const url = new URL(target.connectionString);
  return `PostgreSQL ${url.host || url.searchParams.get('host') || 'localhost'}${url.pathname}`;
}
