/**
 * Retries before the first byte of the upstream's answer, end to end: the reference server (real
 * Fastify, real sockets) with each real provider (`openai` on undici, `agents` on the real
 * `@openai/agents` and `openai` packages, `sse`) in front of a fake upstream that answers 429 with
 * `Retry-After`, 502, 503, resets or refuses the connection a few times and then streams. Each
 * retry must show in a `warn` log line and in `streamwell_upstream_retries_total`; a failure after
 * a token, a 500 and a too long `Retry-After` are not retried.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  createAgentsProvider,
  createOpenAICompatibleProvider,
  createSseUpstreamProvider,
  type Provider,
} from 'streamwell/server';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeOpenAI, type FakeReply, startFakeOpenAI } from '../helpers/fake-openai.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/restartable-tcp-proxy.ts';
import { until } from '../helpers/until.ts';
import { postMessage, readSse, textOf } from '../server/helpers/sse-client.ts';
import { startTestServer, type TestServer } from '../server/helpers/test-server.ts';

/** A fake upstream under test: its provider, its script, and how many generation requests it saw. */
interface Upstream {
  readonly provider: Provider;
  enqueue(...replies: FakeReply[]): void;
  requests(): number;
  close(): Promise<void>;
}

/**
 * A minimal `sse` provider backend (`data: {"token": ...}`, then `data: [DONE]`) that plays the
 * same {@link FakeReply} fields as the fake OpenAI server: status with Retry-After, a reset
 * before the head, tokens, a reset after N tokens.
 */
