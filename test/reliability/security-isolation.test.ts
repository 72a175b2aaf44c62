/**
 * Security matrix, part 3: principal isolation across two real server processes sharing Redis
 * (`REDIS_URL`, a per-suite prefix) and PostgreSQL threads (`DATABASE_URL`, a database of its
 * own). Alice starts streams (SSE, AI SDK chat, ChatKit); Bob, on either instance, can neither
 * read, resume, cancel, delete nor list them, over SSE, the AI SDK chat routes, the WebSocket
 * transport, `/chatkit` and `/api/threads`, and every answer he gets is byte for byte the answer
 * to an id that exists nowhere (the id itself replaced): nothing tells him that the id exists.
 * Alice, on the other instance, still reads, resumes and lists all of it afterwards (the control
 * that the ids were right and that Bob's attempts changed nothing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callChatKit, streamChatKit, userInput } from '../chatkit/helpers/chatkit-client.ts';
import {
  FAKE_API_KEY,
  type FakeOpenAI,
  type FakeReply,
  type FakeRequest,
  startFakeOpenAI,
} from '../helpers/fake-openai.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { createTestPrefix, deleteTestKeys, REDIS_URL, redisPart } from '../helpers/redis.ts';
import { type ServerProcess, startServer, stopServerProcesses } from '../helpers/server-process.ts';
import { postgresPart } from '../helpers/system-part.ts';
import { bearer, SseFollower, within } from '../redis/helpers/instances.ts';
import { openClient, type TestClient } from '../ws/ws-harness.ts';
import { randomStreamId, rawRequest } from './helpers/security-http.ts';
import { scale } from './helpers/soak-mode.ts';

const redis = redisPart();
const postgres = postgresPart();
const ALICE = 'sk-alice-isolation-5d1e8c2a9b7f';
const BOB = 'sk-bob-isolation-3c6a0f4e2d1b';
const TIMEOUT = scale(120_000, 600_000);
const STARTUP_TIMEOUT = 300_000;

/** Replies as the message's trailing JSON says (`{"tokens":N,"stallAfter":M}`), else 3 tokens. */
function scripted(request: FakeRequest): FakeReply {
  const messages = (request.body?.messages ?? []) as Array<{ content?: unknown }>;
  const content = JSON.stringify(messages.at(-1)?.content ?? '');
  const match = /\{\\"tokens\\":(\d+)(?:,\\"stallAfter\\":(\d+))?\}/.exec(content);
  const tokens = Number(match?.[1] ?? 3);
  const stall = match?.[2];
  return {
    tokens: Array.from({ length: tokens }, (_, index) => ` t${index}`),
    ...(stall === undefined ? {} : { stallAfterTokens: Number(stall) }),
  };
}

/** An answer with the probed id replaced, for comparison with the answer to a random id. */
function normalized(answer: { status: number; body: string; headers: Record<string, unknown> }, id: string) {
  return {
    status: answer.status,
    type: answer.headers['content-type'],
    body: answer.body.split(id).join('<id>'),
  };
}

