/**
 * CORS against the running server: allowlisted and own origins pass with credentials and exposed
 * headers, a foreign origin is refused 403 before any model call and never echoed, preflight
 * allows the headers a resuming client needs, `Vary: Origin` is on every response.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScriptedProvider, type ScriptedProvider } from './helpers/scripted-provider.ts';
import { postMessage, readSse } from './helpers/sse-client.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

const ALLOWED = 'http://localhost:3000';
const EVIL = 'https://evil.example';
let server: TestServer;
let scripted: ScriptedProvider;

beforeAll(async () => {
  scripted = createScriptedProvider({ autoReply: ['ok'] });
  server = await startTestServer({
    provider: scripted.provider,
    config: { corsOrigins: [ALLOWED, 'https://app.example.com'] },
  });
});
afterAll(async () => {
  await server.close();
});

describe('CORS', () => {
  it('allows an allowlisted origin with credentials and exposes X-Stream-Id', async () => {
    const response = await postMessage(server.url, { message: 'hi' }, { Origin: ALLOWED });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('access-control-expose-headers')).toMatch(/X-Stream-Id/);
    expect(response.headers.get('vary')).toMatch(/Origin/);
    await readSse(response);
  });

  it("allows the server's own origin", async () => {
    const response = await postMessage(server.url, { message: 'hi' }, { Origin: server.url });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(server.url);
    await readSse(response);
  });

  it('refuses a foreign origin with 403 origin_not_allowed before any model call, never echoing it', async () => {
    const calls = scripted.calls.length;
    for (const origin of [EVIL, 'null', `${ALLOWED}.evil.example`, 'http://localhost:3001']) {
      const response = await postMessage(server.url, { message: 'spend my tokens' }, { Origin: origin });
      expect(response.status).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      expect(response.headers.get('vary')).toMatch(/Origin/);
      expect(await response.json()).toEqual({ error: { code: 'origin_not_allowed', message: expect.any(String) } });
    }
    expect(scripted.calls.length).toBe(calls);
    // Also on resume, cancel and the other routes.
    for (const path of ['/api/streams/AAAAAAAAAAAAAAAAAAAAAAAA', '/healthz']) {
      const response = await fetch(`${server.url}${path}`, { headers: { Origin: EVIL } });
      expect(response.status).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('answers a preflight for an allowed origin with the resume and idempotency headers', async () => {
    for (const path of ['/api/stream/message', '/api/streams/AAAAAAAAAAAAAAAAAAAAAAAA']) {
      const response = await fetch(`${server.url}${path}`, {
        method: 'OPTIONS',
        headers: {
          Origin: ALLOWED,
          'Access-Control-Request-Method': path.endsWith('message') ? 'POST' : 'GET',
          'Access-Control-Request-Headers': 'content-type, authorization, last-event-id, idempotency-key',
        },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(response.headers.get('access-control-allow-credentials')).toBe('true');
      const allowed = (response.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      for (const header of ['content-type', 'authorization', 'last-event-id', 'idempotency-key']) {
        expect(allowed).toContain(header);
      }
      expect(response.headers.get('access-control-allow-methods')).toMatch(/POST/);
      expect(response.headers.get('vary')).toMatch(/Origin/);
    }
  });

  it('refuses a preflight from a foreign origin', async () => {
    const response = await fetch(`${server.url}/api/stream/message`, {
      method: 'OPTIONS',
      headers: { Origin: EVIL, 'Access-Control-Request-Method': 'POST' },
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('leaves requests without Origin alone and still says Vary: Origin everywhere', async () => {
    const stream = await postMessage(server.url, { message: 'hi' });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('access-control-allow-origin')).toBeNull();
    expect(stream.headers.get('vary')).toMatch(/Origin/);
    await readSse(stream);
    for (const path of ['/healthz', '/metrics', '/', '/nope']) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.headers.get('vary'), path).toMatch(/Origin/);
      await response.arrayBuffer();
    }
    const error = await postMessage(server.url, { message: '' });
    expect(error.headers.get('vary')).toMatch(/Origin/);
  });
});
