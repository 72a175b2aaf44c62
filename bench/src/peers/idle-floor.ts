/**
 * Floor for the idle-capacity scenario: the least a node:http server can do per idle SSE
 * stream: write the SSE headers, keep the response open, and send a `:` comment heartbeat to
 * every open stream from one shared timer every `HEARTBEAT_MS`. A request for `/?greet` also gets
 * a `:` comment at once: the resume scenario's floor for "connect → first body byte".
 *
 * @module
 */
import { createServer, type ServerResponse } from 'node:http';
import { announceReady, servePeer } from '../lib/child-side.ts';

const open = new Set<ServerResponse>();
const heartbeatMs = Number(process.env.HEARTBEAT_MS ?? 15_000);

const server = createServer((request, response) => {
  request.resume();
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  // The head and the comment leave in one write, as a gateway's head and first replayed event do.
  if (request.url === '/?greet') response.write(':\n\n');
  else response.flushHeaders();
  open.add(response);
  response.on('close', () => open.delete(response));
});
server.maxConnections = 30_000;
server.headersTimeout = 0;
server.requestTimeout = 0;
setInterval(() => {
  for (const response of open) response.write(':\n\n');
}, heartbeatMs);

server.listen(0, '127.0.0.1', 4096, () => {
  const address = server.address();
  announceReady({ port: typeof address === 'object' && address ? address.port : 0 });
  servePeer();
});
