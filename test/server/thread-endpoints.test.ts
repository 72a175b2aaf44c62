/**
 * The conversation endpoints of the reference server over real loopback sockets:
 * `GET /api/threads`, `GET /api/threads/{id}`, `DELETE /api/threads/{id}`, on the database the
 * configuration names (SQLite files here; PostgreSQL in its own describe), with the auth, CORS
 * and JSON errors of the stream endpoints. Threads are seeded through the app's own store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type ServerConfig } from '../../apps/server/src/config.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { startTcpProxy } from '../helpers/restartable-tcp-proxy.ts';
import { postgresPart } from '../helpers/system-part.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

const ALICE = { Authorization: 'Bearer sk-alice' };
const BOB = { Authorization: 'Bearer sk-bob' };
const ALLOWED = 'http://localhost:3000';

/** Seeds one finished turn through the app's store (the run registry's part is tested elsewhere). */
async function seedTurn(
  server: TestServer,
  threadId: string,
  owner: string | undefined,
  message: string,
  reply: string,
) {
  const threads = server.app.context.threads;
  const turn = await threads.beginTurn({ threadId, owner, message, streamId: `s-${message}` });
  await threads.updateMessage({ threadId, messageId: turn.assistantMessageId, content: reply, status: 'complete' });
  // Threads are ordered by their ISO millisecond timestamps: the next turn must not share this
  // one's millisecond (the store's writes take well under one).
  const at = Date.now();
  while (Date.now() === at) await new Promise((resolve) => setTimeout(resolve, 1));
  return turn;
}

async function json(response: Response): Promise<unknown> {
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return response.json();
}

