/**
 * `POST /api/chatkit/session` (hosted mode) against a local fake of OpenAI's sessions API: the
 * request it sends (method, path, headers, body), the answer it gives (only the client secret and
 * its expiry), upstream errors with their status, and the API key in no response and no log line.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseApiKeys } from 'streamwell/server';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../server/helpers/test-server.ts';

const KEY = 'sk-proj-session-test-key-0123456789abcdef';
const WORKFLOW = 'wf_68df4b13b3588190a09d19288d4610ec';

interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

/** OpenAI's `POST /v1/chatkit/sessions`, as the SDK types describe it. */
async function startFakeSessions(answer: { status: number; body: unknown }): Promise<{
  baseUrl: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    request.on('end', () => {
      seen.push({
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: JSON.parse(text || 'null'),
      });
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const SESSION = {
  id: 'cksess_123',
  object: 'chatkit.session',
  client_secret: 'ek_client_secret_abc',
  expires_at: 1_798_000_000,
  status: 'active',
  user: 'whoever',
  workflow: { id: WORKFLOW, version: null, state_variables: null, tracing: { enabled: true } },
  rate_limits: { max_requests_per_1_minute: 10 },
  max_requests_per_1_minute: 10,
  chatkit_configuration: {
    automatic_thread_titling: { enabled: true },
    file_upload: { enabled: false, max_file_size: null, max_files: null },
    history: { enabled: true, recent_threads: null },
  },
};

describe('POST /api/chatkit/session', () => {
  let server: TestServer | undefined;
  let fake: Awaited<ReturnType<typeof startFakeSessions>> | undefined;
  afterEach(async () => {
    await server?.close();
    await fake?.close();
    server = undefined;
    fake = undefined;
  });

  const everything = (test: TestServer, body: string): string => `${body}\n${JSON.stringify(test.logs)}`;

  it('is 503 chatkit_not_configured without CHATKIT_WORKFLOW_ID and OPENAI_API_KEY, naming both', async () => {
    server = await startTestServer({ config: { openaiApiKey: KEY } });
    const response = await fetch(`${server.url}/api/chatkit/session`, { method: 'POST' });
    expect(response.status).toBe(503);
    const body = await response.json();
    expect(body.error.code).toBe('chatkit_not_configured');
    expect(body.error.message).toContain('CHATKIT_WORKFLOW_ID');
    expect(body.error.message).toContain('2026-11-30');
    expect(JSON.stringify(body)).not.toContain(KEY);
  });

  it('mints a session with the key, the beta header, the workflow and a user, and answers only the secret and its expiry', async () => {
    fake = await startFakeSessions({ status: 200, body: SESSION });
    server = await startTestServer({
      config: { openaiApiKey: KEY, openaiBaseUrl: fake.baseUrl, chatkitWorkflowId: WORKFLOW, logLevel: 'debug' },
      captureLogs: true,
    });
    const response = await fetch(`${server.url}/api/chatkit/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(JSON.parse(text)).toEqual({ client_secret: 'ek_client_secret_abc', expires_at: 1_798_000_000 });
    expect(response.headers.get('cache-control')).toBe('no-store');
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(
      /^chatkit_session_id=[0-9a-f-]{36}; Path=\/api\/chatkit\/session; Max-Age=2592000; HttpOnly; SameSite=Lax$/,
    );
    const user = cookie.split(';')[0]?.split('=')[1];

    expect(fake.seen).toHaveLength(1);
    const [seen] = fake.seen;
    expect(seen?.method).toBe('POST');
    expect(seen?.path).toBe('/v1/chatkit/sessions');
    expect(seen?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(seen?.headers['openai-beta']).toBe('chatkit_beta=v1');
    expect(seen?.headers['content-type']).toBe('application/json');
    expect(seen?.body).toEqual({ user, workflow: { id: WORKFLOW } });

    // The same browser (its cookie) is the same user.
    await fetch(`${server.url}/api/chatkit/session`, {
      method: 'POST',
      headers: { cookie: `chatkit_session_id=${user}` },
    });
    expect(fake.seen[1]?.body).toEqual({ user, workflow: { id: WORKFLOW } });
    expect(everything(server, text)).not.toContain(KEY);
  });

  it('uses the API key principal as the user when API_KEYS is set, and refuses a caller without a key', async () => {
    fake = await startFakeSessions({ status: 200, body: SESSION });
    server = await startTestServer({
      config: {
        openaiApiKey: KEY,
        openaiBaseUrl: fake.baseUrl,
        chatkitWorkflowId: WORKFLOW,
        apiKeys: parseApiKeys('alice:k-alice'),
      },
    });
    expect((await fetch(`${server.url}/api/chatkit/session`, { method: 'POST' })).status).toBe(401);
    const response = await fetch(`${server.url}/api/chatkit/session`, {
      method: 'POST',
      headers: { authorization: 'Bearer k-alice' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(fake.seen.map((request) => request.body)).toEqual([{ user: 'alice', workflow: { id: WORKFLOW } }]);
  });

  it('passes an upstream error on with its status, in our error shape, without the key even when OpenAI echoes it', async () => {
    const masked = `${KEY.slice(0, 5)}****${KEY.slice(-4)}`;
    fake = await startFakeSessions({
      status: 401,
      body: {
        error: {
          message: `Incorrect API key provided: ${masked} (${KEY}).`,
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      },
    });
    server = await startTestServer({
      config: { openaiApiKey: KEY, openaiBaseUrl: fake.baseUrl, chatkitWorkflowId: WORKFLOW, logLevel: 'debug' },
      captureLogs: true,
    });
    const response = await fetch(`${server.url}/api/chatkit/session`, { method: 'POST' });
    const text = await response.text();
    expect(response.status).toBe(401);
    expect(JSON.parse(text)).toEqual({
      error: { code: 'upstream_auth', message: expect.stringContaining('HTTP 401') },
    });
    for (const secret of [KEY, masked, KEY.slice(3)]) expect(everything(server, text)).not.toContain(secret);
  });

  it('is a 502 when OpenAI cannot be reached, and the log line says so without the key', async () => {
    fake = await startFakeSessions({ status: 200, body: SESSION });
    const unreachable = fake.baseUrl;
    await fake.close();
    fake = undefined;
    server = await startTestServer({
      config: { openaiApiKey: KEY, openaiBaseUrl: unreachable, chatkitWorkflowId: WORKFLOW, logLevel: 'debug' },
      captureLogs: true,
    });
    const response = await fetch(`${server.url}/api/chatkit/session`, { method: 'POST' });
    const text = await response.text();
    expect(response.status).toBe(502);
    expect(JSON.parse(text).error.code).toBe('upstream_error');
    expect(server.logs.some((line) => line.msg === 'chatkit session request failed')).toBe(true);
    expect(everything(server, text)).not.toContain(KEY);
  });
});
