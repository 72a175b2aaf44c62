/**
 * Security matrix, part 2: auth on every endpoint with `API_KEYS` set. The server's routes are
 * enumerated (`ServerApp.routes`, Fastify's `onRoute`), so a route added later that this matrix
 * does not list fails here until it is listed as protected (with a request that reaches it) or
 * as public (with the reason). Every protected route answers `401 unauthorized` (JSON, with
 * `WWW-Authenticate: Bearer`) without a key and with each kind of wrong key, over the server's
 * socket (the fast path of `create-server-factory.ts`) and through Fastify (`inject`), and
 * answers something else with a right key; the WebSocket upgrade likewise.
 */

import { parseApiKeys } from 'streamwell/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WEB_ROOT } from '../../apps/server/src/web-routes.ts';
import { createScriptedProvider } from '../server/helpers/scripted-provider.ts';
import { startTestServer, type TestServer } from '../server/helpers/test-server.ts';
import { errorCodeOf, type RawRequest, randomStreamId, rawRequest, rawUpgrade } from './helpers/security-http.ts';
import { scale } from './helpers/soak-mode.ts';

const KEY_A = 'sk-alice-7f3e9a1c5b2d4e6f8a0b1c2d';
const KEY_B = 'sk-bob-1a2b3c4d5e6f7a8b9c0d1e2f';
const TIMEOUT = scale(60_000, 300_000);
const JSON_TYPE = { 'content-type': 'application/json' };

/**
 * The protected routes: Fastify's URL pattern → requests that reach each method's endpoint.
 * Ids are random (they exist nowhere): auth must be decided before the id is looked up.
 */
function protectedRoutes(): Record<string, RawRequest[]> {
  const id = randomStreamId();
  const chat = JSON.stringify({
    id: randomStreamId(),
    trigger: 'submit-message',
    messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'hi' }] }],
  });
  return {
    '/api/stream/message': [
      { method: 'POST', path: '/api/stream/message', headers: JSON_TYPE, body: '{"message":"hi"}' },
    ],
    '/api/streams/*': [
      { method: 'GET', path: `/api/streams/${id}` },
      { method: 'GET', path: `/api/streams/${id}?after=3` },
      { method: 'POST', path: `/api/streams/${id}/cancel` },
    ],
    '/api/chat': [{ method: 'POST', path: '/api/chat', headers: JSON_TYPE, body: chat }],
    '/api/chat/*': [
      { method: 'GET', path: `/api/chat/${id}/stream` },
      { method: 'POST', path: `/api/chat/${id}/cancel` },
    ],
    '/chatkit': [
      {
        method: 'POST',
        path: '/chatkit',
        headers: JSON_TYPE,
        body: '{"type":"threads.list","params":{"limit":5,"order":"desc"}}',
      },
      {
        method: 'POST',
        path: '/chatkit',
        headers: JSON_TYPE,
        body: `{"type":"threads.get_by_id","params":{"thread_id":"${id}"}}`,
      },
      {
        method: 'POST',
        path: '/chatkit',
        headers: JSON_TYPE,
        body: `{"type":"threads.delete","params":{"thread_id":"${id}"}}`,
      },
      {
        method: 'POST',
        path: '/chatkit',
        headers: JSON_TYPE,
        body: '{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"hi"}],"attachments":[],"inference_options":{}}}}',
      },
    ],
    // (`GET /chatkit/attachments/:id` is a capability URL, see CAPABILITY_URLS.)
    '/chatkit/*': [
      {
        method: 'PUT',
        path: `/chatkit/attachments/atc_${id}/upload`,
        headers: { 'content-type': 'image/png' },
        body: 'x',
      },
      {
        method: 'POST',
        path: `/chatkit/attachments/atc_${id}/upload`,
        headers: { 'content-type': 'image/png' },
        body: 'x',
      },
    ],
    '/api/chatkit/session': [{ method: 'POST', path: '/api/chatkit/session' }],
    '/api/threads': [
      { method: 'GET', path: '/api/threads' },
      { method: 'HEAD', path: '/api/threads' },
    ],
    '/api/threads/:threadId': [
      { method: 'GET', path: `/api/threads/${id}` },
      { method: 'DELETE', path: `/api/threads/${id}` },
    ],
  };
}

/** The public routes and why each needs no key. */
const PUBLIC_ROUTES: Record<string, string> = {
  '/healthz': 'load balancers probe it without credentials; it holds provider name, model and counts, no user data',
  '/metrics':
    'Prometheus scrapes it without credentials; aggregate counters and histograms only (no ids, principals or text); restrict it at the proxy if the numbers are private',
  '/': 'the chat page itself; it holds no data (the key is typed into the page)',
  '/*': "the page's static assets (JS, CSS), built files only",
  '/ai-sdk': 'the AI SDK example page; no data',
};

/**
 * Requests under a protected pattern that need no key, and why. The attachment's content URL is
 * fetched by `<img>` tags, which cannot send a bearer key: its id (122 random bits, see
 * security-ids.test.ts) is the capability, and an unknown id is 404 with or without a key.
 */
const CAPABILITY_URLS: Record<string, string> = {
  'GET /chatkit/attachments/:id': 'an <img> cannot send a bearer key; the unguessable attachment id is the capability',
};

