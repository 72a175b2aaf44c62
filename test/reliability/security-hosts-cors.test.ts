/**
 * Security matrix, part 1: the `Host` allowlist (DNS rebinding) and the CORS deny matrix, on every
 * endpoint of the reference server (actual requests and preflights, and the WebSocket upgrade),
 * over real loopback sockets with raw `node:http` requests (fetch cannot send a chosen `Host`).
 *
 * - A loopback server answers a `Host` that is not a loopback name with `421 host_not_allowed`
 *   (JSON) before any work, with or without an `Origin` that matches that `Host` (a rebound
 *   page's own origin), and no model call is made. `ALLOWED_HOSTS` adds names; a public `HOST`
 *   answers any name unless it is set.
 * - A refused `Origin` (foreign, `null`, look-alikes with suffixes, userinfo, fragments, other
 *   scheme or port, upper case, trailing slash) is never echoed and gets no credentials, on every
 *   endpoint and preflight; an allowed one gets itself and credentials; `Vary: Origin` always.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../apps/server/src/config.ts';
import { createScriptedProvider, type ScriptedProvider } from '../server/helpers/scripted-provider.ts';
import { startTestServer, type TestServer } from '../server/helpers/test-server.ts';
import { endpointCases, errorCodeOf, type RawAnswer, rawRequest, rawUpgrade } from './helpers/security-http.ts';
import { scale } from './helpers/soak-mode.ts';

const ALLOWED_ORIGIN = 'http://localhost:3000';
const TIMEOUT = scale(60_000, 300_000);

let server: TestServer;
let scripted: ScriptedProvider;

beforeAll(async () => {
  scripted = createScriptedProvider({ autoReply: ['ok'] });
  server = await startTestServer({ provider: scripted.provider, config: { corsOrigins: [ALLOWED_ORIGIN] } });
}, TIMEOUT);
afterAll(async () => {
  await server?.close();
});

function expectVaryOrigin(answer: RawAnswer, what: string): void {
  expect(String(answer.headers.vary ?? ''), `${what}: Vary`).toMatch(/\bOrigin\b/i);
}

function expectNoCorsGrant(answer: RawAnswer, what: string): void {
  expect(answer.headers['access-control-allow-origin'], `${what}: ACAO`).toBeUndefined();
  expect(answer.headers['access-control-allow-credentials'], `${what}: credentials`).toBeUndefined();
}

describe('DNS rebinding: the Host allowlist of a loopback server', () => {
  it(
    'refuses every endpoint and the upgrade with 421 host_not_allowed before any model call',
    async () => {
      const port = server.port;
      const calls = scripted.calls.length;
      const hostile = [
        `evil.example:${port}`,
        'evil.example',
        `localhost.evil.example:${port}`,
        `127.0.0.1.nip.io:${port}`,
        `evil.example@localhost:${port}`,
        `0.0.0.0:${port}`,
        `192.168.1.10:${port}`,
        `[::2]:${port}`,
      ];
      let refused = 0;
      for (const host of hostile) {
        for (const endpoint of endpointCases()) {
          // A rebound page is its own origin: Origin matches Host. Also without Origin (a GET).
          for (const origin of [`http://${host}`, undefined]) {
            for (const preflight of [false, true]) {
              const headers: Record<string, string> = { ...endpoint.request.headers, host };
              if (origin !== undefined) headers.origin = origin;
              if (preflight) headers['access-control-request-method'] = endpoint.request.method;
              const request = preflight
                ? { method: 'OPTIONS', path: endpoint.request.path, headers }
                : { ...endpoint.request, headers };
              const answer = await rawRequest(port, request);
              const what = `${request.method} ${endpoint.route} Host=${host} Origin=${origin}`;
              expect(answer.status, what).toBe(421);
              expect(errorCodeOf(answer.body), what).toBe('host_not_allowed');
              expect(String(answer.headers['content-type']), what).toMatch(/^application\/json/);
              expectNoCorsGrant(answer, what);
              refused += 1;
            }
          }
        }
        const upgrade = await rawUpgrade(port, { host, origin: `http://${host}` });
        expect(upgrade.status, `upgrade Host=${host}`).toBe(421);
        expect(errorCodeOf(upgrade.body)).toBe('host_not_allowed');
        const bare = await rawUpgrade(port, { host });
        expect(bare.status, `upgrade without Origin Host=${host}`).toBe(421);
        refused += 2;
      }
      expect(refused).toBe(hostile.length * (endpointCases().length * 4 + 2));
      // Before any work: no model call for any of them.
      expect(scripted.calls.length).toBe(calls);
      // Counted like every other refusal.
      const metrics = await rawRequest(port, { method: 'GET', path: '/metrics' });
      expect(metrics.body).toMatch(/code="host_not_allowed"/);
    },
    TIMEOUT,
  );

  it(
    'answers loopback names and addresses on any port, and their own origin',
    async () => {
      const port = server.port;
      for (const host of [
        `localhost:${port}`,
        `127.0.0.1:${port}`,
        `[::1]:${port}`,
        `app.localhost:${port}`,
        'localhost',
        `127.0.0.2:${port}`,
      ]) {
        for (const endpoint of endpointCases()) {
          const answer = await rawRequest(port, {
            ...endpoint.request,
            headers: { ...endpoint.request.headers, host },
          });
          expect(answer.status, `${endpoint.route} Host=${host}`).not.toBe(421);
        }
        const own = await rawRequest(port, {
          method: 'GET',
          path: '/healthz',
          headers: { host, origin: `http://${host}` },
        });
        expect(own.status, host).toBe(200);
        expect(own.headers['access-control-allow-origin']).toBe(`http://${host}`);
        expect(await rawUpgrade(port, { host, origin: `http://${host}` })).toMatchObject({ status: 101 });
      }
    },
    TIMEOUT,
  );

  it(
    'ALLOWED_HOSTS adds names (and their own origin); * and a public HOST answer any',
    async () => {
      const listed = await startTestServer({
        provider: scripted.provider,
        config: { allowedHosts: ['chat.example.com', '.corp.example'] },
      });
      const open = await startTestServer({ provider: scripted.provider, config: { host: '0.0.0.0' } });
      const star = await startTestServer({ provider: scripted.provider, config: { allowedHosts: ['*'] } });
      try {
        const own = await rawRequest(listed.port, {
          method: 'GET',
          path: '/api/threads',
          headers: { host: 'chat.example.com', origin: 'http://chat.example.com' },
        });
        expect(own.status).toBe(200);
        expect(own.headers['access-control-allow-origin']).toBe('http://chat.example.com');
        const sub = await rawRequest(listed.port, {
          method: 'GET',
          path: '/healthz',
          headers: { host: 'a.corp.example:8443' },
        });
        expect(sub.status).toBe(200);
        const other = await rawRequest(listed.port, {
          method: 'GET',
          path: '/healthz',
          headers: { host: 'evil.example' },
        });
        expect(other.status).toBe(421);
        expect(await rawUpgrade(listed.port, { host: 'chat.example.com' })).toMatchObject({ status: 101 });
        expect(await rawUpgrade(listed.port, { host: 'evil.example' })).toMatchObject({ status: 421 });
        for (const loose of [open, star]) {
          const answer = await rawRequest(loose.port, {
            method: 'GET',
            path: '/healthz',
            headers: { host: 'anything.example' },
          });
          expect(answer.status).toBe(200);
        }
      } finally {
        await Promise.all([listed.close(), open.close(), star.close()]);
      }
    },
    TIMEOUT,
  );

  it('ALLOWED_HOSTS is validated at start', () => {
    expect(
      loadConfig({ ALLOWED_HOSTS: ' chat.example.com, .corp.example,api.example.com:8443 ' }).allowedHosts,
    ).toEqual(['chat.example.com', '.corp.example', 'api.example.com:8443']);
    expect(loadConfig({}).allowedHosts).toEqual([]);
    for (const bad of ['http://chat.example.com', 'user@chat.example.com', 'chat.example.com/app']) {
      expect(() => loadConfig({ ALLOWED_HOSTS: bad }), bad).toThrow(ConfigError);
    }
  });
});

describe('CORS deny matrix', () => {
  it(
    'never echoes a refused origin nor grants it credentials, on every endpoint, request and preflight',
    async () => {
      const port = server.port;
      const refusedOrigins = [
        'https://evil.example',
        'null',
        'http://localhost:3000.evil.com',
        'http://localhost:3000.evil.com:3000',
        'http://evil.com#@localhost:3000',
        'http://evil.com@localhost:3000',
        'http://user:pass@localhost:3000',
        `http://evil.com@127.0.0.1:${port}`,
        'https://localhost:3000',
        'http://localhost:3001',
        'http://localhost',
        'ws://localhost:3000',
        'file://',
        'HTTP://LOCALHOST:3000',
        'http://Localhost:3000',
        'http://localhost:3000/',
        'http://localhost:3000/path',
        `http://127.0.0.1:${port + 1}`,
        // (`https://127.0.0.1:${port}` is the own origin on purpose: behind a TLS-terminating proxy
        // the server sees plain HTTP, and no other server can answer on its host and port.)
        `http://localhost:${port}.evil.com`,
        '',
        ' ',
        'http://localhost:3000, https://evil.example',
      ];
      const calls = scripted.calls.length;
      let cases = 0;
      for (const origin of refusedOrigins) {
        for (const endpoint of endpointCases()) {
          for (const preflight of [false, true]) {
            const headers: Record<string, string> = { ...endpoint.request.headers, origin };
            if (preflight) {
              headers['access-control-request-method'] = endpoint.request.method;
              headers['access-control-request-headers'] = 'authorization, content-type';
            }
            const request = preflight
              ? { method: 'OPTIONS', path: endpoint.request.path, headers }
              : { ...endpoint.request, headers };
            const answer = await rawRequest(port, request);
            const what = `${request.method} ${endpoint.route} Origin=${JSON.stringify(origin)}`;
            expect(answer.status, what).toBe(403);
            expect(errorCodeOf(answer.body), what).toBe('origin_not_allowed');
            expectNoCorsGrant(answer, what);
            expectVaryOrigin(answer, what);
            // Not echoed anywhere: not in a header, not in the body.
            if (origin.trim().length > 4) {
              for (const value of answer.rawHeaders) expect(value, what).not.toContain(origin);
              expect(answer.body, what).not.toContain(origin);
            }
            cases += 1;
          }
        }
        const upgrade = await rawUpgrade(port, { origin });
        expect(upgrade.status, `upgrade Origin=${origin}`).toBe(403);
        expect(upgrade.headers['access-control-allow-origin']).toBeUndefined();
        cases += 1;
      }
      expect(cases).toBe(refusedOrigins.length * (endpointCases().length * 2 + 1));
      expect(scripted.calls.length).toBe(calls);
    },
    TIMEOUT,
  );

  it(
    'grants an allowed origin itself with credentials, and no origin nothing; Vary: Origin everywhere',
    async () => {
      const port = server.port;
      for (const origin of [ALLOWED_ORIGIN, `http://127.0.0.1:${port}`, undefined]) {
        for (const endpoint of endpointCases()) {
          for (const preflight of [false, true]) {
            const headers: Record<string, string> = { ...endpoint.request.headers };
            if (origin !== undefined) headers.origin = origin;
            if (preflight) headers['access-control-request-method'] = endpoint.request.method;
            const request = preflight
              ? { method: 'OPTIONS', path: endpoint.request.path, headers }
              : { ...endpoint.request, headers };
            const answer = await rawRequest(port, request);
            const what = `${request.method} ${endpoint.route} Origin=${origin}`;
            expect(answer.status, what).not.toBe(403);
            expectVaryOrigin(answer, what);
            if (origin === undefined) {
              expectNoCorsGrant(answer, what);
            } else if (answer.status < 500) {
              expect(answer.headers['access-control-allow-origin'], what).toBe(origin);
              expect(answer.headers['access-control-allow-credentials'], what).toBe('true');
            }
            expect(answer.headers['access-control-allow-origin'], what).not.toBe('*');
          }
        }
      }
    },
    TIMEOUT,
  );
});
