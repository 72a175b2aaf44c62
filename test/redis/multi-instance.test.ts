/**
 * Two real reference-server processes sharing one Redis (`REDIS_URL`, a per-suite
 * `REDIS_PREFIX`), with the fake OpenAI upstream in the test process (it records each model
 * request and whether its client went away). A stream started on A is resumed on B from every
 * kind of cursor with the same ids, names and data; cancelled through B, which stops A's
 * upstream request; deduplicated by `Idempotency-Key` on B without a second model call; hidden
 * from another principal on B; and the WebSocket transport on B resumes and cancels it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_API_KEY, type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';
import { createTestPrefix, deleteTestKeys, REDIS_URL, redisPart } from '../helpers/redis.ts';
import { type ServerProcess, startServer, stopServerProcesses } from '../helpers/server-process.ts';
import { type ReceivedEvent, textOf } from '../server/helpers/sse-client.ts';
import { openClient, type TestClient } from '../ws/ws-harness.ts';
import {
  bearer,
  followResume,
  type PacedScript,
  pacedReply,
  pacedText,
  SseFollower,
  startPaced,
  within,
} from './helpers/instances.ts';

const redis = redisPart();
const ALICE = 'sk-alice-multi-instance';
const BOB = 'sk-bob-multi-instance';

// Generous bounds: every wait is on an event, and a 2-core machine under load is slow to start
// Node processes (each start costs about 2.5 CPU seconds).
describe.skipIf(!redis.available)('two instances sharing Redis', { timeout: 60_000 }, () => {
  let fake: FakeOpenAI;
  let a: ServerProcess;
  let b: ServerProcess;
  const sockets: TestClient[] = [];

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: pacedReply });
    const env = {
      REDIS_URL,
      REDIS_PREFIX: createTestPrefix(),
      LLM_BASE_URL: fake.baseUrl,
      LLM_API_KEY: FAKE_API_KEY,
      API_KEYS: `alice:${ALICE},bob:${BOB}`,
    };
    [a, b] = await Promise.all([startServer(env), startServer(env)]);
  }, 180_000);

  afterAll(async () => {
    for (const socket of sockets.splice(0)) socket.socket.terminate();
    await stopServerProcesses();
    await fake?.close();
    await deleteTestKeys();
  });

  /** Starts a paced stream on `server` as `key` and follows the reply. */
  const start = (server: ServerProcess, script: PacedScript, headers: Record<string, string> = {}, key = ALICE) =>
    startPaced(server.url, script, { ...bearer(key), ...headers });

  const resume = (server: ServerProcess, streamId: string, headers: Record<string, string> = {}, query = '') =>
    followResume(server.url, streamId, { ...bearer(ALICE), ...headers }, query);

  async function connect(server: ServerProcess, key: string): Promise<TestClient> {
    const socket = await openClient(`ws://127.0.0.1:${server.port}/ws/stream`, [], { headers: bearer(key) });
    sockets.push(socket);
    return socket;
  }

  const after = (events: readonly ReceivedEvent[], cursor: number): ReceivedEvent[] =>
    events.filter((event) => event.id > cursor);

  it("resumes on B from every kind of cursor, with exactly A's ids, names and data", async () => {
    const script = { tokens: 40, delayMs: 25 };
    const { streamId, follower: onA } = await start(a, script);
    await onA.seen(6);
    // While A is still producing: no cursor, Last-Event-ID, ?after=, and both (the header wins).
    const live = await Promise.all([
      resume(b, streamId),
      resume(b, streamId, { 'last-event-id': '3' }),
      resume(b, streamId, {}, '?after=4'),
      resume(b, streamId, { 'last-event-id': '2' }, '?after=6'),
    ]);
    for (const reader of live) expect(reader.response.status).toBe(200);
    await Promise.all([onA.terminal(), ...live.map((reader) => reader.terminal())]);
    await Promise.all([onA.closed, ...live.map((reader) => reader.closed)]);

    const events = onA.events;
    expect(events[0]).toMatchObject({ id: 1, event: 'start', data: { streamId } });
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { finishReason: 'stop' } });
    expect(textOf(events)).toBe(pacedText(script));
    const [none, header, query, both] = live as [SseFollower, SseFollower, SseFollower, SseFollower];
    expect(none.events).toEqual(events);
    expect(header.events).toEqual(after(events, 3));
    expect(query.events).toEqual(after(events, 4));
    expect(both.events).toEqual(after(events, 2));

    // After the end: the whole stream again, a tail, and 204 at the terminal event.
    const terminalId = (events.at(-1) as ReceivedEvent).id;
    const [again, tail] = await Promise.all([resume(b, streamId), resume(b, streamId, {}, '?after=5')]);
    await Promise.all([again.closed, tail.closed]);
    expect(again.events).toEqual(events);
    expect(tail.events).toEqual(after(events, 5));
    const atEnd = await fetch(`${b.url}/api/streams/${streamId}`, {
      headers: { ...bearer(ALICE), 'last-event-id': String(terminalId) },
    });
    expect(atEnd.status).toBe(204);
    expect(
      (await fetch(`${b.url}/api/streams/${streamId}?after=${terminalId}`, { headers: bearer(ALICE) })).status,
    ).toBe(204);
  });

  it("cancel through B stops the run on A and A's upstream request", async () => {
    const index = fake.generations.length;
    const { streamId, follower: onA } = await start(a, { tokens: 50, delayMs: 10, stallAfter: 3 });
    await onA.seen(4);
    const upstream = await fake.waitForRequest(index);
    const cancel = await fetch(`${b.url}/api/streams/${streamId}/cancel`, { method: 'POST', headers: bearer(ALICE) });
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toMatchObject({ streamId, status: 'cancelled' });
    expect(await onA.terminal()).toMatchObject({ event: 'done', data: { finishReason: 'cancelled' } });
    // The upstream saw its client go away (the model stops generating and billing).
    expect(await within(upstream.closed, 'the upstream request to close')).toEqual({ aborted: true });
    expect(fake.generations).toHaveLength(index + 1);
    // Idempotent through either instance.
    for (const server of [b, a]) {
      const again = await fetch(`${server.url}/api/streams/${streamId}/cancel`, {
        method: 'POST',
        headers: bearer(ALICE),
      });
      expect(again.status).toBe(200);
      expect(await again.json()).toMatchObject({ status: 'cancelled' });
    }
  });

  it("the same Idempotency-Key on B gives A's stream, without a second model call", async () => {
    const index = fake.generations.length;
    const key = `idem-${randomBytes(6).toString('hex')}`;
    const script = { tokens: 12, delayMs: 20 };
    const { streamId, follower: onA, message } = await start(a, script, { 'idempotency-key': key });
    await onA.seen(3);
    const again = await fetch(`${b.url}/api/stream/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key, ...bearer(ALICE) },
      body: JSON.stringify({ message }),
    });
    expect(again.status).toBe(200);
    expect(again.headers.get('x-stream-id')).toBe(streamId);
    const onB = new SseFollower(again, 'idempotent start on B');
    await Promise.all([onA.closed, onB.closed]);
    expect(onA.events.at(-1)).toMatchObject({ event: 'done' });
    expect(onB.events).toEqual(onA.events);
    expect(textOf(onB.events)).toBe(pacedText(script));
    expect(fake.generations).toHaveLength(index + 1);

    const conflict = await fetch(`${b.url}/api/stream/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key, ...bearer(ALICE) },
      body: JSON.stringify({ message: `${message} changed` }),
    });
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toMatchObject({ error: { code: 'idempotency_conflict' } });
    expect(fake.generations).toHaveLength(index + 1);
  });

  it('another principal gets 404 on B for the stream and its cancel', async () => {
    const script = { tokens: 10, delayMs: 20 };
    const { streamId, follower: onA } = await start(a, script);
    await onA.seen(2);
    const asBob = await fetch(`${b.url}/api/streams/${streamId}`, { headers: bearer(BOB) });
    expect(asBob.status).toBe(404);
    expect(await asBob.json()).toMatchObject({ error: { code: 'not_found' } });
    const bobCancels = await fetch(`${b.url}/api/streams/${streamId}/cancel`, {
      method: 'POST',
      headers: bearer(BOB),
    });
    expect(bobCancels.status).toBe(404);
    expect(await bobCancels.json()).toMatchObject({ error: { code: 'not_found' } });
    expect((await fetch(`${b.url}/api/streams/${streamId}`)).status).toBe(401);
    // The owner still can, and Bob's cancel did nothing.
    const asAlice = await resume(b, streamId);
    expect(asAlice.response.status).toBe(200);
    await Promise.all([onA.closed, asAlice.closed]);
    expect(onA.events.at(-1)).toMatchObject({ event: 'done', data: { finishReason: 'stop' } });
    expect(asAlice.events).toEqual(onA.events);
  });

  it("the WebSocket transport on B resumes and cancels A's stream", async () => {
    const index = fake.generations.length;
    const { streamId, follower: onA } = await start(a, { tokens: 50, delayMs: 10, stallAfter: 8 });
    // start 1, tokens 2…9, then the upstream stalls.
    await onA.seen(9);
    const upstream = await fake.waitForRequest(index);
    const socket = await connect(b, ALICE);
    socket.send({ type: 'resume', streamId, after: 2 });
    await within(
      socket.waitFor((frame) => frame.streamId === streamId && frame.id === 9),
      'event 9 over the WebSocket',
    );
    socket.send({ type: 'cancel', streamId });
    expect(
      await within(
        socket.waitFor((frame) => frame.type === 'cancelled'),
        'cancelled frame',
      ),
    ).toMatchObject({
      streamId,
      status: 'cancelled',
    });
    expect(await within(socket.terminal(streamId), 'terminal frame')).toMatchObject({
      event: 'done',
      data: { finishReason: 'cancelled' },
    });
    expect(await within(upstream.closed, 'the upstream request to close')).toEqual({ aborted: true });
    await onA.closed;
    const frames = (socket: TestClient) =>
      socket.events(streamId).map((frame) => ({ id: frame.id, event: frame.event, data: frame.data }));
    expect(frames(socket)).toEqual(after(onA.events, 2));

    // Replay of the ended stream over a new socket on B, the end of it, and another principal.
    const replay = await connect(b, ALICE);
    replay.send({ type: 'resume', streamId });
    await within(replay.terminal(streamId), 'terminal frame of the replay');
    expect(frames(replay)).toEqual(onA.events);
    const terminalId = (onA.events.at(-1) as ReceivedEvent).id;
    replay.send({ type: 'resume', streamId, after: terminalId });
    expect(
      await within(
        replay.waitFor((frame) => frame.type === 'ended'),
        'ended frame',
      ),
    ).toMatchObject({
      streamId,
      lastEventId: terminalId,
    });
    const bob = await connect(b, BOB);
    bob.send({ type: 'resume', streamId });
    expect(
      await within(
        bob.waitFor((frame) => frame.type === 'error'),
        'error frame',
      ),
    ).toMatchObject({
      streamId,
      error: { code: 'not_found' },
    });
  });
});
