/**
 * Peer: the Vercel AI SDK (`ai@6`) on node:http: `streamText` with `@ai-sdk/openai-compatible`
 * pointed at the mock, piped to the response with `pipeUIMessageStreamToResponse` (UI message
 * stream SSE, one `text-delta` chunk per upstream token).
 *
 * @module
 */
import { createServer } from 'node:http';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { streamText } from 'ai';
import { announceReady, servePeer } from '../lib/child-side.ts';
import { readMessage, upstreamUrl } from './read-message.ts';

// ai@6 warns once that @ai-sdk/openai-compatible@1 speaks the v2 model spec; the bench's
// progress output is not the place for it.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

const provider = createOpenAICompatible({ name: 'bench', baseURL: upstreamUrl().href.replace(/\/$/, '') });

const server = createServer(async (request, response) => {
  if (request.method !== 'POST' || request.url !== '/api/stream/message') {
    response.writeHead(404).end();
    return;
  }
  const message = await readMessage(request);
  const controller = new AbortController();
  response.on('close', () => controller.abort());
  const result = streamText({ model: provider.chatModel('bench'), prompt: message, abortSignal: controller.signal });
  result.pipeUIMessageStreamToResponse(response);
});
server.keepAliveTimeout = 60_000;

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  announceReady({ port: typeof address === 'object' && address ? address.port : 0 });
  servePeer();
});
