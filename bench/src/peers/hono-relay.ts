/**
 * Peer: a Hono `streamSSE` relay on @hono/node-server, the way Hono's docs suggest: global
 * `fetch` to the upstream, `TextDecoderStream` + `EventSourceParserStream` (eventsource-parser 3),
 * and `writeSSE` with an id per token.
 *
 * @module
 */
import { serve } from '@hono/node-server';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { announceReady, servePeer } from '../lib/child-side.ts';
import { upstreamUrl } from './read-message.ts';

const endpoint = new URL('chat/completions', upstreamUrl());
const app = new Hono();

app.post('/api/stream/message', async (context) => {
  const { message } = await context.req.json<{ message: string }>();
  return streamSSE(
    context,
    async (stream) => {
      const controller = new AbortController();
      stream.onAbort(() => controller.abort());
      const upstream = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'bench', stream: true, messages: [{ role: 'user', content: message }] }),
        signal: controller.signal,
      });
      if (!upstream.body) return;
      const events = upstream.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
      let id = 0;
      for await (const event of events) {
        if (event.data === '[DONE]') break;
        const token = (JSON.parse(event.data) as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta
          ?.content;
        if (token) await stream.writeSSE({ id: String(++id), event: 'token', data: JSON.stringify({ token }) });
      }
    },
    // A client that goes away aborts the upstream fetch: expected, not worth a stack trace.
    async () => {},
  );
});

serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  announceReady({ port: info.port });
  servePeer();
});
