/**
 * `GET /ws/stream` end to end over real loopback sockets: the reference route (`ws`, noServer +
 * handleUpgrade) in front of the library session and a real run registry.
 */

import { encodeBearerProtocol, encodeSseEvent, WEBSOCKET_PROTOCOL } from 'streamwell/protocol';
import { createDemoProvider } from 'streamwell/server';
import { afterEach, describe, expect, it } from 'vitest';
import {
  countCalls,
  type Frame,
  ids,
  openClient,
  pacedProvider,
  startWsServer,
  type TestClient,
  WORDS,
  type WsServer,
} from './ws-harness.ts';

const REPLY = WORDS.join('');
let server: WsServer | undefined;
const clients: TestClient[] = [];

async function setup(options: Parameters<typeof startWsServer>[0] = {}): Promise<WsServer> {
  server = await startWsServer(options);
  return server;
}

async function client(protocols: string[] = [], options = {}): Promise<TestClient> {
  const opened = await openClient((server as WsServer).url, protocols, options);
  clients.push(opened);
  return opened;
}

async function started(socket: TestClient, message: Record<string, unknown> = {}): Promise<string> {
  const before = socket.frames.length;
  socket.send({ type: 'start', message: 'hello', ...message });
  const start = await socket.waitFor((frame) => frame.event === 'start' && socket.frames.indexOf(frame) >= before);
  return start.streamId as string;
}

afterEach(async () => {
  for (const opened of clients.splice(0)) opened.socket.terminate();
  await server?.close();
  server = undefined;
});

describe('start', () => {
  it('streams one frame per event with the SSE id, name and data, ending in done', async () => {
    await setup();
    const socket = await client();
    const streamId = await started(socket);
    const done = await socket.terminal(streamId);
    expect(done).toMatchObject({ event: 'done', data: { finishReason: 'stop', tokens: WORDS.length } });
    const events = socket.events(streamId);
    expect(events[0]).toMatchObject({ id: 1, event: 'start', data: { streamId, protocol: 1 } });
    expect(socket.text(streamId)).toBe(REPLY);
    // Same id, name and data as the SSE event the run keeps.
    const run = server?.registry.get(streamId, undefined);
    const sse = run?.eventsAfter(undefined).map((event) => encodeSseEvent(event.id, event.event, event.json));
    expect(
      events.map((frame) => encodeSseEvent(frame.id as number, frame.event as string, JSON.stringify(frame.data))),
    ).toEqual(sse);
    expect(Object.keys(events[1] as Frame)).toEqual(['streamId', 'id', 'event', 'data']);
  });

  it('honours the idempotency key: the same key gives the same stream, no second model call', async () => {
    const { provider, calls } = countCalls(pacedProvider());
    await setup({ provider });
    const socket = await client();
    const first = await started(socket, { idempotencyKey: 'k-1' });
    const second = await started(socket, { idempotencyKey: 'k-1' });
    expect(second).toBe(first);
    await socket.terminal(first);
    expect(calls()).toBe(1);
    socket.send({ type: 'start', message: 'different', idempotencyKey: 'k-1', requestId: 'r9' });
    const conflict = await socket.waitFor((frame) => frame.type === 'error');
    expect(conflict).toMatchObject({ error: { code: 'idempotency_conflict' }, requestId: 'r9' });
  });
});

describe('resume', () => {
  it('continues after a dropped socket from the last id: no gap, no duplicate, no second model call', async () => {
    await setup({ provider: pacedProvider(15) });
    const first = await client();
    const streamId = await started(first);
    await first.waitFor((frame) => frame.event === 'token' && (frame.id as number) >= 5);
    first.socket.terminate();
    const seen = first.events(streamId);
    const lastId = seen[seen.length - 1]?.id as number;

    const second = await client();
    second.send({ type: 'resume', streamId, after: lastId });
    await second.terminal(streamId);
    const rest = second.events(streamId);
    expect(rest[0]?.id).toBe(lastId + 1);
    const all = [...ids(seen), ...ids(rest)];
    expect(all).toEqual([...all].sort((a, b) => a - b));
    expect(new Set(all).size).toBe(all.length);
    expect(first.text(streamId) + second.text(streamId)).toBe(REPLY);
  });

  it('replays the whole run without a cursor, also after it finished, and says "ended" at the end', async () => {
    await setup();
    const socket = await client();
    const streamId = await started(socket);
    const done = await socket.terminal(streamId);

    const replay = await client();
    replay.send({ type: 'resume', streamId });
    await replay.terminal(streamId);
    expect(ids(replay.events(streamId))).toEqual(ids(socket.events(streamId)));

    replay.send({ type: 'resume', streamId, after: String(done.id) });
    expect(await replay.waitFor((frame) => frame.type === 'ended')).toEqual({
      type: 'ended',
      streamId,
      lastEventId: done.id,
    });
  });

  it('answers not_found for an unknown stream and keeps the socket usable', async () => {
    await setup();
    const socket = await client();
    socket.send({ type: 'resume', streamId: 'nope', after: 3 });
    expect(await socket.waitFor((frame) => frame.type === 'error')).toMatchObject({
      streamId: 'nope',
      error: { code: 'not_found' },
    });
    const streamId = await started(socket);
    expect((await socket.terminal(streamId)).event).toBe('done');
  });
});

