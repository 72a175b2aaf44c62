/**
 * The connection caps of the reference server, over real loopback sockets: the server-wide caps on
 * open event streams (`MAX_OPEN_EVENT_STREAMS`) and WebSocket sockets (`MAX_OPEN_WEBSOCKETS`),
 * and the per-principal caps on running streams (`MAX_STREAMS_PER_PRINCIPAL`) and open stream
 * connections (`MAX_CONNECTIONS_PER_PRINCIPAL`). Each cap is hit, answered with its stable code
 * and `Retry-After`, and recovered: responses and sockets that are cut give their slots back,
 * counted exactly over many rounds of cuts.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/until.ts';
import { createScriptedProvider, type ScriptedProvider } from '../server/helpers/scripted-provider.ts';
import { postMessage, readSse, resumeStream } from '../server/helpers/sse-client.ts';
import { startTestServer, type TestServer } from '../server/helpers/test-server.ts';
import { openClient, type TestClient } from '../ws/ws-harness.ts';
import { scale } from './helpers/soak-mode.ts';

const TIMEOUT = scale(60_000, 1_800_000);
/** Rounds of "fill to the cap, cut everything" in the exact-count test. */
const CUT_ROUNDS = scale(8, 300);

let server: TestServer | undefined;
const clients: TestClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  await server?.close();
  server = undefined;
});

const KEYS = {
  apiKeys: [
    { id: 'alice', key: 'sk-alice' },
    { id: 'bob', key: 'sk-bob' },
  ],
};
const ALICE = { Authorization: 'Bearer sk-alice' };
const BOB = { Authorization: 'Bearer sk-bob' };

async function errorOf(response: Response): Promise<{ status: number; code: string; retryAfter: string | null }> {
  const body = (await response.json()) as { error: { code: string } };
  return { status: response.status, code: body.error.code, retryAfter: response.headers.get('retry-after') };
}

/** Opens a stream that stays open (the scripted model never ends unless told to). */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(`${url}/api/stream/message`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ message: 'hi' }),
    signal: controller.signal,
  });
  return { response, cut: () => controller.abort() };
}

function openSse(): number {
  return server?.app.context.connections.open('sse') ?? -1;
}