describe('thread endpoints on SQLite', () => {
  let folder: string;
  const servers: TestServer[] = [];

  async function start(config: Partial<ServerConfig> = {}): Promise<TestServer> {
    const server = await startTestServer({
      config: { databaseUrl: `file:${path.join(folder, 'threads.db')}`, ...config },
    });
    servers.push(server);
    return server;
  }

  beforeAll(() => {
    folder = mkdtempSync(path.join(tmpdir(), 'streamwell-thread-endpoints-'));
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
    rmSync(path.join(folder, 'threads.db'), { force: true });
    rmSync(path.join(folder, 'threads.db-wal'), { force: true });
    rmSync(path.join(folder, 'threads.db-shm'), { force: true });
  });
  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('lists threads newest first in pages, and shows one with its messages, oldest first', async () => {
    const server = await start();
    expect(server.app.context.threads.kind).toBe('sqlite');
    for (const name of ['one', 'two', 'three'])
      await seedTurn(server, `t-${name}`, undefined, `hello ${name}`, `reply ${name}`);

    const first = await fetch(`${server.url}/api/threads?limit=2`);
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    const page = (await json(first)) as { threads: { id: string }[]; nextCursor: string | null };
    expect(page.threads.map((thread) => thread.id)).toEqual(['t-three', 't-two']);
    expect(page.threads[0]).toEqual({
      id: 't-three',
      title: 'hello three',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: expect.stringMatching(/Z$/),
    });
    const rest = (await json(
      await fetch(`${server.url}/api/threads?limit=2&cursor=${encodeURIComponent(page.nextCursor ?? '')}`),
    )) as typeof page;
    expect(rest).toEqual({ threads: [expect.objectContaining({ id: 't-one' })], nextCursor: null });

    const one = await fetch(`${server.url}/api/threads/t-two`);
    expect(one.status).toBe(200);
    expect(await json(one)).toEqual({
      id: 't-two',
      title: 'hello two',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      hasMore: false,
      messages: [
        {
          id: expect.stringMatching(/^msg_/),
          role: 'user',
          content: 'hello two',
          status: 'complete',
          streamId: 's-hello two',
          createdAt: expect.any(String),
        },
        {
          id: expect.stringMatching(/^msg_/),
          role: 'assistant',
          content: 'reply two',
          status: 'complete',
          streamId: 's-hello two',
          createdAt: expect.any(String),
        },
      ],
    });
  });

  it('deletes a thread (204), after which it is 404 for every method', async () => {
    const server = await start();
    await seedTurn(server, 'doomed', undefined, 'bye', 'ok');
    const deleted = await fetch(`${server.url}/api/threads/doomed`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(`${server.url}/api/threads/doomed`, { method });
      expect(response.status).toBe(404);
      expect(await json(response)).toEqual({ error: { code: 'not_found', message: 'No such thread.' } });
    }
    expect(await json(await fetch(`${server.url}/api/threads`))).toEqual({ threads: [], nextCursor: null });
  });

  it('answers bad input with JSON errors: limit, cursor, id length, method', async () => {
    const server = await start();
    const cases: [string, RequestInit, number, string][] = [
      ['/api/threads?limit=0', {}, 400, 'bad_request'],
      ['/api/threads?limit=101', {}, 400, 'bad_request'],
      ['/api/threads?limit=ten', {}, 400, 'bad_request'],
      ['/api/threads?cursor=garbage', {}, 400, 'invalid_cursor'],
      [`/api/threads/${'x'.repeat(201)}`, {}, 400, 'bad_request'],
      ['/api/threads', { method: 'POST', body: '{}' }, 405, 'method_not_allowed'],
      ['/api/threads/t', { method: 'PUT', body: '{}' }, 405, 'method_not_allowed'],
    ];
    for (const [target, init, status, code] of cases) {
      const response = await fetch(`${server.url}${target}`, init);
      expect(response.status, target).toBe(status);
      expect(await json(response)).toEqual({ error: { code, message: expect.any(String) } });
      if (status === 405) expect(response.headers.get('allow')).toMatch(/GET/);
    }
  });

  it('keeps each principal to their own threads: another one gets 404 for every method, no key 401', async () => {
    const server = await start({
      apiKeys: [
        { id: 'alice', key: 'sk-alice' },
        { id: 'bob', key: 'sk-bob' },
      ],
    });
    await seedTurn(server, 'alice-thread', 'alice', 'mine', 'ok');
    const list = (await json(await fetch(`${server.url}/api/threads`, { headers: ALICE }))) as { threads: unknown[] };
    expect(list.threads).toHaveLength(1);
    expect(await json(await fetch(`${server.url}/api/threads`, { headers: BOB }))).toEqual({
      threads: [],
      nextCursor: null,
    });
    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(`${server.url}/api/threads/alice-thread`, { method, headers: BOB });
      expect(response.status).toBe(404);
      expect(await json(response)).toMatchObject({ error: { code: 'not_found' } });
    }
    const anonymous = await fetch(`${server.url}/api/threads`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect(await json(anonymous)).toMatchObject({ error: { code: 'unauthorized' } });
    // Bob's refused delete left it in place.
    expect((await fetch(`${server.url}/api/threads/alice-thread`, { headers: ALICE })).status).toBe(200);
  });

  it('applies the CORS allowlist: allowed origins read, preflight allows DELETE, foreign origins are refused', async () => {
    const server = await start({ corsOrigins: [ALLOWED] });
    await seedTurn(server, 'c', undefined, 'hi', 'ok');
    const allowed = await fetch(`${server.url}/api/threads/c`, { headers: { Origin: ALLOWED } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(allowed.headers.get('vary')).toMatch(/Origin/);
    const preflight = await fetch(`${server.url}/api/threads/c`, {
      method: 'OPTIONS',
      headers: { Origin: ALLOWED, 'Access-Control-Request-Method': 'DELETE' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/DELETE/);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    const foreign = await fetch(`${server.url}/api/threads/c`, {
      method: 'DELETE',
      headers: { Origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    expect(await json(foreign)).toMatchObject({ error: { code: 'origin_not_allowed' } });
    expect((await fetch(`${server.url}/api/threads/c`)).status).toBe(200);
  });

  it('finds the threads again after a restart on the same file', async () => {
    const first = await start();
    await seedTurn(first, 'kept', undefined, 'remember me', 'ok');
    await first.close();
    servers.splice(servers.indexOf(first), 1);
    const second = await start();
    const thread = (await json(await fetch(`${second.url}/api/threads/kept`))) as { messages: unknown[] };
    expect(thread.messages).toHaveLength(2);
  });
});

describe('DATABASE_URL in the configuration', () => {
  it.each(['mysql://root@db/x', './data/x.db', 'file:'])(
    'refuses DATABASE_URL=%j with a message naming it',
    (value) => {
      let error: unknown;
      try {
        loadConfig({ DATABASE_URL: value });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toMatch(
        /DATABASE_URL: .*expected file:\/path\/to\/streamwell\.db \(SQLite\) or postgres:\/\//,
      );
    },
  );

  it('accepts the documented forms', () => {
    for (const value of ['file:/var/lib/streamwell/x.db', 'postgres://u@db:5432/chat', 'postgresql://db/chat', '']) {
      expect(loadConfig({ DATABASE_URL: value }).databaseUrl).toBe(value === '' ? undefined : value);
    }
  });
});

const postgres = postgresPart();

describe.skipIf(!postgres.available)('thread endpoints on PostgreSQL', () => {
  let database: TestDatabase;
  const servers: TestServer[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('endpoints');
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('two instances on one database see the same threads, and a delete on one is seen by the other', async () => {
    const [one, two] = await Promise.all([
      startTestServer({ config: { databaseUrl: database.url } }),
      startTestServer({ config: { databaseUrl: database.url } }),
    ]);
    servers.push(one, two);
    expect(one.app.context.threads.kind).toBe('postgres');
    await seedTurn(one, 'shared', undefined, 'from instance one', 'ok');
    const seen = (await json(await fetch(`${two.url}/api/threads/shared`))) as { messages: { content: string }[] };
    expect(seen.messages.map((message) => message.content)).toEqual(['from instance one', 'ok']);
    expect((await fetch(`${two.url}/api/threads/shared`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${one.url}/api/threads/shared`)).status).toBe(404);
  });

  it('answers 503 store_unavailable with Retry-After while PostgreSQL is down, and serves again when it is back', async () => {
    const proxy = await startTcpProxy(5432);
    try {
      const url = new URL(database.url);
      url.port = String(proxy.port);
      const server = await startTestServer({ config: { databaseUrl: url.toString() } });
      servers.push(server);
      await seedTurn(server, 'outage', undefined, 'before', 'ok');
      await proxy.stop();
      const down = await fetch(`${server.url}/api/threads`);
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('1');
      expect(await json(down)).toEqual({
        error: {
          code: 'store_unavailable',
          message: 'The conversation store is unavailable right now; retry shortly.',
        },
      });
      // The process is unaffected: its other endpoints answer.
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      await proxy.start();
      const back = (await json(await fetch(`${server.url}/api/threads`))) as { threads: { id: string }[] };
      expect(back.threads.map((thread) => thread.id)).toContain('outage');
    } finally {
      await proxy.close();
    }
  });

  it('refuses to start, naming the database, when PostgreSQL cannot be reached', async () => {
    const proxy = await startTcpProxy(5432);
    const url = new URL(database.url);
    url.port = String(proxy.port);
    await proxy.close();
    await expect(startTestServer({ config: { databaseUrl: url.toString() } })).rejects.toMatchObject({
      code: 'store_unavailable',
      message: expect.stringMatching(
        new RegExp(
          `Cannot open the thread database \\(PostgreSQL 127\\.0\\.0\\.1:${proxy.port}/${database.name}, from DATABASE_URL\\)`,
        ),
      ),
    });
  });
});
