/**
 * Thousands of idle connections against a real reference-server process: half connect and send
 * nothing, half make one keep-alive request and then sit idle, and some hold an idle WebSocket.
 * While they are all open, a stream still starts, streams and ends, a WebSocket still streams,
 * `/healthz` still answers, and none of the idle connections is refused or cut (they are within
 * their timeouts); the server's event-stream count stays exact. Then they are let go and the
 * server's open-connection gauges return to zero.
 *
 * Quick mode holds 1,000 idle connections, the full mode 10,000. The server process needs a
 * descriptor per connection (Node raises its soft `ulimit -n` to the hard limit at start) and so
 * does this test's side: the test fails with the limit named when this process's is too low.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { type ServerProcess, startServer, stopServerProcesses } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';
import { readSse, textOf } from '../server/helpers/sse-client.ts';
import { openClient, type TestClient } from '../ws/ws-harness.ts';
import { scale } from './helpers/soak-mode.ts';

const IDLE = scale(1000, 10_000);
const IDLE_WEBSOCKETS = scale(50, 500);
const TIMEOUT = scale(120_000, 1_800_000);

const sockets: Socket[] = [];
const clients: TestClient[] = [];
afterAll(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const client of clients.splice(0)) client.socket.terminate();
  await stopServerProcesses();
});

/** This process's soft open-file limit (undefined where it cannot be read). */
function fdLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('Max open files'));
    const soft = Number(line?.slice('Max open files'.length).trim().split(/\s+/)[0]);
    return Number.isFinite(soft) ? soft : undefined;
  } catch {
    return undefined;
  }
}

/** Opens a connection and resolves once it is established (and, with `request`, answered). */
function idleConnection(port: number, request: string | undefined): Promise<{ socket: Socket; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    let closed = false;
    socket.on('close', () => {
      closed = true;
    });
    socket.once('error', reject);
    socket.once('connect', () => {
      if (request === undefined) {
        resolve({ socket, closed: () => closed });
        return;
      }
      socket.write(request);
      socket.once('data', () => resolve({ socket, closed: () => closed }));
    });
  });
}

async function gauge(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((entry) => entry.startsWith(name));
  return Number(line?.split(' ').at(-1));
}

it(`${IDLE} idle connections and ${IDLE_WEBSOCKETS} idle WebSockets: a stream still works, nothing idle is cut`, {
  timeout: TIMEOUT,
}, async () => {
  const limit = fdLimit();
  const needed = IDLE + IDLE_WEBSOCKETS + 256;
  if (limit !== undefined && limit < needed) {
    throw new Error(
      `ulimit -n is ${limit}; this test holds ${needed} descriptors on the client side (raise the limit)`,
    );
  }
  // Timeouts long enough that nothing idle is cut while the test runs: this test is about
  // capacity; slow-clients.test.ts tests the cuts.
  const server: ServerProcess = await startServer({
    STREAMWELL_PROVIDER: 'demo',
    HEADERS_TIMEOUT_MS: '600000',
    REQUEST_TIMEOUT_MS: '600000',
    KEEP_ALIVE_TIMEOUT_MS: '600000',
    WS_IDLE_TIMEOUT_MS: '600000',
  });
  const idle: Array<{ socket: Socket; closed: () => boolean }> = [];
  // In batches: a burst of thousands of connects at once overflows the listen backlog (SYN retries).
  for (let start = 0; start < IDLE; start += 100) {
    const batch = Array.from({ length: Math.min(100, IDLE - start) }, (_, index) =>
      idleConnection(
        server.port,
        (start + index) % 2 === 0 ? undefined : 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
      ),
    );
    idle.push(...(await Promise.all(batch)));
  }
  const wsUrl = `${server.url.replace('http', 'ws')}/ws/stream`;
  for (let index = 0; index < IDLE_WEBSOCKETS; index += 1) clients.push(await openClient(wsUrl));

  // A stream, over HTTP and over a WebSocket, while all of that is open.
  const response = await fetch(`${server.url}/api/stream/message`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ message: 'still there?' }),
  });
  expect(response.status).toBe(200);
  const read = await readSse(response);
  expect(read.events[0]?.event).toBe('start');
  expect(read.events.at(-1)?.event).toBe('done');
  expect(textOf(read.events).length).toBeGreaterThan(0);
  const ws = await openClient(wsUrl);
  clients.push(ws);
  ws.send({ type: 'start', message: 'and here?' });
  const started = await ws.waitFor((frame) => frame.event === 'start');
  expect((await ws.terminal(started.streamId as string)).event).toBe('done');
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

  // Nothing idle was refused or cut, and the counts are exact.
  expect(idle.filter((connection) => connection.closed()).length).toBe(0);
  expect(clients.filter((client) => client.socket.readyState !== client.socket.OPEN).length).toBe(0);
  expect(await gauge(server.url, 'streamwell_open_connections{kind="sse"}')).toBe(0);
  expect(await gauge(server.url, 'streamwell_open_connections{kind="websocket"}')).toBe(IDLE_WEBSOCKETS + 1);

  // Let go: every WebSocket slot comes back.
  for (const client of clients.splice(0)) client.socket.terminate();
  for (const socket of sockets.splice(0)) socket.destroy();
  await until(
    async () => (await gauge(server.url, 'streamwell_open_connections{kind="websocket"}')) === 0,
    'every WebSocket slot came back',
  );
});
