/**
 * The reference server's operational side: configuration validation, /healthz, /metrics, logs
 * carrying the stream id, the web page fallback, and the graceful drain.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, workerShare } from '../../apps/server/src/config.ts';
import { createScriptedProvider } from './helpers/scripted-provider.ts';
import { postMessage, readSse } from './helpers/sse-client.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('configuration', () => {
  it('has a working default for every variable', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8000,
      workers: 1,
      host: '127.0.0.1',
      streamTimeoutMs: 120_000,
      heartbeatMs: 15_000,
      checkpointEvery: 50,
      disconnectGraceMs: 30_000,
      streamRetentionMs: 300_000,
      maxBodyBytes: 65_536,
      maxMessageChars: 8000,
      maxConcurrentStreams: 1000,
      firstTokenTimeoutMs: 60_000,
      idleTimeoutMs: 30_000,
      logLevel: 'info',
      corsOrigins: [],
      apiKeys: [],
      provider: undefined,
    });
  });

  it('parses lists and treats blank values as unset', () => {
    const config = loadConfig({
      PORT: ' 9000 ',
      CORS_ORIGINS: 'http://localhost:3000, https://App.Example.com:443/',
      API_KEYS: 'alice:sk-1,sk-2',
      LOG_LEVEL: 'DEBUG',
      LLM_BASE_URL: '',
    });
    expect(config.port).toBe(9000);
    expect(config.corsOrigins).toEqual(['http://localhost:3000', 'https://app.example.com']);
    expect(config.apiKeys).toEqual([
      { id: 'alice', key: 'sk-1' },
      { id: 'key2', key: 'sk-2' },
    ]);
    expect(config.logLevel).toBe('debug');
    expect(config.llmBaseUrl).toBeUndefined();
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['HEARTBEAT_MS', '-5'],
    ['STREAM_TIMEOUT_MS', '1.5'],
    ['MAX_CONCURRENT_STREAMS', '0'],
    ['CORS_ORIGINS', '*'],
    ['CORS_ORIGINS', 'http://ok.example,not a url'],
    ['CORS_ORIGINS', 'https://example.com/path'],
    ['LLM_BASE_URL', 'localhost:11434'],
    ['STREAMWELL_PROVIDER', 'anthropic'],
    ['LOG_LEVEL', 'verbose'],
    ['API_KEYS', 'a:k1,a:k2'],
    ['UPSTREAM_URL', 'ftp://backend/api/stream/message'],
    ['UPSTREAM_HEADERS', 'Authorization Bearer abc'],
    ['UPSTREAM_HEADERS', 'Content-Length: 12'],
    ['WORKERS', '0'],
    ['WORKERS', 'many'],
    ['WORKERS', '1.5'],
    ['WORKERS', '257'],
    // Past 2^31 - 1 ms Node's timers fire at once: every stream would time out, every drain be skipped.
    ['STREAM_TIMEOUT_MS', '2147483648'],
    ['SHUTDOWN_DEADLINE_MS', '2147483647'],
    ['WS_IDLE_TIMEOUT_MS', '9999999999'],
  ])('refuses %s=%j with a message naming the variable', (variable, value) => {
    let error: unknown;
    try {
      loadConfig({ [variable]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variables).toContain(variable);
    expect((error as ConfigError).message).toContain(variable);
  });

  it('reads WORKERS (auto is the cores this process may use) and refuses several without REDIS_URL', () => {
    const redis = { REDIS_URL: 'redis://127.0.0.1:6379' };
    expect(loadConfig({ WORKERS: '3', ...redis }).workers).toBe(3);
    expect(loadConfig({ WORKERS: 'AUTO', ...redis }).workers).toBe(availableParallelism());
    expect(loadConfig({ WORKERS: '1' }).workers).toBe(1);
    expect(() => loadConfig({ WORKERS: '2' })).toThrow(/WORKERS: is 2 but REDIS_URL is not set/);
    // Each worker admits its share of MAX_CONCURRENT_STREAMS, rounded up.
    expect(workerShare(1000, 1)).toBe(1000);
    expect(workerShare(1000, 3)).toBe(334);
    expect(workerShare(1, 4)).toBe(1);
  });

  it('refuses a provider that cannot work with the other settings', () => {
    expect(() => loadConfig({ STREAMWELL_PROVIDER: 'openai' })).toThrow(/LLM_BASE_URL/);
    expect(() => loadConfig({ STREAMWELL_PROVIDER: 'agents' })).toThrow(/OPENAI_API_KEY/);
    expect(() => loadConfig({ STREAMWELL_PROVIDER: 'sse' })).toThrow(/UPSTREAM_URL/);
  });

  it('reads the sse provider settings; UPSTREAM_HEADERS values never appear in a message', () => {
    const config = loadConfig({
      STREAMWELL_PROVIDER: 'sse',
      UPSTREAM_URL: 'http://127.0.0.1:8001/api/stream/message',
      UPSTREAM_HEADERS: 'Authorization: Bearer s3cret-value\nX-Team: web',
    });
    expect(config.provider).toBe('sse');
    expect(config.upstreamUrl).toBe('http://127.0.0.1:8001/api/stream/message');
    expect(config.upstreamHeaders).toEqual({ authorization: 'Bearer s3cret-value', 'x-team': 'web' });
    let error: unknown;
    try {
      loadConfig({ UPSTREAM_HEADERS: 'Authorization: Bearer s3cret-value\nAuthorization: Bearer other-value' });
    } catch (caught) {
      error = caught;
    }
    expect((error as ConfigError).message).toMatch(/UPSTREAM_HEADERS line 2: authorization is given twice/);
    expect((error as ConfigError).message).not.toMatch(/s3cret|other-value/);
  });

  it('main exits 1 with the variable named when a value is bad', async () => {
    const { code, stderr } = await runMain({ PORT: 'eighty', LOG_LEVEL: 'silent' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/PORT: must be a whole number/);
  });
});

/** Runs the reference server's entry point (sources) until it exits. */
async function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const main = fileURLToPath(new URL('../../apps/server/src/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', main], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, stderr };
}

