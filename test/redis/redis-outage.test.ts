/**
 * Redis going away, for real server processes: unreachable at start (the process exits non-zero
 * naming `REDIS_URL`, password hidden), and lost mid-stream (two instances reach Redis through a
 * TCP proxy that the test cuts and restores, instead of restarting the Redis other suites share):
 * runs in flight end with a clear `error` event, the processes stay up, and once Redis is back a
 * new stream works end to end across instances.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_API_KEY, type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';
import {
  countTerminal,
  createTestPrefix,
  deleteTestKeys,
  openRedis,
  pollUntil,
  REDIS_PORT,
  readStoredEvents,
  redisPart,
  type TestRedis,
} from '../helpers/redis.ts';
import {
  type ServerProcess,
  type SpawnedServer,
  spawnServer,
  startServer,
  stopServerProcesses,
} from '../helpers/server-process.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { type ReceivedEvent, textOf } from '../server/helpers/sse-client.ts';
import {
  followResume,
  isTerminal,
  type PacedScript,
  pacedReply,
  pacedText,
  postPaced,
  SseFollower,
  within,
} from './helpers/instances.ts';

const redis = redisPart();

// Generous bounds: every wait is on an event, and a 2-core machine under load is slow to start
// Node processes (each start costs about 2.5 CPU seconds).
describe.skipIf(!redis.available)('Redis unreachable or lost', { timeout: 60_000 }, () => {
  const prefix = createTestPrefix();
  let fake: FakeOpenAI;
  let client: TestRedis;
  let proxy: TcpProxy;
  let a: ServerProcess;
  let b: ServerProcess;
  // Started with the others to share their start-up time; its test waits for its exit.
  let unreachable: SpawnedServer;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: pacedReply });
    client = await openRedis();
    proxy = await startTcpProxy(REDIS_PORT);
    unreachable = spawnServer({ REDIS_URL: 'redis://streamwell:s3cret-pw@127.0.0.1:1', LOG_LEVEL: 'silent' });
    const env = {
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      REDIS_PREFIX: prefix,
      // The proxy lives in the (busy) test process and delays every lease refresh a little: a
      // lease of a few seconds keeps a slow refresh from looking like a dead producer.
      RUN_LEASE_MS: '3000',
      LLM_BASE_URL: fake.baseUrl,
      LLM_API_KEY: FAKE_API_KEY,
    };
    [a, b] = await Promise.all([startServer(env), startServer(env)]);
  }, 180_000);

  afterAll(async () => {
    await stopServerProcesses();
    await proxy?.close();
    await fake?.close();
    await client?.close();
    await deleteTestKeys();
  });

  const post = async (server: ServerProcess, script: PacedScript) => (await postPaced(server.url, script)).response;
  const resume = (server: ServerProcess, streamId: string) => followResume(server.url, streamId);

  const healthy = async (server: ServerProcess): Promise<number> => (await fetch(`${server.url}/healthz`)).status;

  it('Redis unreachable at start: the process exits non-zero with a message naming REDIS_URL', async () => {
    const { code } = await unreachable.exited;
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(unreachable.stderr()).toMatch(/REDIS_URL=redis:\/\/streamwell:\*\*\*@127\.0\.0\.1:1/);
    expect(unreachable.stderr()).not.toContain('s3cret-pw');
  });

  it('Redis lost mid-stream: the run ends with a clear error, both processes stay up, and recover', async () => {
    const index = fake.generations.length;
    const response = await post(a, { tokens: 2000, delayMs: 20 });
    expect(response.status).toBe(200);
    const streamId = response.headers.get('x-stream-id') as string;
    const onA = new SseFollower(response, 'start on A');
    const onB = await resume(b, streamId);
    await onB.seen(6);
    const upstream = await fake.waitForRequest(index);

    proxy.cut();
    // The producer cannot replicate: its run ends with store_unavailable and its model call stops.
    expect(await onA.terminal()).toMatchObject({ event: 'error', data: { code: 'store_unavailable' } });
    expect(await within(upstream.closed, 'the upstream request to close')).toEqual({ aborted: true });
    expect(await healthy(a)).toBe(200);
    expect(await healthy(b)).toBe(200);
    // A new stream while Redis is away is refused with a JSON error, not a hang or a crash.
    const refused = await post(a, { tokens: 3, delayMs: 0 });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: 'store_unavailable' } });

    proxy.restore();
    // The reader on B learns how the run ended once Redis is reachable again: the producer's own
    // end (store_unavailable, retried) or, if B's instance saw the lease lapse first, producer_lost.
    const terminal = await onB.terminal(30_000);
    expect(terminal.event).toBe('error');
    expect(['store_unavailable', 'producer_lost']).toContain(terminal.data.code);
    expect(onB.events.filter(isTerminal)).toHaveLength(1);
    const produced = onB.events.slice(0, -1);
    expect(onA.events.slice(0, produced.length)).toEqual(produced);
    const stored = await readStoredEvents(client, prefix, streamId);
    expect(countTerminal(stored)).toBe(1);
    expect(stored.map((event) => ({ id: event.id, event: event.event, data: JSON.parse(event.json) }))).toEqual(
      onB.events,
    );

    // Both instances reconnect (with backoff): new streams work end to end, each way.
    for (const [producer, reader] of [
      [a, b],
      [b, a],
    ] as const) {
      const script = { tokens: 5, delayMs: 0 };
      let started: Response | undefined;
      await pollUntil(
        async () => {
          started = await post(producer, script);
          if (started.status !== 200) await started.body?.cancel();
          return started.status === 200;
        },
        'a stream to start after Redis returned',
        30_000,
      );
      const ok = started as Response;
      const onProducer = new SseFollower(ok, 'start after recovery');
      const onReader = await resume(reader, ok.headers.get('x-stream-id') as string);
      await Promise.all([onProducer.closed, onReader.closed]);
      expect(onProducer.events.at(-1)).toMatchObject({ event: 'done', data: { finishReason: 'stop' } });
      expect(textOf(onProducer.events)).toBe(pacedText(script));
      expect(onReader.events).toEqual(onProducer.events);
    }
    expect(a.child.exitCode).toBeNull();
    expect(b.child.exitCode).toBeNull();
    expect(await healthy(a)).toBe(200);
    expect(await healthy(b)).toBe(200);
    expect((onB.events.at(-1) as ReceivedEvent).id).toBe((stored.at(-1) as { id: number }).id);
  }, 90_000);
});
