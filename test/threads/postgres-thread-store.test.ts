/**
 * The thread store contract against PostgreSQL (a database of its own for this file; each test
 * uses its own principals in it), and what is PostgreSQL's own: concurrent migrations of one
 * fresh database, and an outage between two messages (a clear error, then recovery).
 */
import pg from 'pg';
import { createSqlThreadStore, type ThreadStore } from 'streamwell/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, TEST_POSTGRES_URL, type TestDatabase } from '../helpers/postgres.ts';
import { startTcpProxy } from '../helpers/restartable-tcp-proxy.ts';
import { postgresPart } from '../helpers/system-part.ts';
import { describeThreadStoreContract } from './thread-store-contract.ts';

const postgres = postgresPart();

describe.skipIf(!postgres.available)('PostgreSQL thread store', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('contract');
  });

  afterAll(async () => {
    await database?.drop();
  });

  describeThreadStoreContract({
    durable: true,
    open: (options) => createSqlThreadStore({ url: database.url, poolSize: 4, ...options }),
  });

  // Three pools, so three sessions: Kysely's migrator serializes them with pg_advisory_lock (this
  // test fails with that lock patched out: "duplicate key ... pg_type_typname_nsp_index").
  it('migrates one fresh database from three stores starting at once (the advisory lock)', async () => {
    const fresh = await createTestDatabase('migrate');
    const stores: ThreadStore[] = [];
    try {
      const applied: number[] = [];
      const opened = await Promise.all(
        [1, 2, 3].map(() =>
          createSqlThreadStore({
            url: fresh.url,
            onMigrated: (names) => {
              applied.push(names.length);
            },
          }),
        ),
      );
      stores.push(...opened);
      expect(applied.sort()).toEqual([0, 0, 1]);
      await Promise.all(
        opened.map((store, index) =>
          store.beginTurn({ threadId: `t${index}`, owner: 'o', message: 'hi', streamId: 's' }),
        ),
      );
      expect((await opened[0]?.listThreads('o'))?.threads).toHaveLength(3);
    } finally {
      for (const store of stores) await store.close();
      await fresh.drop();
    }
  });

  it('answers store_unavailable while PostgreSQL is down between two messages, then recovers by itself', async () => {
    const proxy = await startTcpProxy(5432);
    const url = new URL(database.url);
    url.port = String(proxy.port);
    const idleErrors: unknown[] = [];
    const store = await createSqlThreadStore({
      url: url.toString(),
      connectTimeoutMs: 2000,
      onError: (error) => idleErrors.push(error),
    });
    try {
      await store.beginTurn({ threadId: 'outage', owner: 'o', message: 'one', streamId: 's1' });

      // A restart: every connection is cut, and connects are refused until it is back.
      await proxy.stop();
      const refused = await store.beginTurn({ threadId: 'outage', owner: 'o', message: 'two', streamId: 's2' }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toMatchObject({ code: 'store_unavailable', status: 503, retryable: true });
      expect((refused as Error).message).toBe('The conversation store is unavailable right now; retry shortly.');
      expect((refused as Error).cause).toBeDefined();
      await expect(store.listThreads('o')).rejects.toThrow(expect.objectContaining({ code: 'store_unavailable' }));

      await proxy.start();
      const again = await store.beginTurn({ threadId: 'outage', owner: 'o', message: 'three', streamId: 's3' });
      expect(again.history.map((message) => message.content)).toEqual(['one', 'three']);
      const messages = (await store.getThread('outage', 'o'))?.messages.map((message) => message.content);
      // The refused turn left nothing behind.
      expect(messages).toEqual(['one', '', 'three', '']);
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  it('recovers when PostgreSQL ends its idle connections (the pool reports them and opens new ones)', async () => {
    const idleErrors: unknown[] = [];
    const store = await createSqlThreadStore({ url: database.url, onError: (error) => idleErrors.push(error) });
    try {
      await store.beginTurn({ threadId: 'terminated', owner: 'o', message: 'one', streamId: 's1' });
      await terminateConnections(database.name);
      await vi.waitFor(() => expect(idleErrors.length).toBeGreaterThan(0));
      expect(idleErrors[0]).toMatchObject({ code: '57P01' });
      await store.beginTurn({ threadId: 'terminated', owner: 'o', message: 'two', streamId: 's2' });
      expect((await store.getThread('terminated', 'o'))?.messages).toHaveLength(4);
    } finally {
      await store.close();
    }
  });
});

/** What a PostgreSQL restart does to connected sessions (57P01 admin_shutdown), for one database. */
async function terminateConnections(databaseName: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    await client.query(
      'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [databaseName],
    );
  } finally {
    await client.end();
  }
}