describe.skipIf(!redis.available || !postgres.available)(
  'principal isolation on two instances (Redis + PostgreSQL)',
  () => {
    let fake: FakeOpenAI;
    let database: TestDatabase;
    let x: ServerProcess;
    let y: ServerProcess;
    const sockets: TestClient[] = [];

    beforeAll(async () => {
      fake = await startFakeOpenAI({ reply: scripted });
      database = await createTestDatabase('security_isolation');
      const env = {
        REDIS_URL,
        REDIS_PREFIX: createTestPrefix(),
        DATABASE_URL: database.url,
        LLM_BASE_URL: fake.baseUrl,
        LLM_API_KEY: FAKE_API_KEY,
        API_KEYS: `alice:${ALICE},bob:${BOB}`,
      };
      // Together: the migrator's advisory lock lets one of them migrate. Starting a Node process
      // costs seconds of CPU; a loaded 2-core machine needs the long bound.
      [x, y] = await Promise.all([startServer(env), startServer(env)]);
    }, STARTUP_TIMEOUT);

    afterAll(async () => {
      for (const socket of sockets.splice(0)) socket.socket.terminate();
      await stopServerProcesses();
      await fake?.close();
      await deleteTestKeys();
      await database?.drop();
    });

    async function connect(server: ServerProcess, key: string): Promise<TestClient> {
      const socket = await openClient(`ws://127.0.0.1:${server.port}/ws/stream`, [], { headers: bearer(key) });
      sockets.push(socket);
      return socket;
    }

    it(
      "Bob can neither read, resume, cancel, delete nor list Alice's streams and threads, on either instance, and cannot tell they exist",
      async () => {
        // Alice, on x: a finished stream, a running one (stalled after 2 tokens), an AI SDK chat
        // and a ChatKit thread.
        const post = (body: unknown) =>
          fetch(`${x.url}/api/stream/message`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...bearer(ALICE) },
            body: JSON.stringify(body),
          });
        const finished = new SseFollower(await post({ message: 'one {"tokens":3}' }), 'finished');
        const finishedEnd = await finished.terminal();
        expect(finishedEnd.event).toBe('done');
        const finishedId = String(finished.events[0]?.data.streamId);
        const threadId = String(finished.events[0]?.data.threadId);
        const running = new SseFollower(await post({ message: 'two {"tokens":9,"stallAfter":2}' }), 'running');
        await running.waitFor((events) => events.filter((event) => event.event === 'token').length >= 2, 'two tokens');
        const runningId = String(running.events[0]?.data.streamId);

        const chatId = randomStreamId();
        const chat = await fetch(`${x.url}/api/chat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...bearer(ALICE) },
          body: JSON.stringify({
            id: chatId,
            trigger: 'submit-message',
            messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'three {"tokens":3}' }] }],
          }),
        });
        expect(chat.status).toBe(200);
        await chat.text();

        const kit = await streamChatKit(
          `${x.url}/chatkit`,
          { type: 'threads.create', params: { input: userInput('four {"tokens":3}') } },
          { headers: bearer(ALICE) },
        );
        expect(kit.status).toBe(200);
        const kitThreadId = String(kit.events.find((event) => event.type === 'thread.created')?.thread.id);
        expect(kitThreadId).toMatch(/./);

        // Bob, on both instances: every probe of Alice's ids answers as a random id does.
        const probes: Array<{
          what: string;
          id: string;
          send: (id: string) => Promise<{ status: number; body: string; headers: Record<string, unknown> }>;
        }> = [];
        const http =
          (server: ServerProcess, method: string, path: (id: string) => string, body?: (id: string) => string) =>
          (id: string) =>
            rawRequest(server.port, {
              method,
              path: path(id),
              headers: { ...bearer(BOB), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
              ...(body === undefined ? {} : { body: body(id) }),
            });
        const kitCall = (type: string, extra: string) => (id: string) =>
          `{"type":"${type}","params":{"thread_id":"${id}"${extra}}}`;
        for (const server of [x, y]) {
          const on = server === x ? 'x' : 'y';
          for (const [label, id] of [
            ['finished stream', finishedId],
            ['running stream', runningId],
          ] as const) {
            probes.push(
              { what: `${on}: SSE resume of the ${label}`, id, send: http(server, 'GET', (i) => `/api/streams/${i}`) },
              {
                what: `${on}: SSE resume ?after=0 of the ${label}`,
                id,
                send: http(server, 'GET', (i) => `/api/streams/${i}?after=0`),
              },
              {
                what: `${on}: cancel of the ${label}`,
                id,
                send: http(server, 'POST', (i) => `/api/streams/${i}/cancel`),
              },
            );
          }
          probes.push(
            {
              what: `${on}: AI SDK chat resume`,
              id: chatId,
              send: http(server, 'GET', (i) => `/api/chat/${i}/stream`),
            },
            {
              what: `${on}: AI SDK chat cancel`,
              id: chatId,
              send: http(server, 'POST', (i) => `/api/chat/${i}/cancel`),
            },
          );
          for (const [label, id] of [
            ['stream thread', threadId],
            ['chat thread', chatId],
            ['ChatKit thread', kitThreadId],
          ] as const) {
            probes.push(
              {
                what: `${on}: GET /api/threads/:id of the ${label}`,
                id,
                send: http(server, 'GET', (i) => `/api/threads/${i}`),
              },
              {
                what: `${on}: DELETE /api/threads/:id of the ${label}`,
                id,
                send: http(server, 'DELETE', (i) => `/api/threads/${i}`),
              },
              {
                what: `${on}: ChatKit threads.get_by_id of the ${label}`,
                id,
                send: http(server, 'POST', () => '/chatkit', kitCall('threads.get_by_id', '')),
              },
              {
                what: `${on}: ChatKit items.list of the ${label}`,
                id,
                send: http(server, 'POST', () => '/chatkit', kitCall('items.list', ',"order":"asc"')),
              },
              {
                what: `${on}: ChatKit threads.update of the ${label}`,
                id,
                send: http(server, 'POST', () => '/chatkit', kitCall('threads.update', ',"title":"mine"')),
              },
              {
                what: `${on}: ChatKit threads.delete of the ${label}`,
                id,
                send: http(server, 'POST', () => '/chatkit', kitCall('threads.delete', '')),
              },
              {
                what: `${on}: ChatKit threads.add_user_message to the ${label}`,
                id,
                send: http(
                  server,
                  'POST',
                  () => '/chatkit',
                  kitCall('threads.add_user_message', `,"input":${JSON.stringify(userInput('hijack {"tokens":1}'))}`),
                ),
              },
            );
          }
        }
        for (const probe of probes) {
          const answer = await probe.send(probe.id);
          const random = randomStreamId();
          const control = await probe.send(random);
          // Refused (404); the AI SDK's resume says "no active stream" (204), its idempotent cancel
          // "nothing to cancel" (200, status none), ChatKit's idempotent delete `{}`: exactly as
          // for an id that exists nowhere (the controls below show nothing was cancelled or deleted).
          expect([204, 404, 200], probe.what).toContain(answer.status);
          if (probe.what.includes('chat cancel')) expect(answer.body, probe.what).toContain('"status":"none"');
          expect(answer.body, probe.what).not.toContain(' t1');
          expect(normalized(answer, probe.id), probe.what).toEqual(normalized(control, random));
        }

        // Writing into Alice's threads (start naming her thread id, over SSE and the AI SDK chat)
        // is refused with 404 and writes nothing. Known limit (docs/reliability.md): an id that
        // exists nowhere starts a new thread (clients choose chat ids), so this 404 tells Bob that
        // the id is taken; the ids are 144 random bits, and he learns nothing else.
        for (const server of [x, y]) {
          for (const id of [threadId, chatId, kitThreadId]) {
            const start = await rawRequest(server.port, {
              method: 'POST',
              path: '/api/stream/message',
              headers: { ...bearer(BOB), 'content-type': 'application/json' },
              body: JSON.stringify({ message: 'hijack {"tokens":1}', threadId: id }),
            });
            expect(start.status, `start in ${id}`).toBe(404);
            const chatStart = await rawRequest(server.port, {
              method: 'POST',
              path: '/api/chat',
              headers: { ...bearer(BOB), 'content-type': 'application/json' },
              body: JSON.stringify({
                id,
                trigger: 'submit-message',
                messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'hijack {"tokens":1}' }] }],
              }),
            });
            expect(chatStart.status, `chat in ${id}`).toBe(404);
          }
        }

        // Listing: Bob sees only his own threads, on both instances (REST and ChatKit).
        for (const server of [x, y]) {
          const list = await rawRequest(server.port, {
            method: 'GET',
            path: '/api/threads?limit=100',
            headers: bearer(BOB),
          });
          expect(list.status).toBe(200);
          for (const id of [threadId, chatId, kitThreadId]) expect(list.body).not.toContain(id);
          const kitList = await callChatKit(
            `${server.url}/chatkit`,
            { type: 'threads.list', params: { limit: 100, order: 'desc' } },
            { headers: bearer(BOB) },
          );
          expect(kitList.status).toBe(200);
          for (const id of [threadId, chatId, kitThreadId]) expect(JSON.stringify(kitList.json)).not.toContain(id);
        }

        // WebSocket: resume and cancel of Alice's streams answer as for random ids, on both.
        for (const server of [x, y]) {
          const bob = await connect(server, BOB);
          for (const id of [finishedId, runningId]) {
            for (const type of ['resume', 'cancel'] as const) {
              const random = randomStreamId();
              bob.send({ type, streamId: id, ...(type === 'resume' ? { after: 0 } : {}) });
              bob.send({ type, streamId: random, ...(type === 'resume' ? { after: 0 } : {}) });
              const [mine, control] = await within(
                Promise.all([
                  bob.waitFor((frame) => frame.streamId === id && frame.type === 'error'),
                  bob.waitFor((frame) => frame.streamId === random),
                ]),
                `${type} answers`,
              );
              expect(mine.error?.code, `${type} ${id}`).toBe('not_found');
              expect(JSON.stringify(mine).split(id).join('<id>')).toBe(
                JSON.stringify(control).split(random).join('<id>'),
              );
              expect(bob.events(id)).toEqual([]);
            }
          }
        }

        // Controls: Alice, on the other instance, still has all of it, and the running stream runs.
        const resumed = await rawRequest(y.port, {
          method: 'GET',
          path: `/api/streams/${finishedId}`,
          headers: bearer(ALICE),
        });
        expect(resumed.status).toBe(200);
        expect(resumed.body).toContain(' t2');
        const aliceList = await rawRequest(y.port, {
          method: 'GET',
          path: '/api/threads?limit=100',
          headers: bearer(ALICE),
        });
        for (const id of [threadId, chatId, kitThreadId]) expect(aliceList.body).toContain(id);
        const kitThread = await callChatKit(
          `${y.url}/chatkit`,
          { type: 'threads.get_by_id', params: { thread_id: kitThreadId } },
          { headers: bearer(ALICE) },
        );
        expect(kitThread.status).toBe(200);
        expect(running.events.some((event) => event.event === 'done' || event.event === 'error')).toBe(false);
        const cancel = await rawRequest(y.port, {
          method: 'POST',
          path: `/api/streams/${runningId}/cancel`,
          headers: bearer(ALICE),
        });
        expect(cancel.status).toBe(200);
        expect((await running.terminal()).event).toMatch(/done|error/);
        // Nothing of Bob's landed in Alice's threads.
        for (const id of [threadId, chatId]) {
          const thread = await rawRequest(x.port, {
            method: 'GET',
            path: `/api/threads/${id}`,
            headers: bearer(ALICE),
          });
          expect(thread.status).toBe(200);
          expect(thread.body).not.toContain('hijack');
        }
        const kitItems = await callChatKit(
          `${x.url}/chatkit`,
          { type: 'items.list', params: { thread_id: kitThreadId, order: 'asc' } },
          { headers: bearer(ALICE) },
        );
        expect(kitItems.status).toBe(200);
        expect(JSON.stringify(kitItems.json)).not.toContain('hijack');
        const bobList = await rawRequest(x.port, {
          method: 'GET',
          path: '/api/threads?limit=100',
          headers: bearer(BOB),
        });
        for (const id of [threadId, chatId, kitThreadId]) expect(bobList.body).not.toContain(id);
      },
      TIMEOUT,
    );
  },
);