/** Credentials that must all be refused. */
const WRONG: ReadonlyArray<[string, Record<string, string>]> = [
  ['no Authorization', {}],
  ['a wrong key', { authorization: 'Bearer sk-wrong-key-000000000000000000' }],
  ['a prefix of a right key', { authorization: `Bearer ${KEY_A.slice(0, -1)}` }],
  ['a right key with a suffix', { authorization: `Bearer ${KEY_A}x` }],
  ['a right key in Basic', { authorization: `Basic ${Buffer.from(`alice:${KEY_A}`).toString('base64')}` }],
  ['a right key without scheme', { authorization: KEY_A }],
  ['Bearer without key', { authorization: 'Bearer ' }],
  ['the key id instead of the key', { authorization: 'Bearer alice' }],
  ['a right key in a cookie', { cookie: `token=${KEY_A}; api_key=${KEY_A}` }],
  ['a right key in X-API-Key', { 'x-api-key': KEY_A }],
];

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    provider: createScriptedProvider({ autoReply: ['ok'] }).provider,
    config: { apiKeys: parseApiKeys(`alice:${KEY_A},bob:${KEY_B}`) },
    deps: { webRoot: DEFAULT_WEB_ROOT },
  });
}, TIMEOUT);
afterAll(async () => {
  await server?.close();
});

describe('auth on every endpoint (API_KEYS set)', () => {
  it('lists every registered route as protected or public', () => {
    const urls = [...new Set(server.app.routes.map((route) => route.url))].sort();
    const protectedUrls = Object.keys(protectedRoutes());
    const unlisted = urls.filter((url) => !protectedUrls.includes(url) && PUBLIC_ROUTES[url] === undefined);
    expect(unlisted, 'routes missing from the security matrix (test/reliability/security-auth.test.ts)').toEqual([]);
    // And the matrix names nothing that is gone (a renamed route would otherwise go untested).
    for (const url of protectedUrls) expect(urls, url).toContain(url);
    expect(urls.length).toBeGreaterThanOrEqual(protectedUrls.length + 3);
  });

  it(
    'refuses each protected endpoint with 401 JSON for every wrong credential, on the socket and through Fastify',
    async () => {
      let refused = 0;
      for (const [url, requests] of Object.entries(protectedRoutes())) {
        for (const request of requests) {
          for (const [label, credential] of WRONG) {
            const what = `${request.method} ${request.path} (${url}) with ${label}`;
            const spec = { ...request, headers: { ...request.headers, ...credential } };
            const answer = await rawRequest(server.port, spec);
            expect(answer.status, what).toBe(401);
            if (request.method !== 'HEAD') expect(errorCodeOf(answer.body), what).toBe('unauthorized');
            expect(answer.headers['www-authenticate'], what).toBe('Bearer');
            const injected = await server.app.fastify.inject({
              method: request.method as 'GET',
              url: request.path,
              headers: spec.headers,
              ...(request.body === undefined ? {} : { payload: request.body }),
            });
            expect(injected.statusCode, `inject ${what}`).toBe(401);
            refused += 2;
          }
          // The control: a right key gets past auth (whatever the endpoint answers next).
          const allowed = await rawRequest(server.port, {
            ...request,
            headers: { ...request.headers, authorization: `Bearer ${KEY_B}` },
          });
          expect(allowed.status, `${request.method} ${request.path} with a right key`).not.toBe(401);
        }
      }
      expect(refused).toBeGreaterThan(300);
    },
    TIMEOUT,
  );

  it('answers a capability URL the same with and without a key (no existence oracle)', async () => {
    expect(Object.keys(CAPABILITY_URLS)).toEqual(['GET /chatkit/attachments/:id']);
    const path = `/chatkit/attachments/atc_${randomStreamId()}`;
    const anonymous = await rawRequest(server.port, { method: 'GET', path });
    const keyed = await rawRequest(server.port, { method: 'GET', path, headers: { authorization: `Bearer ${KEY_A}` } });
    expect(anonymous.status).toBe(404);
    expect(keyed.status).toBe(404);
    expect(anonymous.body).toBe(keyed.body);
  });

  it('answers the public routes without a key', async () => {
    for (const path of ['/healthz', '/metrics', '/', '/ai-sdk']) {
      const answer = await rawRequest(server.port, { method: 'GET', path });
      expect(answer.status, path).toBe(200);
    }
    const asset = server.app.routes.some((route) => route.url === '/*');
    expect(asset, 'the built page is served (npm run build)').toBe(true);
  });

  it('refuses the WebSocket upgrade without a right key, by header or subprotocol', async () => {
    const subprotocol = (key: string) => `streamwell.v1, streamwell.bearer.${Buffer.from(key).toString('base64url')}`;
    for (const [label, credential] of WRONG) {
      const answer = await rawUpgrade(server.port, credential);
      expect(answer.status, `upgrade with ${label}`).toBe(401);
      expect(errorCodeOf(answer.body)).toBe('unauthorized');
    }
    for (const wrong of ['sk-wrong', KEY_A.slice(0, -1), `${KEY_A}x`, '']) {
      const answer = await rawUpgrade(server.port, { 'sec-websocket-protocol': subprotocol(wrong) });
      expect(answer.status, `subprotocol ${wrong}`).toBe(401);
    }
    expect(await rawUpgrade(server.port, { authorization: `Bearer ${KEY_A}` })).toMatchObject({ status: 101 });
    expect(await rawUpgrade(server.port, { 'sec-websocket-protocol': subprotocol(KEY_B) })).toMatchObject({
      status: 101,
    });
  });
});
