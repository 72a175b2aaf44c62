/**
 * The stream endpoints of the reference server over real loopback HTTP: start, every event, resume
 * from every position (during and after the run), cancel, idempotency, concurrency limit, auth and
 * ownership.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/until.ts';
import { createScriptedProvider } from './helpers/scripted-provider.ts';
import { postMessage, type ReceivedEvent, readSse, resumeStream, textOf } from './helpers/sse-client.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const TOKENS = ['Hel', 'lo', ',', ' wor', 'ld', '!', ' ✓', ' "quoted"\n'];

async function completedRun(checkpointEvery = 3) {
  const scripted = createScriptedProvider({ autoReply: TOKENS });
  server = await startTestServer({ provider: scripted.provider, config: { checkpointEvery } });
  const response = await postMessage(server.url, { message: 'hi' });
  const read = await readSse(response);
  return { scripted, response, read, server };
}

describe('POST /api/stream/message', () => {
  it('answers 200 text/event-stream with X-Stream-Id, anti-buffering headers and every event', async () => {
    const { response, read } = await completedRun();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(response.headers.get('vary')).toMatch(/Origin/);
    const streamId = response.headers.get('x-stream-id');
    expect(streamId).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const names = read.events.map((event) => event.event);
    expect(names).toEqual([
      'start',
      'token',
      'token',
      'token',
      'checkpoint',
      'token',
      'token',
      'token',
      'checkpoint',
      'token',
      'token',
      'done',
    ]);
    const ids = read.events.map((event) => event.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(read.events[0]?.data).toMatchObject({ streamId, protocol: 1, provider: 'scripted' });
    expect(typeof read.events[0]?.data.threadId).toBe('string');
    expect(read.events[4]?.data).toEqual({ type: 'checkpoint', tokens: 3 });
    expect(read.events.at(-1)?.data).toEqual({ finishReason: 'stop', tokens: TOKENS.length });
    expect(textOf(read.events)).toBe(TOKENS.join(''));
  });

  it('ends with an error event carrying a code when the model fails', async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider });
    const response = await postMessage(server.url, { message: 'hi' });
    const call = await scripted.call(0);
    call.tokens('par', 'tial');
    call.fail();
    const read = await readSse(response);
    expect(read.events.at(-1)).toMatchObject({ event: 'error', data: { code: 'upstream_error' } });
    expect(textOf(read.events)).toBe('partial');
  });

  it('continues a thread: the model sees the history', async () => {
    const scripted = createScriptedProvider({ autoReply: ['one'] });
    server = await startTestServer({ provider: scripted.provider });
    const first = await readSse(await postMessage(server.url, { message: 'first' }));
    const threadId = first.events[0]?.data.threadId as string;
    const second = await readSse(await postMessage(server.url, { message: 'second', threadId }));
    expect(second.events[0]?.data.threadId).toBe(threadId);
    expect(scripted.calls[1]?.request.messages.map((message) => message.content)).toEqual(['first', 'one', 'second']);
  });
});

describe('GET /api/streams/{id} (resume)', () => {
  it('replays the whole run from start without a cursor, also after completion', async () => {
    const { read, response, server: running } = await completedRun();
    const again = await readSse(await resumeStream(running.url, response.headers.get('x-stream-id') as string));
    expect(again.events).toEqual(read.events);
  });

  it('resumes after every id of a finished run with no loss or duplicate; 204 at the terminal event', async () => {
    const { read, response, server: running } = await completedRun();
    const streamId = response.headers.get('x-stream-id') as string;
    const last = read.events.at(-1) as ReceivedEvent;
    for (const seen of read.events) {
      const resumed = await resumeStream(running.url, streamId, { 'Last-Event-ID': String(seen.id) });
      if (seen.id === last.id) {
        expect(resumed.status).toBe(204);
        continue;
      }
      expect(resumed.status).toBe(200);
      const rest = await readSse(resumed);
      expect(rest.events).toEqual(read.events.filter((event) => event.id > seen.id));
    }
    // ?after= works the same; the header wins over it.
    const byQuery = await readSse(await resumeStream(running.url, streamId, {}, `?after=${read.events[2]?.id}`));
    expect(byQuery.events).toEqual(read.events.slice(3));
    const both = await readSse(
      await resumeStream(running.url, streamId, { 'Last-Event-ID': String(read.events[5]?.id) }, '?after=1'),
    );
    expect(both.events).toEqual(read.events.slice(6));
  });

  it('resumes at every position while the run is live: replay then live events, no gap, no duplicate', async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider, config: { checkpointEvery: 2 } });
    const original = await postMessage(server.url, { message: 'hi' });
    const streamId = original.headers.get('x-stream-id') as string;
    const call = await scripted.call(0);
    const readers: Promise<{ after: number; read: Awaited<ReturnType<typeof readSse>> }>[] = [];
    const originalRead = readSse(original);
    // After each token, attach a new subscriber at the newest id it could have seen.
    for (let index = 0; index < 6; index += 1) {
      call.tokens(`t${index} `);
      const snapshot = await readSse(await resumeStream(server.url, streamId), ({ events }) =>
        events.some((event) => event.event === 'token' && event.data.token === `t${index} `),
      );
      const after = (snapshot.events.at(-1) as ReceivedEvent).id;
      const resumed = await resumeStream(server.url, streamId, { 'Last-Event-ID': String(after) });
      expect(resumed.status).toBe(200);
      readers.push(readSse(resumed).then((read) => ({ after, read })));
    }
    call.tokens('end');
    call.end();
    const all = (await originalRead).events;
    expect(textOf(all)).toBe('t0 t1 t2 t3 t4 t5 end');
    for (const { after, read } of await Promise.all(readers)) {
      expect(read.events).toEqual(all.filter((event) => event.id > after));
    }
  });

  it('answers 404 JSON for an unknown stream and 400 for a cursor that is not an event id', async () => {
    const { response, server: running } = await completedRun();
    const unknown = await resumeStream(running.url, 'AAAAAAAAAAAAAAAAAAAAAAAA');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    const malformedId = await fetch(`${running.url}/api/streams/not%20an%20id`);
    expect(malformedId.status).toBe(404);
    const streamId = response.headers.get('x-stream-id') as string;
    for (const cursor of ['abc', '-1', '1.5', '99999']) {
      const bad = await resumeStream(running.url, streamId, { 'Last-Event-ID': cursor });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_cursor');
    }
  });
});

describe('POST /api/streams/{id}/cancel', () => {
  it('stops the run and the model call; the stream ends with done/cancelled; a second cancel answers the final status', async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider });
    const response = await postMessage(server.url, { message: 'hi' });
    const streamId = response.headers.get('x-stream-id') as string;
    const call = await scripted.call(0);
    call.tokens('abc', 'de');
    const reading = readSse(response);
    const run = server.app.context.localRuns.get(streamId, undefined);
    await until(() => run?.tokens === 2, 'the run took both tokens');
    const cancelled = await fetch(`${server.url}/api/streams/${streamId}/cancel`, { method: 'POST' });
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toEqual({
      streamId,
      status: 'cancelled',
      outcome: 'cancelled',
      tokens: 2,
      textLength: 5,
    });
    const read = await reading;
    expect(read.events.at(-1)).toMatchObject({ event: 'done', data: { finishReason: 'cancelled' } });
    expect(call.aborted).toBe(true);
    const again = await fetch(`${server.url}/api/streams/${streamId}/cancel`, { method: 'POST' });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ status: 'cancelled' });
    // A finished run's cancel leaves it as it was.
    const done = await completedRunOn(server, scripted);
    const late = await fetch(`${server.url}/api/streams/${done}/cancel`, { method: 'POST' });
    expect(await late.json()).toMatchObject({ status: 'complete', outcome: 'stop' });
    const unknown = await fetch(`${server.url}/api/streams/AAAAAAAAAAAAAAAAAAAAAAAA/cancel`, { method: 'POST' });
    expect(unknown.status).toBe(404);
  });
});

async function completedRunOn(
  running: TestServer,
  scripted: ReturnType<typeof createScriptedProvider>,
): Promise<string> {
  const response = await postMessage(running.url, { message: 'x' });
  const call = await scripted.call(scripted.calls.length === 0 ? 0 : scripted.calls.length - 1);
  call.tokens('fin');
  call.end();
  await readSse(response);
  return response.headers.get('x-stream-id') as string;
}

describe('limits and idempotency', () => {
  it('returns the same stream for the same Idempotency-Key without a second model call', async () => {
    const scripted = createScriptedProvider({ autoReply: ['once'] });
    server = await startTestServer({ provider: scripted.provider });
    const first = await postMessage(server.url, { message: 'hi' }, { 'Idempotency-Key': 'key-1' });
    const firstRead = await readSse(first);
    const second = await postMessage(server.url, { message: 'hi' }, { 'Idempotency-Key': 'key-1' });
    expect(second.status).toBe(200);
    expect(second.headers.get('x-stream-id')).toBe(first.headers.get('x-stream-id'));
    expect((await readSse(second)).events).toEqual(firstRead.events);
    expect(scripted.calls).toHaveLength(1);
    const conflict = await postMessage(server.url, { message: 'other' }, { 'Idempotency-Key': 'key-1' });
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as { error: { code: string } }).error.code).toBe('idempotency_conflict');
  });

  it('answers 429 with Retry-After past MAX_CONCURRENT_STREAMS, and accepts again when a run ends', async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider, config: { maxConcurrentStreams: 2 } });
    const first = await postMessage(server.url, { message: 'a' });
    await postMessage(server.url, { message: 'b' });
    const third = await postMessage(server.url, { message: 'c' });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await third.json()) as { error: { code: string } }).error.code).toBe('too_many_streams');
    expect(scripted.calls).toHaveLength(2);
    const call = await scripted.call(0);
    call.end();
    await readSse(first);
    const fourth = await postMessage(server.url, { message: 'd' });
    expect(fourth.status).toBe(200);
    await fourth.body?.cancel();
  });
});

describe('API_KEYS auth and ownership', () => {
  it('requires a key, and only the starting principal can resume or cancel', async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({
      provider: scripted.provider,
      config: {
        apiKeys: [
          { id: 'alice', key: 'sk-alice' },
          { id: 'bob', key: 'sk-bob' },
        ],
      },
    });
    const anonymous = await postMessage(server.url, { message: 'hi' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const wrong = await postMessage(server.url, { message: 'hi' }, { Authorization: 'Bearer sk-nope' });
    expect(wrong.status).toBe(401);
    expect(scripted.calls).toHaveLength(0);

    const alice = { Authorization: 'Bearer sk-alice' };
    const bob = { Authorization: 'Bearer sk-bob' };
    const started = await postMessage(server.url, { message: 'hi' }, alice);
    expect(started.status).toBe(200);
    const streamId = started.headers.get('x-stream-id') as string;
    await started.body?.cancel();
    expect((await resumeStream(server.url, streamId, bob)).status).toBe(404);
    expect((await resumeStream(server.url, streamId)).status).toBe(401);
    const bobCancel = await fetch(`${server.url}/api/streams/${streamId}/cancel`, { method: 'POST', headers: bob });
    expect(bobCancel.status).toBe(404);
    const resumed = await resumeStream(server.url, streamId, alice);
    expect(resumed.status).toBe(200);
    const call = await scripted.call(0);
    call.tokens('mine');
    call.end();
    expect(textOf((await readSse(resumed)).events)).toBe('mine');
  });
});
