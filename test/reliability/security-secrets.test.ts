/**
 * Security matrix, part 5: no secret in any response body, header or log line. Real server
 * processes start with a known sentinel in every secret-bearing setting (`LLM_API_KEY`,
 * `OPENAI_API_KEY`, the `API_KEYS` keys, the `REDIS_URL` and `DATABASE_URL` passwords, the
 * `UPSTREAM_HEADERS` values) at `LOG_LEVEL=debug`, in front of an upstream that answers 401 and
 * 500 with a body that echoes every header it received (so any key sent upstream comes back).
 * Every endpoint is driven, error paths first (upstream refusals and failures, the hosted
 * ChatKit session, dictation, wrong keys, invalid bodies, unknown ids, WebSocket refusals),
 * plus /healthz, /metrics, `streamwell doctor` against the server and with `--provider`, a
 * start with bad configuration and one with Redis unreachable. Every response (status line,
 * headers, body, WebSocket frames) and every line on stdout and stderr is scanned for each secret,
 * raw, URL-encoded, base64 and base64url (at each byte alignment) and for its random core alone.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { createTestPrefix, deleteTestKeys, redisPart } from '../helpers/redis.ts';
import { type ServerProcess, spawnServer, startServer, stopServerProcesses } from '../helpers/server-process.ts';
import { postgresPart } from '../helpers/system-part.ts';
import { endpointCases, randomStreamId, rawRequest, rawUpgrade } from './helpers/security-http.ts';
import { scale } from './helpers/soak-mode.ts';

const redis = redisPart();
const postgres = postgresPart();
const TIMEOUT = scale(150_000, 600_000);
/** Starting Node processes costs seconds of CPU each; a loaded 2-core machine needs the long bound. */
const STARTUP_TIMEOUT = 300_000;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../../packages/streamwell/src/cli/main.ts', import.meta.url));

/** A sentinel: a recognizable prefix and a random core that appears nowhere else. */
const sentinel = (label: string): string => `${label}${randomBytes(12).toString('hex')}`;
const SECRETS = {
  LLM_API_KEY: sentinel('sk-llm-'),
  OPENAI_API_KEY: sentinel('sk-openai-'),
  API_KEY_ALICE: sentinel('sk-alice-'),
  API_KEY_BOB: sentinel('sk-bob-'),
  REDIS_PASSWORD: sentinel('redispw'),
  DATABASE_PASSWORD: sentinel('dbpw'),
  UPSTREAM_TOKEN: sentinel('up-token-'),
  UPSTREAM_TEAM_KEY: sentinel('up-team-'),
} as const;

/** Every spelling of `secret` that would count as a leak. */
function forms(secret: string): string[] {
  const found = new Set<string>([secret, secret.slice(-24), encodeURIComponent(secret)]);
  for (let pad = 0; pad < 3; pad += 1) {
    const bytes = Buffer.concat([Buffer.alloc(pad, 0x41), Buffer.from(secret)]);
    for (const encoding of ['base64', 'base64url'] as const) {
      // The characters that depend on the secret alone, whatever comes before and after it.
      const text = bytes.toString(encoding).replace(/=+$/, '');
      found.add(text.slice(Math.ceil((pad * 4) / 3) + 1, -3));
    }
  }
  return [...found].filter((form) => form.length >= 12);
}

const PATTERNS = Object.entries(SECRETS).flatMap(([name, secret]) => forms(secret).map((form) => ({ name, form })));

/** Everything that was said to the outside, labelled, for the scan. */
const transcript: Array<{ where: string; text: string }> = [];

function record(where: string, text: string): void {
  transcript.push({ where, text });
}

/** The leaks in the transcript: which secret, in what form, where, in what context. */
function leaks(): string[] {
  const found: string[] = [];
  for (const { where, text } of transcript) {
    for (const { name, form } of PATTERNS) {
      const at = text.indexOf(form);
      if (at !== -1) found.push(`${name} in ${where}: …${text.slice(Math.max(0, at - 80), at + form.length + 20)}…`);
    }
  }
  return found;
}

