/**
 * The reference server's fast path: stream endpoints go from the HTTP server straight to the
 * library core, past Fastify. It must answer exactly as the Fastify route does (which
 * `fastify.inject()` still reaches), keep the server timeouts Fastify would set, and hand
 * anything under the prefix that is no stream endpoint back to Fastify.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isStreamPath } from '../../apps/server/src/create-server-factory.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('isStreamPath', () => {
  it('matches the stream endpoints only', () => {
    expect(isStreamPath('/api/stream/message')).toBe(true);
    expect(isStreamPath('/api/stream/message?x=1')).toBe(true);
    expect(isStreamPath('/api/streams/abc')).toBe(true);
    expect(isStreamPath('/api/streams/abc/cancel')).toBe(true);
    expect(isStreamPath('/api/stream/messages')).toBe(false);
    expect(isStreamPath('/api/streamsabc')).toBe(false);
    expect(isStreamPath('/healthz')).toBe(false);
    expect(isStreamPath(undefined)).toBe(false);
  });
});

describe('fast path next to the Fastify route', () => {
  const cases = [
    {
      name: 'a foreign origin',
      method: 'POST',
      url: '/api/stream/message',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: '{"message":"hi"}',
    },
    {
      name: 'a wrong content type',
      method: 'POST',
      url: '/api/stream/message',
      headers: { 'content-type': 'text/plain' },
      body: 'hi',
    },
    { name: 'an unknown stream', method: 'GET', url: '/api/streams/nope', headers: {}, body: undefined },
    { name: 'a wrong method', method: 'DELETE', url: '/api/streams/nope/cancel', headers: {}, body: undefined },
  ] as const;

  for (const { name, method, url, headers, body } of cases) {
    it(`answers ${name} the same over a socket as through Fastify`, async () => {
      server = await startTestServer();
      const direct = await fetch(`${server.url}${url}`, { method, headers, ...(body === undefined ? {} : { body }) });
      const injected = await server.app.fastify.inject({
        method,
        url,
        headers,
        ...(body === undefined ? {} : { payload: body }),
      });
      expect(direct.status).toBe(injected.statusCode);
      expect(await direct.json()).toEqual(injected.json());
      expect(direct.headers.get('vary')).toBe('Origin');
      expect(direct.headers.get('access-control-allow-origin')).toBeNull();
    });
  }

  it('counts refusals on the fast path in the metrics', async () => {
    server = await startTestServer();
    await fetch(`${server.url}/api/stream/message`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: '{"message":"hi"}',
    });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/streamwell_\w+\{[^}]*code="origin_not_allowed"[^}]*\} 1/);
  });

  it('hands a path under the prefix that is no endpoint to Fastify, and keeps its timeouts', async () => {
    server = await startTestServer();
    const response = await fetch(`${server.url}/api/streams/`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect(server.app.fastify.server.requestTimeout).toBe(30_000);
    expect(server.app.fastify.server.keepAliveTimeout).toBe(72_000);
  });
});