describe('cancel', () => {
  it('stops the run and the model call; a second cancel is acknowledged with the final status', async () => {
    let aborted = false;
    // The first token at once, the next a minute later: the cancel always finds the run going.
    const provider = pacedProvider(60_000);
    await setup({
      provider: {
        ...provider,
        stream: (request) => {
          request.signal.addEventListener('abort', () => {
            aborted = true;
          });
          return provider.stream(request);
        },
      },
    });
    const socket = await client();
    const streamId = await started(socket);
    await socket.waitFor((frame) => frame.event === 'token');
    socket.send({ type: 'cancel', streamId });
    expect(await socket.terminal(streamId)).toMatchObject({ event: 'done', data: { finishReason: 'cancelled' } });
    expect(await socket.waitFor((frame) => frame.type === 'cancelled')).toEqual({
      type: 'cancelled',
      streamId,
      status: 'cancelled',
    });
    expect(aborted).toBe(true);
    socket.send({ type: 'cancel', streamId });
    expect(await socket.waitForNth((frame) => frame.type === 'cancelled', 2)).toMatchObject({ status: 'cancelled' });
    expect(socket.events(streamId).filter((frame) => frame.event === 'done')).toHaveLength(1);
  });
});

describe('several streams per socket', () => {
  it('interleaves streams by streamId; cancelling one leaves the other untouched', async () => {
    await setup({ provider: pacedProvider(10) });
    const socket = await client();
    const [a, b, c] = [await started(socket), await started(socket), await started(socket)];
    await socket.waitFor((frame) => frame.streamId === b && frame.event === 'token');
    socket.send({ type: 'cancel', streamId: b });
    const [doneA, doneB, doneC] = await Promise.all([socket.terminal(a), socket.terminal(b), socket.terminal(c)]);
    expect(doneA.data?.finishReason).toBe('stop');
    expect(doneB.data?.finishReason).toBe('cancelled');
    expect(doneC.data?.finishReason).toBe('stop');
    expect(socket.text(a)).toBe(REPLY);
    expect(socket.text(c)).toBe(REPLY);
    // Interleaved on the wire, yet each stream's ids are strictly increasing.
    for (const streamId of [a, b, c]) {
      const streamIds = ids(socket.events(streamId));
      expect(streamIds).toEqual([...streamIds].sort((x, y) => x - y));
    }
    const order = socket.frames.filter((frame) => frame.event === 'token').map((frame) => frame.streamId);
    expect(order.indexOf(c)).toBeLessThan(order.lastIndexOf(a));
  });

  it('limits the streams one socket may follow', async () => {
    // Runs that outlast the test: the first two are still open when the third is asked for.
    await setup({ provider: pacedProvider(60_000), route: { maxStreamsPerSocket: 2 } });
    const socket = await client();
    await started(socket);
    await started(socket);
    socket.send({ type: 'start', message: 'third', requestId: 'r3' });
    expect(await socket.waitFor((frame) => frame.type === 'error')).toMatchObject({
      requestId: 'r3',
      error: { code: 'too_many_streams' },
    });
  });
});

describe('validation', () => {
  it('answers bad input with error frames and stable codes, never closing the other streams', async () => {
    await setup({ provider: pacedProvider(10), route: { maxMessageChars: 20 } });
    const socket = await client();
    const streamId = await started(socket);
    socket.socket.send('{not json');
    socket.send({ type: 'launch' });
    socket.send({ type: 'start', message: '   ' });
    socket.send({ type: 'start', message: 'x'.repeat(21) });
    socket.send({ type: 'resume', streamId, after: -1 });
    socket.send(['start']);
    socket.socket.send(Buffer.from('{"type":"start"}'), { binary: true });
    await socket.terminal(streamId);
    const codes = socket.frames.filter((frame) => frame.type === 'error').map((frame) => frame.error?.code);
    expect(codes).toEqual([
      'invalid_json',
      'bad_request',
      'empty_message',
      'message_too_long',
      'invalid_cursor',
      'bad_request',
      'bad_request',
    ]);
    expect(socket.text(streamId)).toBe(REPLY);
    expect(socket.socket.readyState).toBe(socket.socket.OPEN);
  });

  it('closes with 1009 when a message exceeds maxPayload, and the server keeps serving', async () => {
    await setup({ route: { maxPayloadBytes: 1024 } });
    const socket = await client();
    socket.send({ type: 'start', message: 'x'.repeat(2000) });
    expect((await socket.closed).code).toBe(1009);
    const next = await client();
    const streamId = await started(next);
    expect((await next.terminal(streamId)).event).toBe('done');
  });
});

