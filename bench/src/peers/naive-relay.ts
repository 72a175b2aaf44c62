/**
 * Peer: the naive node:http relay, as a developer following the troubleshooting guide would
 * write it in Node: `http.request` to the upstream with a keep-alive agent, split the upstream
 * body on blank lines, `JSON.parse` each chunk, and `res.write` one
 * `data: {"token": ...}` frame per delta. No ids, no resume buffer, no backpressure handling.
 *
 * @module
 */
import { Agent, createServer, request as httpRequest } from 'node:http';
import { announceReady, servePeer } from '../lib/child-side.ts';
import { readMessage, upstreamUrl } from './read-message.ts';

const upstream = upstreamUrl();
const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

const server = createServer(async (request, response) => {
  if (request.method !== 'POST' || request.url !== '/api/stream/message') {
    response.writeHead(404).end();
    return;
  }
  const message = await readMessage(request);
  const body = JSON.stringify({ model: 'bench', stream: true, messages: [{ role: 'user', content: message }] });
  const upstreamRequest = httpRequest(
    {
      host: upstream.hostname,
      port: upstream.port,
      path: `${upstream.pathname}chat/completions`,
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    },
    (upstreamResponse) => {
      response.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
      });
      upstreamResponse.setEncoding('utf8');
      let buffer = '';
      upstreamResponse.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!frame.startsWith('data: ')) continue;
          const data = frame.slice(6);
          if (data === '[DONE]') continue;
          const token = (JSON.parse(data) as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta
            ?.content;
          if (token) response.write(`data: ${JSON.stringify({ token })}\n\n`);
        }
      });
      upstreamResponse.on('end', () => response.end());
    },
  );
  upstreamRequest.on('error', () => response.destroy());
  response.on('close', () => upstreamRequest.destroy());
  upstreamRequest.end(body);
});
server.keepAliveTimeout = 60_000;

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  announceReady({ port: typeof address === 'object' && address ? address.port : 0 });
  servePeer();
});
