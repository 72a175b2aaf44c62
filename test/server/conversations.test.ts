/**
 * Durable conversations wired to the runs: each message is stored before the model is called,
 * the reply at checkpoints and at its end, and after a crash a reply whose run is gone is
 * `interrupted` with the text of its last checkpoint. Real server processes on loopback, a
 * SQLite file per test, the fake OpenAI upstream; the last suite shares Redis and PostgreSQL
 * between two instances.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_API_KEY, type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { createTestPrefix, deleteTestKeys, REDIS_URL, redisPart } from '../helpers/redis.ts';
import { startServer, stopServerProcesses } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';
import { bearer, pacedReply, pacedText, startPaced } from '../redis/helpers/instances.ts';
import type { ReceivedEvent } from './helpers/sse-client.ts';

const ALICE = 'alice-key-0123456789';
const BOB = 'bob-key-0123456789';

interface StoredMessage {
  readonly role: string;
  readonly content: string;
  readonly status: string;
  readonly streamId: string | null;
}

async function thread(
  baseUrl: string,
  threadId: string,
  key = ALICE,
): Promise<{ status: number; messages: StoredMessage[] }> {
  const response = await fetch(`${baseUrl}/api/threads/${threadId}`, { headers: bearer(key) });
  if (response.status !== 200) return { status: response.status, messages: [] };
  const body = (await response.json()) as { messages: StoredMessage[] };
  return { status: 200, messages: body.messages };
}

function threadIdOf(events: readonly ReceivedEvent[]): string {
  return String(events.find((event) => event.event === 'start')?.data.threadId);
}

describe('conversations on SQLite, one instance', () => {
  let fake: FakeOpenAI;
  let dir: string;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: pacedReply });
  });
  afterEach(async () => {
    await stopServerProcesses();
    rmSync(dir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await fake?.close();
  });

  function env(): Record<string, string> {
    dir = mkdtempSync(join(tmpdir(), 'streamwell-conversations-'));
    return {
      DATABASE_URL: `file:${join(dir, 'threads.db')}`,
      LLM_BASE_URL: fake.baseUrl,
      LLM_API_KEY: FAKE_API_KEY,
      API_KEYS: `alice:${ALICE},bob:${BOB}`,
      CHECKPOINT_EVERY: '3',
    };
  }

  it('stores two exchanges, survives a restart, and keeps another principal out before any model call', async () => {
    const variables = env();
    const server = await startServer(variables);
    const first = await startPaced(server.url, { tokens: 4, delayMs: 0 }, bearer(ALICE));
    await first.follower.terminal();
    const threadId = threadIdOf(first.follower.events);
    const second = await fetch(`${server.url}/api/stream/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(ALICE) },
      body: JSON.stringify({ message: 'again {"tokens":2,"delayMs":0}', threadId }),
    });
    expect(second.status).toBe(200);
    await second.text();
    await until(
      async () => (await thread(server.url, threadId)).messages.at(-1)?.status === 'complete',
      'second reply stored',
    );

    const requestsBefore = fake.generations.length;
    const intruder = await fetch(`${server.url}/api/stream/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(BOB) },
      body: JSON.stringify({ message: 'let me in {"tokens":2,"delayMs":0}', threadId }),
    });
    expect(intruder.status).toBe(404);
    expect(((await intruder.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect(fake.generations.length).toBe(requestsBefore);
    expect((await thread(server.url, threadId, BOB)).status).toBe(404);

    // The second request sent the first exchange as history.
    const history = (fake.generations.at(-1)?.body?.messages ?? []) as { role: string; content: string }[];
    expect(history.map((message) => message.role)).toEqual(['user', 'assistant', 'user']);
    expect(history[1]?.content).toBe(pacedText({ tokens: 4, delayMs: 0 }));

    await stopServerProcesses();
    const restarted = await startServer(variables);
    const stored = await thread(restarted.url, threadId);
    expect(stored.messages.map((message) => [message.role, message.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'complete'],
      ['user', 'complete'],
      ['assistant', 'complete'],
    ]);
    expect(stored.messages[1]?.content).toBe(' t0 t1 t2 t3');
    expect(stored.messages[3]?.content).toBe(' t0 t1');
    expect(stored.messages[1]?.streamId).toBe(first.streamId);
  }, 120_000);

  it('stores exactly the partial text of a cancelled reply', async () => {
    const server = await startServer(env());
    const reply = await startPaced(server.url, { tokens: 50, delayMs: 0, stallAfter: 5 }, bearer(ALICE));
    await reply.follower.waitFor(
      (events) => events.filter((event) => event.event === 'token').length === 5,
      '5 tokens',
    );
    const cancelled = await fetch(`${server.url}/api/streams/${reply.streamId}/cancel`, {
      method: 'POST',
      headers: bearer(ALICE),
    });
    expect(cancelled.status).toBe(200);
    await reply.follower.terminal();
    const threadId = threadIdOf(reply.follower.events);
    await until(
      async () => (await thread(server.url, threadId)).messages.at(-1)?.status === 'cancelled',
      'cancelled stored',
    );
    expect((await thread(server.url, threadId)).messages.at(-1)?.content).toBe(' t0 t1 t2 t3 t4');
  }, 120_000);

  it('after kill -9 mid-reply and a restart, the reply is interrupted with at least its checkpointed text', async () => {
    const variables = env();
    const server = await startServer(variables);
    const reply = await startPaced(server.url, { tokens: 50, delayMs: 0, stallAfter: 7 }, bearer(ALICE));
    await reply.follower.waitFor(
      (events) => events.filter((event) => event.event === 'token').length === 7,
      '7 tokens',
    );
    const threadId = threadIdOf(reply.follower.events);
    // The checkpoint after 6 tokens has reached the database before the crash.
    await until(
      async () => (await thread(server.url, threadId)).messages.at(-1)?.content === ' t0 t1 t2 t3 t4 t5',
      'checkpoint stored',
    );
    server.child.kill('SIGKILL');
    await server.exited;
    const restarted = await startServer(variables);
    const stored = (await thread(restarted.url, threadId)).messages.at(-1);
    expect(stored?.status).toBe('interrupted');
    expect(stored?.content.startsWith(' t0 t1 t2 t3 t4 t5')).toBe(true);
  }, 120_000);
});

const redis = redisPart();

describe.skipIf(!redis.available)('conversations on two instances sharing Redis and PostgreSQL', () => {
  let fake: FakeOpenAI;
  let database: TestDatabase;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: pacedReply });
    database = await createTestDatabase('conversations');
  }, 60_000);
  afterAll(async () => {
    await stopServerProcesses();
    await fake?.close();
    await database?.drop();
    await deleteTestKeys();
  });

  it('a thread started on A is listed, read and continued on B', async () => {
    const variables = {
      DATABASE_URL: database.url,
      REDIS_URL,
      REDIS_PREFIX: createTestPrefix(),
      LLM_BASE_URL: fake.baseUrl,
      LLM_API_KEY: FAKE_API_KEY,
      API_KEYS: `alice:${ALICE}`,
    };
    const [a, b] = await Promise.all([startServer(variables), startServer(variables)]);
    const first = await startPaced(a.url, { tokens: 3, delayMs: 0 }, bearer(ALICE));
    await first.follower.terminal();
    const threadId = threadIdOf(first.follower.events);
    await until(
      async () => (await thread(b.url, threadId)).messages.at(-1)?.status === 'complete',
      'reply visible on B',
    );
    const listed = (await (await fetch(`${b.url}/api/threads`, { headers: bearer(ALICE) })).json()) as {
      threads: { id: string }[];
    };
    expect(listed.threads.map((entry) => entry.id)).toContain(threadId);
    const second = await fetch(`${b.url}/api/stream/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(ALICE) },
      body: JSON.stringify({ message: 'on B {"tokens":2,"delayMs":0}', threadId }),
    });
    await second.text();
    await until(
      async () => (await thread(a.url, threadId)).messages[3]?.status === 'complete',
      'second exchange visible on A',
    );
    expect((await thread(a.url, threadId)).messages.map((message) => message.content)).toEqual([
      expect.stringContaining('"tokens":3'),
      ' t0 t1 t2',
      'on B {"tokens":2,"delayMs":0}',
      ' t0 t1',
    ]);
  }, 180_000);
});