/** An upstream that refuses (401) or fails (500) with every request header echoed in its body. */
function startEchoUpstream(): Promise<{ server: Server; url: string; status: { value: number }; seen: string[] }> {
  const status = { value: 401 };
  const seen: string[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      const echoed = JSON.stringify({ path: request.url, headers: request.headers, body: body.slice(0, 2000) });
      seen.push(echoed);
      // As real upstreams do, with the credential alone too ("Incorrect API key provided: sk-…").
      const credential = String(request.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
      const message = `Incorrect API key provided: ${credential}. Team key ${String(request.headers['x-team-key'] ?? '')}. You sent ${echoed}`;
      response.writeHead(status.value, {
        'content-type': 'application/json',
        'x-echo-authorization': String(request.headers.authorization ?? ''),
      });
      response.end(JSON.stringify({ error: { message, type: 'invalid_request_error', code: 'invalid_api_key' } }));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${port}`, status, seen });
    });
  });
}

/** Runs a command to its end, recording its output. */
function run(label: string, args: readonly string[], env: Record<string, string>): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      record(label, out);
      resolve(code);
    });
  });
}

/** Sends one request and records the whole answer. */
async function drive(server: ServerProcess, label: string, spec: Parameters<typeof rawRequest>[1]): Promise<number> {
  const answer = await rawRequest(server.port, spec);
  record(
    `${label}: ${spec.method} ${spec.path} → ${answer.status}`,
    `${answer.rawHeaders.join('\n')}\n\n${answer.body}`,
  );
  return answer.status;
}

describe.skipIf(!redis.available || !postgres.available)('no secret in any response or log line', () => {
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>;
  let database: TestDatabase;
  let openaiServer: ServerProcess;
  let sseServer: ServerProcess;
  let baseEnv: Record<string, string>;

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    database = await createTestDatabase('security_secrets');
    const databaseUrl = new URL(database.url);
    databaseUrl.password = SECRETS.DATABASE_PASSWORD;
    baseEnv = {
      LOG_LEVEL: 'debug',
      API_KEYS: `alice:${SECRETS.API_KEY_ALICE},bob:${SECRETS.API_KEY_BOB}`,
      // node-redis sends `AUTH default <password>`, which a Redis without ACL passwords accepts.
      REDIS_URL: `redis://default:${SECRETS.REDIS_PASSWORD}@127.0.0.1:6379`,
      REDIS_PREFIX: createTestPrefix(),
      // PostgreSQL on 127.0.0.1 trusts the test user: the password is sent nowhere but kept.
      DATABASE_URL: databaseUrl.toString(),
      OPENAI_API_KEY: SECRETS.OPENAI_API_KEY,
      OPENAI_BASE_URL: `${upstream.url}/v1`,
      CHATKIT_WORKFLOW_ID: 'wf_security_test',
      FIRST_TOKEN_TIMEOUT_MS: '5000',
    };
    // In parallel: the migrator's advisory lock lets one of them migrate.
    [openaiServer, sseServer] = await Promise.all([
      startServer({
        ...baseEnv,
        LLM_BASE_URL: `${upstream.url}/v1`,
        LLM_API_KEY: SECRETS.LLM_API_KEY,
        LLM_MODEL: 'gpt-4o-mini',
        TRANSCRIBE_MODEL: 'whisper-1',
      }),
      startServer({
        ...baseEnv,
        STREAMWELL_PROVIDER: 'sse',
        UPSTREAM_URL: `${upstream.url}/api/stream/message`,
        UPSTREAM_HEADERS: `Authorization: Bearer ${SECRETS.UPSTREAM_TOKEN}\\nX-Team-Key: ${SECRETS.UPSTREAM_TEAM_KEY}`,
      }),
    ]);
  }, STARTUP_TIMEOUT);

  afterAll(async () => {
    await stopServerProcesses();
    await new Promise((resolve) => upstream?.server.close(resolve));
    await deleteTestKeys();
    await database?.drop();
  });

  it(
    'drives every endpoint and error path, and finds no secret anywhere',
    async () => {
      const alice = { authorization: `Bearer ${SECRETS.API_KEY_ALICE}` };
      const json = { 'content-type': 'application/json' };
      for (const [name, server] of [
        ['openai', openaiServer],
        ['sse', sseServer],
      ] as const) {
        // The whole sweep for each upstream status under `npm run soak`; one in the quick mode,
        // with the 500 answers spot-checked below.
        for (const status of scale([401], [401, 500])) {
          upstream.status.value = status;
          const label = `${name} upstream ${status}`;
          // Every endpoint, with the right key (the model call fails as the upstream says).
          for (const endpoint of endpointCases()) {
            await drive(server, label, { ...endpoint.request, headers: { ...endpoint.request.headers, ...alice } });
            // And with a wrong key, with a key of the wrong principal, and without one.
            await drive(server, `${label} wrong key`, {
              ...endpoint.request,
              headers: { ...endpoint.request.headers, authorization: `Bearer ${SECRETS.API_KEY_ALICE.slice(0, -2)}zz` },
            });
            await drive(server, `${label} no key`, endpoint.request);
          }
          // A stream that fails upstream, then its resume and cancel.
          const started = await rawRequest(server.port, {
            method: 'POST',
            path: '/api/stream/message',
            headers: { ...json, ...alice },
            body: '{"message":"hello"}',
          });
          record(`${label}: stream`, `${started.rawHeaders.join('\n')}\n\n${started.body}`);
          expect(started.body, label).toMatch(/event: error/);
          const streamId = String(started.headers['x-stream-id']);
          await drive(server, label, { method: 'GET', path: `/api/streams/${streamId}`, headers: alice });
          await drive(server, label, { method: 'POST', path: `/api/streams/${streamId}/cancel`, headers: alice });
          // ChatKit: a thread whose reply fails, dictation, the hosted session.
          await drive(server, label, {
            method: 'POST',
            path: '/chatkit',
            headers: { ...json, ...alice },
            body: '{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"hi"}],"attachments":[],"inference_options":{}}}}',
          });
          await drive(server, label, {
            method: 'POST',
            path: '/chatkit',
            headers: { ...json, ...alice },
            body: JSON.stringify({
              type: 'input.transcribe',
              params: { audio_base64: Buffer.from('OggS audio').toString('base64'), mime_type: 'audio/ogg' },
            }),
          });
          await drive(server, label, { method: 'POST', path: '/api/chatkit/session', headers: alice });
          // Invalid requests.
          for (const body of ['{', '{"message":""}', `{"message":"${'x'.repeat(9000)}"}`, '[]']) {
            await drive(server, label, {
              method: 'POST',
              path: '/api/stream/message',
              headers: { ...json, ...alice },
              body,
            });
          }
          await drive(server, label, { method: 'GET', path: `/api/streams/${randomStreamId()}`, headers: alice });
          await drive(server, label, { method: 'PATCH', path: '/api/threads', headers: alice });
          await drive(server, label, { method: 'GET', path: '/nowhere', headers: alice });
          // WebSocket: refused upgrades, and a session whose run fails upstream.
          for (const headers of [
            {},
            { authorization: 'Bearer sk-wrong' },
            { origin: 'https://evil.example' },
            { host: 'evil.example' },
          ]) {
            const refused = await rawUpgrade(server.port, headers);
            record(
              `${label}: upgrade ${JSON.stringify(headers)}`,
              `${JSON.stringify(refused.headers)}\n${refused.body}`,
            );
          }
          const frames = await new Promise<string>((resolve, reject) => {
            const socket = new WebSocket(`ws://127.0.0.1:${server.port}/ws/stream`, [
              'streamwell.v1',
              `streamwell.bearer.${Buffer.from(SECRETS.API_KEY_ALICE).toString('base64url')}`,
            ]);
            let text = '';
            socket.on('upgrade', (response) => {
              text += `${JSON.stringify(response.headers)}\n`;
            });
            socket.on('open', () => socket.send(JSON.stringify({ type: 'start', message: 'hi' })));
            socket.on('message', (data: Buffer) => {
              text += `${data.toString('utf8')}\n`;
              if (/"event":"(done|error)"/.test(data.toString('utf8'))) socket.close();
            });
            socket.on('close', () => resolve(text));
            socket.on('error', reject);
          });
          record(`${label}: websocket`, frames);
          expect(frames).toMatch(/"event":"error"/);
        }
        upstream.status.value = 500;
        for (const endpoint of endpointCases().filter((candidate) => candidate.streams === true)) {
          await drive(server, `${name} upstream 500`, {
            ...endpoint.request,
            headers: { ...endpoint.request.headers, ...alice },
          });
        }
        await drive(server, `${name} upstream 500`, { method: 'POST', path: '/api/chatkit/session', headers: alice });
        await drive(server, name, { method: 'GET', path: '/healthz' });
        await drive(server, name, { method: 'GET', path: '/metrics' });
      }
      // The upstream did receive the keys (so the echo had something to leak).
      const received = upstream.seen.join('\n');
      expect(received).toContain(SECRETS.LLM_API_KEY);
      expect(received).toContain(SECRETS.OPENAI_API_KEY);
      expect(received).toContain(SECRETS.UPSTREAM_TOKEN);
      expect(received).toContain(SECRETS.UPSTREAM_TEAM_KEY);

      // streamwell doctor against the server, with the key and the provider self-test.
      const doctorBase = existsSync(CLI) ? ['--conditions=source', '--import', 'tsx', CLI, 'doctor'] : [];
      expect(doctorBase.length, 'the CLI entry').toBeGreaterThan(0);
      upstream.status.value = 401;
      // The doctor runs and the failing starts are independent processes: all at once.
      const bad = spawnServer({
        API_KEYS: `alice:${SECRETS.API_KEY_ALICE} with space`,
        UPSTREAM_HEADERS: `no colon ${SECRETS.UPSTREAM_TOKEN}`,
        DATABASE_URL: `mysql://u:${SECRETS.DATABASE_PASSWORD}@127.0.0.1/x`,
        REDIS_URL: `http://default:${SECRETS.REDIS_PASSWORD}@127.0.0.1:6379`,
        LLM_BASE_URL: `not a url ${SECRETS.LLM_API_KEY}`,
        OPENAI_API_KEY: SECRETS.OPENAI_API_KEY,
        STREAMWELL_PROVIDER: 'agents',
        PORT: 'eighty',
        LOG_LEVEL: 'debug',
      });
      const unreachable = spawnServer({
        ...baseEnv,
        REDIS_URL: `redis://default:${SECRETS.REDIS_PASSWORD}@127.0.0.1:1`,
        LLM_BASE_URL: `${upstream.url}/v1`,
        LLM_API_KEY: SECRETS.LLM_API_KEY,
      });
      const noDatabase = spawnServer({
        ...baseEnv,
        DATABASE_URL: `postgres://postgres:${SECRETS.DATABASE_PASSWORD}@127.0.0.1:1/nowhere`,
      });
      await Promise.all([
        run(
          'doctor',
          [
            ...doctorBase,
            `${openaiServer.url}/api/stream/message`,
            '-m',
            'hi',
            '-H',
            `Authorization: Bearer ${SECRETS.API_KEY_ALICE}`,
            '--ws',
            `ws://127.0.0.1:${openaiServer.port}/ws/stream`,
            '--provider',
            '--timeout',
            '8000',
          ],
          {
            LLM_BASE_URL: `${upstream.url}/v1`,
            LLM_API_KEY: SECRETS.LLM_API_KEY,
            OPENAI_API_KEY: SECRETS.OPENAI_API_KEY,
          },
        ),
        run(
          'doctor --upstream',
          [
            ...doctorBase,
            `${sseServer.url}/api/stream/message`,
            '-m',
            'hi',
            '-H',
            `Authorization: Bearer ${SECRETS.API_KEY_ALICE}`,
            '--upstream',
            `${upstream.url}/api/stream/message`,
            '--timeout',
            '8000',
            '--json',
          ],
          { UPSTREAM_HEADERS: `Authorization: Bearer ${SECRETS.UPSTREAM_TOKEN}` },
        ),
      ]);
      for (const [label, child] of [
        ['bad config start', bad],
        ['redis unreachable start', unreachable],
        ['database unreachable start', noDatabase],
      ] as const) {
        expect((await child.exited).code, label).toBe(1);
        record(label, child.stdout() + child.stderr());
      }

      // Every log line of the running servers, last.
      for (const [name, server] of [
        ['openai', openaiServer],
        ['sse', sseServer],
      ] as const) {
        record(`${name} stdout`, server.stdout());
        record(`${name} stderr`, server.stderr());
        // The debug log did run (the scan read real lines, not an empty log).
        expect(server.stdout()).toMatch(/"level":20/);
      }
      expect(transcript.length).toBeGreaterThan(120);
      expect(leaks()).toEqual([]);
    },
    TIMEOUT,
  );
});