describe('auth and origin', () => {
  it('refuses an upgrade without a valid credential with 401 and a JSON body', async () => {
    await setup({ apiKeys: ['key-1'] });
    await expect(client()).rejects.toMatchObject({ status: 401, body: expect.stringContaining('"unauthorized"') });
    await expect(client([], { headers: { authorization: 'Bearer wrong' } })).rejects.toMatchObject({ status: 401 });
  });

  it('accepts the key as bearer header or as subprotocol, and answers streamwell.v1, never the key', async () => {
    await setup({ apiKeys: ['key-1', 'key-2'] });
    const viaHeader = await client([], { headers: { authorization: 'Bearer key-1' } });
    const viaProtocol = await client([WEBSOCKET_PROTOCOL, encodeBearerProtocol('key-1')]);
    expect(viaProtocol.socket.protocol).toBe(WEBSOCKET_PROTOCOL);
    const streamId = await started(viaHeader);
    viaProtocol.send({ type: 'resume', streamId });
    expect((await viaProtocol.terminal(streamId)).event).toBe('done');

    // Another principal cannot see, resume or cancel it.
    const other = await client([WEBSOCKET_PROTOCOL, encodeBearerProtocol('key-2')]);
    other.send({ type: 'resume', streamId });
    other.send({ type: 'cancel', streamId });
    await other.waitForNth((frame) => frame.type === 'error', 2);
    expect(other.frames.map((frame) => frame.error?.code)).toEqual(['not_found', 'not_found']);
  });

  it('refuses a foreign Origin with 403 before any model call; allows its own and allowlisted origins', async () => {
    const { provider, calls } = countCalls(pacedProvider());
    await setup({ origins: ['https://app.example'], provider });
    await expect(client([], { origin: 'https://evil.example' })).rejects.toMatchObject({
      status: 403,
      body: expect.stringContaining('"origin_not_allowed"'),
    });
    await client([], { origin: 'https://app.example' });
    await client([], { origin: `http://127.0.0.1:${server?.port}` });
    await client();
    expect(calls()).toBe(0);
  });

  it('answers 404 for another upgrade path', async () => {
    await setup();
    const url = (server as WsServer).url.replace('/ws/stream', '/ws/other');
    await expect(openClient(url)).rejects.toMatchObject({ status: 404 });
  });
});

describe('heartbeat', () => {
  it('terminates a peer that stops answering pings, which detaches its subscriber', async () => {
    // A run that outlasts the test: it is still going when the peer is terminated.
    await setup({ provider: pacedProvider(60_000), route: { heartbeatMs: 40 } });
    const socket = await client([], { autoPong: false });
    const streamId = await started(socket);
    const { code } = await socket.closed;
    expect(code).toBe(1006); // terminated: no closing handshake
    const run = server?.registry.get(streamId, undefined);
    expect(run?.subscriberCount).toBe(0);
    expect(run?.status).toBe('running'); // the disconnect grace decides, not the socket
  });

  it('sends heartbeat frames on a quiet stream, before the first token too', async () => {
    await setup({
      provider: createDemoProvider({ firstTokenDelayMs: 300, tokenIntervalMs: 0, reply: () => 'late' }),
      route: { heartbeatMs: 40 },
    });
    const socket = await client();
    const streamId = await started(socket);
    await socket.terminal(streamId);
    const firstToken = socket.frames.findIndex((frame) => frame.event === 'token');
    const beats = socket.frames.slice(0, firstToken).filter((frame) => frame.type === 'heartbeat');
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(beats[0]).toEqual({ type: 'heartbeat' });
  });

  it('keeps a peer that answers pings across many intervals', async () => {
    await setup({ provider: pacedProvider(20), route: { heartbeatMs: 40 } });
    const socket = await client();
    const streamId = await started(socket);
    expect((await socket.terminal(streamId)).event).toBe('done'); // 30 tokens x 20 ms > 10 intervals
    expect(socket.socket.readyState).toBe(socket.socket.OPEN);
  });
});
