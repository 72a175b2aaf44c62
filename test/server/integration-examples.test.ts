/**
 * The code of docs/server-integration.md, run for real: each example file under
 * `test/server/examples/` is the exact code the doc shows (checked below), mounted on a real
 * loopback server (plain node:http, Express, Fastify, Hono on @hono/node-server) or called with
 * real `Request` objects (the Next.js route handler), and driven through start, resume, cancel,
 * CORS refusal and a foreign route.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';
import { createExpressApp } from './examples/express-app.ts';
import { createFastifyApp } from './examples/fastify-app.ts';
import { createHonoApp } from './examples/hono-app.ts';
import { createNodeHttpServer } from './examples/node-http-server.ts';
import { createDefaultedTestServer } from './helpers/integration.ts';
import { createScriptedProvider } from './helpers/scripted-provider.ts';
import { postMessage, readSse, resumeStream, textOf } from './helpers/sse-client.ts';

const TOKENS = ['Stre', 'aming', ' works', ' ✓'];

/** Start, resume from the middle, cancel, CORS refusal and a route that is not ours. */
async function exercise(baseUrl: string): Promise<void> {
  const started = await postMessage(baseUrl, { message: 'hi' }, { Origin: 'http://localhost:3000' });
  expect(started.status).toBe(200);
  expect(started.headers.get('content-type')).toMatch(/^text\/event-stream/);
  expect(started.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
  const streamId = started.headers.get('x-stream-id') as string;
  const all = await readSse(started);
  expect(textOf(all.events)).toBe(TOKENS.join(''));
  const middle = all.events[2]?.id as number;
  const rest = await readSse(await resumeStream(baseUrl, streamId, { 'Last-Event-ID': String(middle) }));
  expect(rest.events).toEqual(all.events.filter((event) => event.id > middle));
  const cancel = await fetch(`${baseUrl}/api/streams/${streamId}/cancel`, { method: 'POST' });
  expect(await cancel.json()).toMatchObject({ streamId, status: 'complete' });
  const foreign = await postMessage(baseUrl, { message: 'hi' }, { Origin: 'https://evil.example' });
  expect(foreign.status).toBe(403);
  expect(await foreign.json()).toMatchObject({ error: { code: 'origin_not_allowed' } });
}

function urlOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(urlOf(server))));
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('docs/server-integration.md examples', () => {
  it('plain node:http', async () => {
    const { server, registry } = createNodeHttpServer(createScriptedProvider({ autoReply: TOKENS }).provider);
    const url = await listen(server);
    await exercise(url);
    const other = await fetch(`${url}/elsewhere`);
    expect(other.status).toBe(404);
    await closeServer(server);
    registry.close();
  });

  it('Express 5', async () => {
    const { app, registry } = createExpressApp(createScriptedProvider({ autoReply: TOKENS }).provider);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = urlOf(server);
    await exercise(url);
    // Express's own routes still work behind the handler.
    expect(await (await fetch(`${url}/hello`)).json()).toEqual({ hello: 'world' });
    await closeServer(server);
    registry.close();
  });

  it('Fastify 5', async () => {
    const { app, registry } = await createFastifyApp(createScriptedProvider({ autoReply: TOKENS }).provider);
    await app.listen({ port: 0, host: '127.0.0.1' });
    await exercise(urlOf(app.server));
    app.server.closeAllConnections();
    await app.close();
    registry.close();
  });

  it('Hono on @hono/node-server (Web adapter over a real socket)', async () => {
    const { app, registry } = createHonoApp(createScriptedProvider({ autoReply: TOKENS }).provider);
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    await new Promise((resolve) => (server.listening ? resolve(undefined) : server.once('listening', resolve)));
    await exercise(urlOf(server));
    await closeServer(server);
    registry.close();
  });

  describe('Next.js route handler (real Request and Response objects, real upstream wire format)', () => {
    let fake: FakeOpenAI;
    let route: typeof import('./examples/nextjs-route.ts');
    beforeAll(async () => {
      fake = await startFakeOpenAI({ apiKey: null });
      process.env.LLM_BASE_URL = fake.baseUrl;
      process.env.LLM_MODEL = 'fake-model';
      process.env.CORS_ORIGINS = 'http://localhost:3000';
      route = await import('./examples/nextjs-route.ts');
    });
    afterAll(async () => {
      delete process.env.LLM_BASE_URL;
      delete process.env.LLM_MODEL;
      delete process.env.CORS_ORIGINS;
      await fake.close();
    });

    it('streams, resumes and cancels, and the cancel reaches the upstream request', async () => {
      const base = 'https://app.example.com';
      const started = await route.POST(
        new Request(`${base}/api/stream/message`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ message: 'hi' }),
        }),
      );
      expect(started.status).toBe(200);
      expect(started.headers.get('connection')).toBeNull();
      const streamId = started.headers.get('x-stream-id') as string;
      const all = await readSse(started);
      expect(textOf(all.events)).toBe('Hello from the fake model.');
      const resumed = await route.GET(
        new Request(`${base}/api/streams/${streamId}`, { headers: { 'Last-Event-ID': String(all.events[1]?.id) } }),
      );
      expect((await readSse(resumed)).events).toEqual(all.events.slice(2));
      const atEnd = await route.GET(new Request(`${base}/api/streams/${streamId}?after=${all.events.at(-1)?.id}`));
      expect(atEnd.status).toBe(204);

      fake.enqueue({ tokens: ['a', 'b', 'c'], stallAfterTokens: 1 });
      const stalled = await route.POST(
        new Request(`${base}/api/stream/message`, { method: 'POST', body: JSON.stringify({ message: 'stall' }) }),
      );
      const stalledId = stalled.headers.get('x-stream-id') as string;
      const reading = readSse(stalled);
      const upstream = await fake.waitForRequest(1);
      const cancel = await route.POST(new Request(`${base}/api/streams/${stalledId}/cancel`, { method: 'POST' }));
      expect(await cancel.json()).toMatchObject({ status: 'cancelled' });
      expect((await reading).events.at(-1)).toMatchObject({ event: 'done', data: { finishReason: 'cancelled' } });
      expect(await upstream.closed).toEqual({ aborted: true });

      const preflight = await route.OPTIONS(
        new Request(`${base}/api/stream/message`, {
          method: 'OPTIONS',
          headers: { Origin: 'http://localhost:3000', 'Access-Control-Request-Method': 'POST' },
        }),
      );
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
      const other = await route.GET(new Request(`${base}/api/other`));
      expect(other.status).toBe(404);
    });
  });

  it('the reference server with LLM_BASE_URL streams from the real wire format and cancels upstream', async () => {
    const fake = await startFakeOpenAI({ apiKey: null });
    const server = await createDefaultedTestServer({ llmBaseUrl: fake.baseUrl, llmModel: 'fake-model' });
    try {
      const read = await readSse(await postMessage(server.url, { message: 'hi' }));
      expect(read.events[0]?.data).toMatchObject({ provider: 'openai' });
      expect(textOf(read.events)).toBe('Hello from the fake model.');
      fake.enqueue({ tokens: ['x', 'y'], stallAfterTokens: 1 });
      const stalled = await postMessage(server.url, { message: 'again' });
      const upstream = await fake.waitForRequest(1);
      const streamId = stalled.headers.get('x-stream-id') as string;
      await fetch(`${server.url}/api/streams/${streamId}/cancel`, { method: 'POST' });
      expect(await upstream.closed).toEqual({ aborted: true });
      expect((await readSse(stalled)).events.at(-1)?.data).toMatchObject({ finishReason: 'cancelled' });
    } finally {
      await server.close();
      await fake.close();
    }
  });

  it('shows in the doc exactly the code that runs here', () => {
    const doc = readFileSync(new URL('../../docs/server-integration.md', import.meta.url), 'utf8');
    const marker = /<!-- example: (\S+) -->\s*```ts\n([\s\S]*?)```/g;
    const shown = [...doc.matchAll(marker)];
    expect(shown.map((match) => match[1])).toEqual([
      'test/server/examples/nextjs-route.ts',
      'test/server/examples/express-app.ts',
      'test/server/examples/fastify-app.ts',
      'test/server/examples/hono-app.ts',
      'test/server/examples/node-http-server.ts',
    ]);
    for (const [, path, code] of shown) {
      expect(code, path).toBe(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'));
    }
  });
});