async function startSseUpstream(): Promise<{
  url: string;
  enqueue(...r: FakeReply[]): void;
  requests(): number;
  close(): Promise<void>;
}> {
  const queue: FakeReply[] = [];
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      count += 1;
      const reply = queue.shift() ?? {};
      if (reply.resetBeforeHeaders) {
        request.socket.resetAndDestroy();
        return;
      }
      if (reply.status !== undefined) {
        response.writeHead(reply.status, {
          'content-type': 'application/json',
          ...(reply.retryAfter === undefined ? {} : { 'retry-after': reply.retryAfter }),
        });
        response.end(JSON.stringify({ detail: `busy (${reply.status})` }));
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const tokens = reply.tokens ?? ['Hello', ' there'];
      tokens.forEach((token, index) => {
        if (reply.resetAfterTokens !== undefined && index >= reply.resetAfterTokens) return;
        response.write(`data: ${JSON.stringify({ token })}\n\n`);
      });
      if (reply.resetAfterTokens !== undefined) {
        // After what was written reached the socket: the client did get those tokens.
        response.write('', () => setImmediate(() => request.socket.resetAndDestroy()));
        return;
      }
      response.end('data: [DONE]\n\n');
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/stream/message`,
    enqueue: (...replies) => queue.push(...replies),
    requests: () => count,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const cleanups: Array<() => Promise<void>> = [];
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The fake OpenAI server behind a TCP proxy that can refuse connections. */
async function startFake(): Promise<{ fake: FakeOpenAI; proxy: TcpProxy; baseUrl: string }> {
  const fake = await startFakeOpenAI();
  const proxy = await startTcpProxy(Number(new URL(fake.url).port));
  cleanups.push(
    () => fake.close(),
    () => proxy.close(),
  );
  return { fake, proxy, baseUrl: `http://127.0.0.1:${proxy.port}/v1` };
}

type Kind = 'openai' | 'openai-generator' | 'agents' | 'sse';

async function upstreamFor(kind: Kind): Promise<Upstream & { proxy?: TcpProxy }> {
  if (kind === 'sse') {
    const sse = await startSseUpstream();
    const provider = createSseUpstreamProvider({ url: sse.url });
    cleanups.push(
      () => sse.close(),
      () => provider.close(),
    );
    return { provider, enqueue: sse.enqueue, requests: sse.requests, close: sse.close };
  }
  const { fake, proxy, baseUrl } = await startFake();
  let provider: Provider;
  if (kind === 'agents') {
    // The default maxRetries: the OpenAI client must not retry on its own (one request per attempt).
    provider = createAgentsProvider({ apiKey: fake.apiKey as string, baseUrl });
  } else {
    const lean = createOpenAICompatibleProvider({ baseUrl, apiKey: fake.apiKey, model: 'gpt-4o-mini' });
    cleanups.push(() => lean.close());
    // The generator path (`stream`) has its own request code: the run uses it when a provider
    // has no `streamBatches`.
    provider =
      kind === 'openai-generator'
        ? { name: lean.name, model: lean.model, stream: (request) => lean.stream(request) }
        : lean;
  }
  return {
    provider,
    proxy,
    enqueue: (...replies) => fake.enqueue(...replies),
    requests: () => fake.generations.length,
    close: () => fake.close(),
  };
}

async function serve(provider: Provider, config: { firstTokenTimeoutMs?: number; upstreamMaxAttempts?: number } = {}) {
  server = await startTestServer({
    provider,
    captureLogs: true,
    config: { logLevel: 'info', firstTokenTimeoutMs: 30_000, ...config },
  });
  return server;
}

async function stream(url: string) {
  const response = await postMessage(url, { message: 'hi' });
  expect(response.status).toBe(200);
  return (await readSse(response)).events;
}

async function retryMetric(url: string, provider: string, reason: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((entry) => entry.startsWith(`streamwell_upstream_retries_total{provider="${provider}",reason="${reason}"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

function retryLogs(test: TestServer) {
  return test.logs.filter((line) => line.msg === 'upstream failed before answering; retrying');
}

const providerName = (kind: Kind): string => (kind === 'openai-generator' ? 'openai' : kind);

describe.each<Kind>(['openai', 'openai-generator', 'agents', 'sse'])('%s provider', (kind) => {
  it('retries 429 (Retry-After), 502 and a reset before the head, then streams the whole reply once', async () => {
    const upstream = await upstreamFor(kind);
    upstream.enqueue(
      { status: 429, retryAfter: '0.2' },
      { status: 502 },
      { resetBeforeHeaders: true },
      { tokens: ['Once', ' only'] },
    );
    const test = await serve(upstream.provider, { upstreamMaxAttempts: 5 });
    const events = await stream(test.url);
    expect(events.at(-1)?.event).toBe('done');
    expect(textOf(events)).toBe('Once only');
    expect(upstream.requests()).toBe(4);
    const logs = retryLogs(test);
    expect(logs.map((line) => [line.attempt, line.reason])).toEqual([
      [2, 'rate_limited'],
      [3, 'bad_gateway'],
      [4, 'reset'],
    ]);
    const streamId = events[0]?.data.streamId;
    for (const line of logs) {
      expect(line.level).toBe(40);
      expect(line.streamId).toBe(streamId);
      expect(line.provider).toBe(providerName(kind));
      expect(typeof line.delayMs).toBe('number');
      expect(JSON.stringify(line)).not.toContain('sk-fake');
    }
    expect(logs[0]?.delayMs).toBe(200);
    expect(logs[0]?.retryAfter).toBe(true);
    expect(await retryMetric(test.url, providerName(kind), 'rate_limited')).toBe(1);
    expect(await retryMetric(test.url, providerName(kind), 'bad_gateway')).toBe(1);
    expect(await retryMetric(test.url, providerName(kind), 'reset')).toBe(1);
  });

  it('gives up after UPSTREAM_MAX_ATTEMPTS with upstream_error and the count', async () => {
    const upstream = await upstreamFor(kind);
    upstream.enqueue({ status: 503 }, { status: 503 }, { status: 503 });
    const test = await serve(upstream.provider, { upstreamMaxAttempts: 2 });
    const events = await stream(test.url);
    const last = events.at(-1);
    expect(last?.event).toBe('error');
    expect(last?.data.code).toBe('upstream_error');
    expect(String(last?.data.error)).toContain('Gave up after 2 attempts.');
    expect(upstream.requests()).toBe(2);
  });

  it('fails at once when Retry-After is longer than the first-token budget left', async () => {
    const upstream = await upstreamFor(kind);
    upstream.enqueue({ status: 429, retryAfter: '120' });
    const test = await serve(upstream.provider, { firstTokenTimeoutMs: 20_000 });
    const events = await stream(test.url);
    expect(events.at(-1)?.data.code).toBe('upstream_error');
    expect(String(events.at(-1)?.data.error)).toContain('asked to retry after 120000 ms (Retry-After)');
    expect(upstream.requests()).toBe(1);
    expect(retryLogs(test)).toHaveLength(0);
  });

  it('does not retry a 500, nor a reset after a token (the partial is kept)', async () => {
    const upstream = await upstreamFor(kind);
    upstream.enqueue({ status: 500 });
    const test = await serve(upstream.provider);
    const failed = await stream(test.url);
    expect(failed.at(-1)?.data.code).toBe('upstream_error');
    expect(upstream.requests()).toBe(1);

    upstream.enqueue({ tokens: ['kept', ' part', ' lost'], resetAfterTokens: 2 });
    const partial = await stream(test.url);
    expect(partial.at(-1)?.event).toBe('error');
    expect(textOf(partial)).toBe('kept part');
    expect(upstream.requests()).toBe(2);
    expect(retryLogs(test)).toHaveLength(0);
  });
});

describe.each<Kind>(['openai', 'agents'])('%s provider, upstream down', (kind) => {
  it('retries a refused connection until the upstream is back', async () => {
    const upstream = await upstreamFor(kind);
    const proxy = upstream.proxy as TcpProxy;
    await proxy.stop();
    const test = await serve(upstream.provider, { upstreamMaxAttempts: 10 });
    const response = await postMessage(test.url, { message: 'hi' });
    await until(() => retryLogs(test).length >= 1, 'a first retry of the refused connection');
    await proxy.start();
    const events = (await readSse(response)).events;
    expect(events.at(-1)?.event).toBe('done');
    expect(textOf(events)).toBe('Hello from the fake model.');
    expect(retryLogs(test).every((line) => line.reason === 'refused')).toBe(true);
    expect(await retryMetric(test.url, kind, 'refused')).toBeGreaterThanOrEqual(1);
    expect(upstream.requests()).toBe(1);
  });
});
