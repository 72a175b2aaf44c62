/**
 * A PostgreSQL database of its own for a test file: created through the `postgres` superuser on
 * 127.0.0.1:5432 (override with `TEST_POSTGRES_URL`, a URL of any database the user may create
 * databases from), dropped afterwards (`WITH (FORCE)`: connections a test left open go too).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server the tests use. */
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database for a test. */
export interface TestDatabase {
  readonly name: string;
  /** Its URL, for `DATABASE_URL`. */
  readonly url: string;
  /** Drops it. */
  drop(): Promise<void>;
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates an empty database with a random name.
 *
 * @param label - part of the name, to tell test files apart in `\l`
 * @returns the database
 */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `streamwell_test_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => admin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}
