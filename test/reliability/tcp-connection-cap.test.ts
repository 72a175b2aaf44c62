/**
 * The TCP connection cap (`MAX_TCP_CONNECTIONS`) against a real reference-server process: with
 * the cap held by connections that never send a byte (a flood that the header timeout would only
 * close after `HEADERS_TIMEOUT_MS`), the next connection is closed at accept without an answer,
 * counted in `/metrics`; once the flood lets go, the server answers and streams as before.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { startServer, stopServerProcesses } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';
import { readSse, textOf } from '../server/helpers/sse-client.ts';

const CAP = 20;
const sockets: Socket[] = [];
afterAll(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await stopServerProcesses();
});

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
    sockets.push(socket);
  });
}

/** Sends a request on a fresh connection; resolves with what came back before the socket closed. */
function exchange(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

it('closes connections past MAX_TCP_CONNECTIONS at accept, counts them, and serves again once below', async () => {
  const server = await startServer({
    MAX_TCP_CONNECTIONS: String(CAP),
    HEADERS_TIMEOUT_MS: '60000',
    REQUEST_TIMEOUT_MS: '60000',
  });
  const flood = await Promise.all(Array.from({ length: CAP }, () => open(server.port)));
  // The server has accepted them all (a dropped one would close): each is one of the CAP.
  await until(
    async () => (await exchange(server.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')) === '',
    'a connection past the cap is closed unanswered',
  );
  const refused = await exchange(server.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  expect(refused).toBe('');

  for (const socket of flood) socket.destroy();
  await until(
    async () =>
      (await exchange(server.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')).startsWith(
        'HTTP/1.1 200',
      ),
    'the server answers again below the cap',
  );
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const dropped = /streamwell_connection_refusals_total\{kind="tcp",code="max_tcp_connections"\} (\d+)/.exec(metrics);
  expect(Number(dropped?.[1])).toBeGreaterThanOrEqual(2);

  const response = await fetch(`${server.url}/api/stream/message`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message: 'still there?' }),
  });
  expect(response.status).toBe(200);
  const { events } = await readSse(response);
  expect(events.at(-1)?.event).toBe('done');
  expect(textOf(events).length).toBeGreaterThan(0);
}, 60_000);