async function metrics(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

async function refusedUpgrade(url: string, headers: Record<string, string> = {}) {
  try {
    clients.push(await openClient(url, [], { headers }));
  } catch (error) {
    const refusal = error as Error & { status?: number; body?: string };
    return {
      status: refusal.status,
      code: (JSON.parse(refusal.body ?? '{}') as { error?: { code?: string } }).error?.code,
    };
  }
  throw new Error('the upgrade was accepted');
}

/** Sends a bare upgrade request and returns the HTTP answer (status and `Retry-After`). */
function upgradeAnswer(port: number): Promise<{ status: number | undefined; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/ws/stream',
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    request.on('response', (response) => {
      response.resume();
      const retryAfter = response.headers['retry-after'];
      resolve({ status: response.statusCode, retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined });
    });
    request.on('upgrade', (_response, socket) => {
      socket.destroy();
      reject(new Error('the upgrade was accepted'));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('server-wide cap on open event streams', () => {
  it('answers 503 too_many_connections with Retry-After past MAX_OPEN_EVENT_STREAMS, before any run starts', {
    timeout: TIMEOUT,
  }, async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider, config: { maxOpenEventStreams: 3 } });
    const open = [await openStream(server.url), await openStream(server.url), await openStream(server.url)];
    expect(open.map((stream) => stream.response.status)).toEqual([200, 200, 200]);
    const streamId = open[0]?.response.headers.get('x-stream-id') as string;

    const refused = await postMessage(server.url, { message: 'one too many' });
    expect(await errorOf(refused)).toEqual({ status: 503, code: 'too_many_connections', retryAfter: '2' });
    // A resume opens an event stream too.
    const resume = await resumeStream(server.url, streamId);
    expect(await errorOf(resume)).toEqual({ status: 503, code: 'too_many_connections', retryAfter: '2' });
    // The AI SDK chat endpoint shares the cap.
    const chat = await fetch(`${server.url}/api/chat`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        id: 'chat-1',
        messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'hi' }] }],
      }),
    });
    expect(await errorOf(chat)).toEqual({ status: 503, code: 'too_many_connections', retryAfter: '2' });
    // Refused before the run: the model was called for the three accepted streams only.
    expect(scripted.calls).toHaveLength(3);

    const text = await metrics(server.url);
    expect(text).toContain('streamwell_open_connections{kind="sse"} 3');
    expect(text).toContain('streamwell_connection_refusals_total{kind="sse",code="too_many_connections"} 3');

    // A response that ends (its run finished) frees its slot, as does one the client cuts.
    (await scripted.call(0)).end();
    await readSse(open[0]?.response as Response);
    open[1]?.cut();
    await until(() => openSse() === 1, 'two slots came back');
    const again = [await openStream(server.url), await openStream(server.url)];
    expect(again.map((stream) => stream.response.status)).toEqual([200, 200]);
    expect((await postMessage(server.url, { message: 'full again' })).status).toBe(503);
    for (const stream of [...open, ...again]) stream.cut();
    await until(() => openSse() === 0, 'every slot came back');
  });

  it('counts exactly: after rounds of filling the cap and cutting every response, all slots come back', {
    timeout: TIMEOUT,
  }, async () => {
    const scripted = createScriptedProvider();
    const cap = 5;
    server = await startTestServer({ provider: scripted.provider, config: { maxOpenEventStreams: cap } });
    let resumable: string | undefined;
    for (let round = 0; round < CUT_ROUNDS; round += 1) {
      // Fill with starts and (after the first round) resumes of a still-running stream.
      const streams = [];
      for (let index = 0; index < cap; index += 1) {
        if (resumable !== undefined && index % 2 === 1) {
          const controller = new AbortController();
          const response = await fetch(`${server.url}/api/streams/${resumable}`, { signal: controller.signal });
          streams.push({ response, cut: () => controller.abort() });
        } else streams.push(await openStream(server.url));
      }
      expect(streams.map((stream) => stream.response.status)).toEqual(Array(cap).fill(200));
      expect((await postMessage(server.url, { message: 'over' })).status).toBe(503);
      resumable ??= streams[0]?.response.headers.get('x-stream-id') ?? undefined;
      // Cut them all, half of them before a byte of the body was read.
      for (const stream of streams) stream.cut();
      await until(() => openSse() === 0, `round ${round}: every slot came back`);
    }
    expect(server.app.context.streams.openStreams).toBe(0);
  });
});

describe('server-wide cap on WebSocket sockets', () => {
  it('refuses an upgrade past MAX_OPEN_WEBSOCKETS with HTTP 503 JSON, and accepts again once a socket closed', {
    timeout: TIMEOUT,
  }, async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider, config: { maxOpenWebSockets: 2 } });
    const url = `${server.url.replace('http', 'ws')}/ws/stream`;
    const first = await openClient(url);
    const second = await openClient(url);
    clients.push(first, second);
    expect(await refusedUpgrade(url)).toEqual({ status: 503, code: 'too_many_connections' });
    // The refusal carries Retry-After (read off the raw answer).
    expect(await upgradeAnswer(server.port)).toMatchObject({ status: 503, retryAfter: '2' });
    // Event streams have their own cap: still open.
    const stream = await openStream(server.url);
    expect(stream.response.status).toBe(200);
    stream.cut();

    second.socket.close();
    await second.closed;
    await until(() => server?.app.context.connections.open('websocket') === 1, 'the closed socket gave its slot back');
    const third = await openClient(url);
    clients.push(third);
    // A cut (no closing handshake) frees its slot too.
    first.socket.terminate();
    await until(() => server?.app.context.connections.open('websocket') === 1, 'the cut socket gave its slot back');
    expect(await metrics(server.url)).toContain(
      'streamwell_connection_refusals_total{kind="websocket",code="too_many_connections"}',
    );
  });
});

