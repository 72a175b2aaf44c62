/**
 * What readers get when the instance producing a run dies or stalls (three real server
 * processes sharing Redis, `RUN_LEASE_MS=1500`):
 * - `kill -9` of the producer: readers on the two other instances get the events already
 *   produced, then exactly one `error` event `producer_lost`, at most `RUN_LEASE_MS` + 5 s after
 *   the death (the contract's bound); both race to end the run, and the Redis stream holds
 *   exactly one terminal event; a later resume replays the same;
 * - a producer paused (SIGSTOP) past its lease, then continued: the run was ended by a reader's
 *   instance, and the producer's later appends are refused (nothing after the terminal event).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_API_KEY, type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';
import {
  countTerminal,
  createTestPrefix,
  deleteTestKeys,
  openRedis,
  REDIS_URL,
  readStoredEvents,
  redisPart,
  type TestRedis,
} from '../helpers/redis.ts';
import { type ServerProcess, startServer, stopServerProcesses } from '../helpers/server-process.ts';
import type { ReceivedEvent } from '../server/helpers/sse-client.ts';
import { followResume, isTerminal, type PacedScript, pacedReply, startPaced } from './helpers/instances.ts';

const redis = redisPart();
// Short, so that the suite is quick, but not so short that a producer starved of CPU on a busy
// machine misses its refreshes (every RUN_LEASE_MS / 3) and is taken over while alive: with 600 ms
// (400 ms of slack) that happened on a 2-core machine at load 20 (behind redis-outage's proxy).
const RUN_LEASE_MS = 1500;
/** The contract: readers learn of a dead producer within the lease plus 5 s. */
const PRODUCER_LOST_BOUND_MS = RUN_LEASE_MS + 5000;

// Generous bounds: every wait is on an event, and a 2-core machine under load is slow to start
// Node processes (each start costs about 2.5 CPU seconds).
describe.skipIf(!redis.available)('a producing instance dies or stalls', { timeout: 60_000 }, () => {
  const prefix = createTestPrefix();
  let fake: FakeOpenAI;
  let client: TestRedis;
  // A produces the first run and is killed; B produces the second and is paused; C reads both.
  let a: ServerProcess;
  let b: ServerProcess;
  let c: ServerProcess;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: pacedReply });
    client = await openRedis();
    const env = {
      REDIS_URL,
      REDIS_PREFIX: prefix,
      RUN_LEASE_MS: String(RUN_LEASE_MS),
      LLM_BASE_URL: fake.baseUrl,
      LLM_API_KEY: FAKE_API_KEY,
    };
    [a, b, c] = await Promise.all([startServer(env), startServer(env), startServer(env)]);
  }, 180_000);

  afterAll(async () => {
    await stopServerProcesses();
    await fake?.close();
    await client?.close();
    await deleteTestKeys();
  });

  const start = (server: ServerProcess, script: PacedScript) => startPaced(server.url, script);
  const resume = (server: ServerProcess, streamId: string, headers: Record<string, string> = {}) =>
    followResume(server.url, streamId, headers);

  /** The produced events, then exactly one `producer_lost` error, after every other id. */
  function expectProducerLost(events: readonly ReceivedEvent[]): void {
    const ids = events.map((event) => event.id);
    expect(ids).toEqual([...new Set(ids)].sort((x, y) => x - y));
    expect(events.filter(isTerminal)).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { code: 'producer_lost' } });
  }

  it('kill -9 of the producer: readers on two instances get the produced events, then one producer_lost', async () => {
    const { streamId, follower: onA } = await start(a, { tokens: 2000, delayMs: 20 });
    const [onB, onC] = await Promise.all([resume(b, streamId), resume(c, streamId, { 'last-event-id': '2' })]);
    await onB.seen(8);
    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await a.exited;
    // Both B and C follow the run, so both race to end it once A's lease lapses.
    const bound = PRODUCER_LOST_BOUND_MS - (Date.now() - killedAt);
    await Promise.all([onB.terminal(bound), onC.terminal(bound)]);
    expect(await onA.closed).toHaveProperty('error');

    expectProducerLost(onB.events);
    expect(onC.events).toEqual(onB.events.filter((event) => event.id > 2));
    // What A's own client saw before the kill is the start of what B saw (same ids and data).
    const beforeKill = onA.events.filter((event) => event.id < (onB.events.at(-1) as ReceivedEvent).id);
    expect(onB.events.slice(0, beforeKill.length)).toEqual(beforeKill);

    const stored = await readStoredEvents(client, prefix, streamId);
    expect(countTerminal(stored)).toBe(1);
    expect(stored.map((event) => ({ id: event.id, event: event.event, data: JSON.parse(event.json) }))).toEqual(
      onB.events,
    );
    // A later resume, on either survivor, replays the same; at the terminal event there is nothing more.
    const [replayB, replayC] = await Promise.all([resume(b, streamId), resume(c, streamId)]);
    await Promise.all([replayB.closed, replayC.closed]);
    expect(replayB.events).toEqual(onB.events);
    expect(replayC.events).toEqual(onB.events);
    const terminalId = (onB.events.at(-1) as ReceivedEvent).id;
    const atEnd = await fetch(`${c.url}/api/streams/${streamId}`, { headers: { 'last-event-id': String(terminalId) } });
    expect(atEnd.status).toBe(204);
  });

  it('a producer paused past its lease cannot append after it resumes', async () => {
    const { streamId, follower: onB } = await start(b, { tokens: 2000, delayMs: 20 });
    const onC = await resume(c, streamId);
    await onC.seen(6);
    process.kill(b.pid, 'SIGSTOP');
    try {
      // C's instance sees the lease lapse and ends the run.
      await onC.terminal(PRODUCER_LOST_BOUND_MS + 5000);
    } finally {
      process.kill(b.pid, 'SIGCONT');
    }
    expectProducerLost(onC.events);
    const endedAt = (onC.events.at(-1) as ReceivedEvent).id;

    // B wakes up with upstream tokens waiting: its run learns the lease is gone and ends itself.
    expect(await onB.terminal()).toMatchObject({ event: 'error', data: { code: 'producer_lost' } });
    // A new run on B goes through the same Redis connection as B's refused appends and end, so
    // once C sees it, Redis has answered all of them.
    const next = await start(b, { tokens: 3, delayMs: 0 });
    const nextOnC = await resume(c, next.streamId);
    await Promise.all([next.follower.closed, nextOnC.closed]);
    expect(nextOnC.events.at(-1)).toMatchObject({ event: 'done', data: { finishReason: 'stop' } });
    expect(nextOnC.events).toEqual(next.follower.events);

    const stored = await readStoredEvents(client, prefix, streamId);
    expect(countTerminal(stored)).toBe(1);
    expect(stored.at(-1)).toMatchObject({ id: endedAt, event: 'error' });
    expect(stored.map((event) => ({ id: event.id, event: event.event, data: JSON.parse(event.json) }))).toEqual(
      onC.events,
    );
    // A resume replays exactly that, not what B produced locally after its lease lapsed.
    const replay = await resume(c, streamId);
    await replay.closed;
    expect(replay.events).toEqual(onC.events);
  });
});