describe('main: when it cannot listen', () => {
  it('names a port in use, with the variable to change, and exits 1 without a stack trace', async () => {
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'streamwell-listen-'));
    try {
      const { code, stderr } = await runMain({
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'silent',
        DATABASE_URL: `file:${join(dir, 'threads.db')}`,
      });
      expect(code).toBe(1);
      expect(stderr).toContain(`127.0.0.1:${port} is already in use`);
      expect(stderr).toContain(`PORT=${port + 1} npm start`);
      expect(stderr).not.toMatch(/\n\s+at /);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('/healthz and /metrics', () => {
  it('reports health, and metrics for streams, first token, gaps, tokens and outcomes', async () => {
    const scripted = createScriptedProvider({ autoReply: ['a', 'b', 'c'] });
    server = await startTestServer({ provider: scripted.provider });
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', provider: 'scripted', demo: false });
    await readSse(await postMessage(server.url, { message: 'hi' }));
    await postMessage(server.url, { message: '' });
    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await metrics.text();
    expect(text).toMatch(/^streamwell_active_streams 0$/m);
    expect(text).toMatch(/^streamwell_time_to_first_token_seconds_count 1$/m);
    expect(text).toMatch(/^streamwell_inter_token_seconds_count 2$/m);
    expect(text).toMatch(/^streamwell_inter_token_seconds_bucket\{le="\+Inf"\} 2$/m);
    expect(text).toMatch(/^streamwell_tokens_total 3$/m);
    expect(text).toMatch(/^streamwell_stream_outcomes_total\{status="complete",code="stop"\} 1$/m);
    expect(text).toMatch(/^streamwell_http_refusals_total\{code="empty_message"\} 1$/m);
    expect(text).toMatch(/^streamwell_stream_responses_closed_total\{reason="end"\} 1$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
  });

  it('GET / serves the built page when there is one', async () => {
    const webRoot = mkdtempSync(join(tmpdir(), 'streamwell-web-'));
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>streamwell</title>');
    server = await startTestServer({ provider: createScriptedProvider().provider, deps: { webRoot } });
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<title>streamwell</title>');
    const missing = await fetch(`${server.url}/missing.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('GET / explains how to build the page when apps/web/dist is missing', async () => {
    server = await startTestServer({ provider: createScriptedProvider().provider });
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/npm run build/);
  });
});

describe('logs', () => {
  it('logs the lifecycle at debug and one summary at info, each line with the stream id', async () => {
    const scripted = createScriptedProvider({ autoReply: ['a', 'b', 'c', 'd'] });
    server = await startTestServer({
      provider: scripted.provider,
      captureLogs: true,
      config: { logLevel: 'debug', checkpointEvery: 2 },
    });
    const response = await postMessage(server.url, { message: 'hi' });
    const streamId = response.headers.get('x-stream-id');
    await readSse(response);
    const lines = server.logs.filter((line) => line.streamId === streamId);
    const messages = lines.map((line) => line.msg);
    // The run starts (its model request leaves) before the turn is stored and the reply opens
    // ("endpoint hit"); a model this fast may answer before that.
    expect(messages[0]).toBe('run started');
    expect(messages).toContain('endpoint hit');
    expect(messages.indexOf('first token')).toBeGreaterThan(0);
    expect(messages.indexOf('first token')).toBeLessThan(messages.indexOf('token count'));
    expect(messages).toContain('token count');
    expect(messages).toContain('outcome');
    const summary = lines.find((line) => line.msg === 'stream summary');
    expect(summary).toMatchObject({ level: 30, tokens: 4, status: 'complete', outcome: 'stop' });
    expect(typeof summary?.ttftMs).toBe('number');
    expect(typeof summary?.durationMs).toBe('number');
    const debugLines = lines.filter((line) => line.level === 20);
    expect(debugLines.length).toBeGreaterThanOrEqual(5);
  });
});

describe('graceful drain', () => {
  it('refuses new streams, lets running ones finish within the deadline, then ends the rest with server_shutdown', async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider });
    const finishing = await postMessage(server.url, { message: 'finishes' });
    const stuck = await postMessage(server.url, { message: 'stuck' });
    const finishingCall = await scripted.call(0);
    await scripted.call(1);
    const finishingRead = readSse(finishing);
    const stuckRead = readSse(stuck);
    const drained = server.app.shutdown(300);
    const health = await fetch(`${server.url}/healthz`).catch(() => undefined);
    if (health !== undefined) expect(health.status).toBe(503);
    expect(server.app.context.registry.draining).toBe(true);
    finishingCall.tokens('done in time');
    finishingCall.end();
    expect((await finishingRead).events.at(-1)?.event).toBe('done');
    const stuckEvents = (await stuckRead).events;
    expect(stuckEvents.at(-1)?.data).toMatchObject({ code: 'server_shutdown' });
    await drained;
    expect(server.app.context.streams.openStreams).toBe(0);
    // Through the conversations layer the refusal is a rejected promise (the turn is not written).
    await expect(Promise.resolve().then(() => server?.app.context.registry.start({ message: 'late' }))).rejects.toThrow(
      /shutting down/,
    );
  });
});

describe('the real process', () => {
  it('serves the demo model with no configuration and drains on SIGTERM: the open stream ends with server_shutdown, exit 0', async () => {
    const main = fileURLToPath(new URL('../../apps/server/src/main.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url));
    // A working directory of its own: with no DATABASE_URL the threads go to ./data/streamwell.db there.
    const cwd = mkdtempSync(join(tmpdir(), 'streamwell-main-'));
    const child = spawn(process.execPath, ['--conditions=source', '--import', pathToFileURL(tsx).href, main], {
      cwd,
      env: { PATH: process.env.PATH, PORT: '0', LOG_LEVEL: 'info', SHUTDOWN_DEADLINE_MS: '200' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let stdout = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const match = /streamwell listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
          if (match?.[1] !== undefined) resolve(match[1]);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${stdout}`)));
      });
      expect(stdout).toMatch(/DEMO model/);
      const response = await postMessage(url, { message: 'hello' });
      const reading = readSse(response);
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      const first = await fetch(`${url}/healthz`);
      expect(await first.json()).toMatchObject({ status: 'ok', demo: true });
      expect(stdout).toMatch(/thread store ready/);
      expect(existsSync(join(cwd, 'data', 'streamwell.db'))).toBe(true);
      // The message was stored before the model was called: its thread is listed already.
      const listed = (await (await fetch(`${url}/api/threads`)).json()) as { threads: { title: string }[] };
      expect(listed.threads.map((thread) => thread.title)).toEqual(['hello']);
      child.kill('SIGTERM');
      const read = await reading;
      expect(read.events[0]?.data).toMatchObject({ demo: true, provider: 'demo' });
      expect(read.events.at(-1)).toMatchObject({ event: 'error', data: { code: 'server_shutdown' } });
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      rmSync(cwd, { recursive: true, force: true });
    }
    // A real process from sources (tsx) that also opens and migrates its database: on a loaded
    // 2-core machine its start alone has taken over 15 s.
  }, 60_000);
});