describe('refused handshakes', () => {
  it("gives a refused handshake's slot back although the client never closes its side", {
    timeout: TIMEOUT,
  }, async () => {
    server = await startTestServer({ provider: createScriptedProvider().provider, config: { maxOpenWebSockets: 2 } });
    const port = server.port;
    // ws refuses these after our checks took a slot (a POST, a bad key): an attacker that keeps
    // its half of each connection open must not hold the slot.
    const requests = [
      'POST /ws/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      'GET /ws/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n',
    ];
    const halfOpen = await Promise.all(
      requests.map(
        (text) =>
          new Promise<{ answer: string; socket: import('node:net').Socket }>((resolve) => {
            const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => socket.write(text));
            let answer = '';
            socket.on('data', (chunk: Buffer) => {
              answer += chunk.toString('latin1');
            });
            socket.on('error', () => {});
            // The server's end of the answer; this side stays open.
            socket.once('end', () => resolve({ answer, socket }));
          }),
      ),
    );
    for (const { answer } of halfOpen) expect(answer).toMatch(/^HTTP\/1\.1 40[05] /);
    await until(
      () => server?.app.context.connections.open('websocket') === 0,
      'the refused handshakes gave their slots back',
    );
    const url = `${server.url.replace('http', 'ws')}/ws/stream`;
    const first = await openClient(url);
    const second = await openClient(url);
    clients.push(first, second);
    for (const { socket } of halfOpen) socket.destroy();
  });
});

describe('per-principal caps', () => {
  async function startWithKeys(config: Record<string, number>): Promise<ScriptedProvider> {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider, config: { ...KEYS, ...config } });
    return scripted;
  }

  it('answers 429 too_many_principal_streams past MAX_STREAMS_PER_PRINCIPAL; others are unaffected; an ended run frees it', {
    timeout: TIMEOUT,
  }, async () => {
    const scripted = await startWithKeys({ maxStreamsPerPrincipal: 2 });
    const url = server?.url as string;
    const a1 = await openStream(url, ALICE);
    const a2 = await openStream(url, ALICE);
    expect([a1.response.status, a2.response.status]).toEqual([200, 200]);
    expect(await errorOf(await postMessage(url, { message: 'third' }, ALICE))).toEqual({
      status: 429,
      code: 'too_many_principal_streams',
      retryAfter: '2',
    });
    // Over the WebSocket transport the same cap answers an error frame.
    const ws = await openClient(`${url.replace('http', 'ws')}/ws/stream`, [], { headers: ALICE });
    clients.push(ws);
    ws.send({ type: 'start', message: 'via ws' });
    const frame = await ws.waitFor((candidate) => candidate.type === 'error');
    expect((frame as { error?: { code?: string } }).error?.code).toBe('too_many_principal_streams');
    // Bob is not held back by Alice.
    const b1 = await openStream(url, BOB);
    expect(b1.response.status).toBe(200);
    // A cut connection does not free a running run (it keeps going for a resume)...
    a2.cut();
    expect((await postMessage(url, { message: 'still two running' }, ALICE)).status).toBe(429);
    // ...its end does.
    (await scripted.call(0)).end();
    await readSse(a1.response);
    const a3 = await openStream(url, ALICE);
    expect(a3.response.status).toBe(200);
    for (const stream of [a3, b1]) stream.cut();
  });

  it('answers 429 too_many_principal_connections past MAX_CONNECTIONS_PER_PRINCIPAL, event streams and sockets together', {
    timeout: TIMEOUT,
  }, async () => {
    await startWithKeys({ maxConnectionsPerPrincipal: 3 });
    const url = server?.url as string;
    const started = await openStream(url, ALICE);
    const streamId = started.response.headers.get('x-stream-id') as string;
    const resumed = await resumeStream(url, streamId, ALICE);
    expect(resumed.status).toBe(200);
    const ws = await openClient(`${url.replace('http', 'ws')}/ws/stream`, [], { headers: ALICE });
    clients.push(ws);
    // Alice holds three: a fourth of either kind is refused.
    expect(await errorOf(await resumeStream(url, streamId, ALICE))).toEqual({
      status: 429,
      code: 'too_many_principal_connections',
      retryAfter: '2',
    });
    expect(await refusedUpgrade(`${url.replace('http', 'ws')}/ws/stream`, ALICE)).toEqual({
      status: 429,
      code: 'too_many_principal_connections',
    });
    // Bob is unaffected.
    const bob = await openStream(url, BOB);
    expect(bob.response.status).toBe(200);
    // Closing the socket gives Alice one back.
    ws.socket.terminate();
    await until(() => server?.app.context.connections.openOf('alice') === 2, "alice's socket gave its slot back");
    const again = await resumeStream(url, streamId, ALICE);
    expect(again.status).toBe(200);
    await again.body?.cancel();
    await resumed.body?.cancel();
    started.cut();
    bob.cut();
    await until(() => server?.app.context.connections.openOf('alice') === 0, 'every slot of alice came back');
  });
});
