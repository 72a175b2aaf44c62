/**
 * Slow and silent clients against the reference server, over raw loopback sockets: headers
 * dribbled in a byte at a time (slowloris), bodies dribbled in, connections that never send a
 * byte, keep-alive connections left idle, and WebSockets that never send anything. Each is cut
 * by its timeout (`HEADERS_TIMEOUT_MS`, `REQUEST_TIMEOUT_MS`, `KEEP_ALIVE_TIMEOUT_MS`,
 * `WS_IDLE_TIMEOUT_MS`) with a JSON `408 request_timeout` where the socket still allows a reply,
 * while a stream on the same server keeps streaming every token, in order.
 *
 * The timeouts are short here; the tests wait for the cuts, they never assert elapsed time.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/until.ts';
import { createScriptedProvider, type ScriptedCall } from '../server/helpers/scripted-provider.ts';
import { postMessage, readSse, textOf } from '../server/helpers/sse-client.ts';
import { startTestServer, type TestServer } from '../server/helpers/test-server.ts';
import { openClient, type TestClient } from '../ws/ws-harness.ts';
import { scale } from './helpers/soak-mode.ts';

const TIMEOUT = scale(60_000, 1_800_000);
/** Slow clients attacking at once. */
const ATTACKERS = scale(25, 1000);
const SHORT = { headersTimeoutMs: 1000, requestTimeoutMs: 2000, keepAliveTimeoutMs: 500 };

let server: TestServer | undefined;
const sockets: Socket[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const client of clients.splice(0)) client.socket.terminate();
  await server?.close();
  server = undefined;
});

/** A raw client: what it received, and a promise of its close. */
interface RawClient {
  readonly socket: Socket;
  readonly text: () => string;
  readonly closed: Promise<void>;
}

function rawClient(port: number, first = ''): RawClient {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  let text = '';
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  socket.on('error', () => {});
  if (first !== '') socket.write(first);
  return { socket, text: () => text, closed: new Promise((resolve) => socket.on('close', () => resolve())) };
}

/** Writes one byte to every client still open, on every tick of a timer, until stopped. */
function dribble(clients: readonly RawClient[], byte: string): () => void {
  const timer = setInterval(() => {
    for (const client of clients) if (!client.socket.destroyed && client.socket.writable) client.socket.write(byte);
  }, 100);
  return () => clearInterval(timer);
}

/** A stream that keeps receiving tokens while the attack runs; `finish` ends it and reads it all. */
async function steadyStream(url: string, call: () => Promise<ScriptedCall>) {
  const response = await postMessage(url, { message: 'steady' });
  expect(response.status).toBe(200);
  const model = await call();
  let sent = 0;
  const feeder = setInterval(() => {
    model.tokens(` t${sent}`);
    sent += 1;
  }, 10);
  return {
    async finish() {
      clearInterval(feeder);
      model.end();
      const read = await readSse(response);
      const ids = read.events.map((event) => event.id);
      return { read, sent, ids };
    },
  };
}

function expectJson408(text: string): void {
  expect(text.startsWith('HTTP/1.1 408 Request Timeout\r\n')).toBe(true);
  expect(text).toContain('Content-Type: application/json');
  expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'request_timeout' } });
  // Exactly one answer on the socket.
  expect(text.split('HTTP/1.1 ').length - 1).toBe(1);
}

async function expectUndisturbed(stream: Awaited<ReturnType<typeof steadyStream>>): Promise<void> {
  const { read, sent, ids } = await stream.finish();
  expect(read.events.at(-1)?.event).toBe('done');
  expect(textOf(read.events)).toBe(Array.from({ length: sent }, (_, index) => ` t${index}`).join(''));
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
}

describe('slowloris', () => {
  it('headers dribbled in: each socket gets a JSON 408 and is closed; a stream on the same server is undisturbed', {
    timeout: TIMEOUT,
  }, async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider, config: SHORT });
    const stream = await steadyStream(server.url, () => scripted.call(0));
    const port = server.port;
    const attackers = Array.from({ length: ATTACKERS }, (_, index) =>
      rawClient(
        port,
        index % 2 === 0
          ? 'POST /api/stream/message HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '
          : 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ',
      ),
    );
    const stop = dribble(attackers, 'a');
    await Promise.all(attackers.map((attacker) => attacker.closed));
    stop();
    for (const attacker of attackers) expectJson408(attacker.text());
    // None of them reached a handler.
    expect(scripted.calls).toHaveLength(1);
    await expectUndisturbed(stream);
  });

  it('a body dribbled in: a JSON 408 before any run starts; a stream on the same server is undisturbed', {
    timeout: TIMEOUT,
  }, async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider, config: SHORT });
    const stream = await steadyStream(server.url, () => scripted.call(0));
    const port = server.port;
    const paths = ['/api/stream/message', '/api/chat', '/chatkit', '/api/threads'];
    const attackers = Array.from({ length: ATTACKERS }, (_, index) =>
      rawClient(
        port,
        `POST ${paths[index % paths.length]} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{"message":"`,
      ),
    );
    const stop = dribble(attackers, 'a');
    await Promise.all(attackers.map((attacker) => attacker.closed));
    stop();
    for (const attacker of attackers) expectJson408(attacker.text());
    expect(scripted.calls).toHaveLength(1);
    await expectUndisturbed(stream);
  });

  it('connections that never send a byte are closed after HEADERS_TIMEOUT_MS', { timeout: TIMEOUT }, async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider, config: SHORT });
    const stream = await steadyStream(server.url, () => scripted.call(0));
    const silent = Array.from({ length: ATTACKERS }, () => rawClient(server?.port as number));
    await Promise.all(silent.map((client) => client.closed));
    for (const client of silent) expect(['', 'HTTP/1.1 408']).toContain(client.text().slice(0, 12));
    await expectUndisturbed(stream);
  });

  it('a keep-alive connection left idle after its request is closed after KEEP_ALIVE_TIMEOUT_MS', {
    timeout: TIMEOUT,
  }, async () => {
    server = await startTestServer({ provider: createScriptedProvider().provider, config: SHORT });
    const client = rawClient(server.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await client.closed;
    expect(client.text()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(client.text()).toMatch(/keep-alive/i);
  });
});

describe('WebSocket idle timeout', () => {
  it('closes a socket that sends nothing with 1000, and not one that follows a stream', {
    timeout: TIMEOUT,
  }, async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider, config: { ...SHORT, wsIdleTimeoutMs: 300 } });
    const url = `${server.url.replace('http', 'ws')}/ws/stream`;
    const following = await openClient(url);
    const silent = await openClient(url);
    clients.push(following, silent);
    following.send({ type: 'start', message: 'hi' });
    const model = await scripted.call(0);
    expect(await silent.closed).toEqual({ code: 1000, reason: 'Idle timeout' });
    await until(() => server?.app.context.connections.open('websocket') === 1, 'the idle socket gave its slot back');
    // Longer than the idle timeout has passed: the following socket is still served.
    model.tokens('a', 'b');
    model.end();
    const started = await following.waitFor((frame) => frame.event === 'start');
    const done = await following.terminal(started.streamId as string);
    expect(done.event).toBe('done');
    expect(following.text(started.streamId as string)).toBe('ab');
    // Once it follows nothing, it is idle too.
    expect(await following.closed).toEqual({ code: 1000, reason: 'Idle timeout' });
  });
});
