/**
 * Property tests of the Redis run store (`createRedisRunStore`, real Redis on loopback, a test key
 * prefix), with the model and invariants of the memory suite (`run-event-log.property.test.ts`):
 * a producer store A appends through its replica (single events and bursts flushed in one script
 * call), readers on store A or on another instance's store B follow from every kind of cursor
 * (none, start, middle, last, beyond; while running, at the terminal event, after it), detach,
 * ask for a cancel through B (delivered to A's control stream), and the run is finalized; random
 * event-loop turns between the steps let readers join while a blocking read is under way.
 *
 * Checked: every reader gets a gap-free, duplicate-free run of ids right after its cursor with the
 * model's data, at most one terminal event and nothing after it; readers still attached get
 * everything up to the terminal event; a late reader sees the same history as an early one; the
 * stored stream is exactly the model; the metadata reports the terminal id. A second property
 * lets runs expire (short retention): then `lookup` answers not found and a reader still
 * following is told it was evicted.
 */
import fc from 'fast-check';
import type { RedisRunStore, RunEvent, RunLogReplica, RunSubscriber } from 'streamwell/server';
import { createRedisRunStore } from 'streamwell/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenJson } from '../../packages/streamwell/src/server/run-log.ts';
import {
  countTerminal,
  createTestPrefix,
  deleteTestKeys,
  openRedis,
  pollUntil,
  REDIS_URL,
  readStoredEvents,
  redisPart,
  type TestRedis,
} from '../helpers/redis.ts';
import { propertyRuns } from './helpers/property-runs.ts';
import {
  type CursorKind,
  copy,
  cursorFor,
  expectedAfter,
  expectWellFormedSuffix,
  isTerminal,
  type Received,
} from './helpers/run-log-model.ts';
import { scale } from './helpers/soak-mode.ts';

const redis = redisPart();

type StoreCommand =
  | { readonly kind: 'append'; readonly count: number }
  | { readonly kind: 'follow'; readonly cursor: CursorKind; readonly pick: number; readonly onB: boolean }
  | { readonly kind: 'detach'; readonly pick: number }
  | { readonly kind: 'tick' }
  | { readonly kind: 'cancel' }
  | { readonly kind: 'finalize' };

const storeCommands = fc.array(
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 4 }) }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('follow' as const),
        cursor: fc.constantFrom<CursorKind>('none', 'start', 'middle', 'last', 'beyond'),
        pick: fc.nat(),
        onB: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('detach' as const), pick: fc.nat() }) },
    { weight: 3, arbitrary: fc.constant({ kind: 'tick' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'cancel' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'finalize' as const }) },
  ),
  { maxLength: 30 },
);

/** One event-loop turn: the store's microtask flushes and socket reads get to run. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Reader {
  readonly received: Received;
  readonly detach: () => void;
  /** Resolves at the terminal event. */
  readonly ended: Promise<void>;
}

function follow(store: RedisRunStore, streamId: string, after: number | undefined): Reader {
  const received: Received = { after, events: [], evicted: 0, late: [], detached: false };
  let resolveEnded = (): void => {};
  const ended = new Promise<void>((resolve) => {
    resolveEnded = resolve;
  });
  const take = (event: RunEvent): void => {
    if (received.evicted > 0 || received.events.some(isTerminal)) received.late.push(`${event.id} ${event.event}`);
    received.events.push(copy(event));
    if (isTerminal(event)) resolveEnded();
  };
  const subscriber: RunSubscriber = {
    onEvent: take,
    onEvents: (batch) => {
      for (const event of batch.events) take(event);
    },
    onEvicted: () => {
      received.evicted += 1;
      resolveEnded();
    },
  };
  return { received, detach: store.follow(streamId, after, subscriber), ended };
}

/** Waits for `promise`, failing with `what` after `ms` (a reader that never gets its end). */
async function within(promise: Promise<unknown>, ms: number, what: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe.skipIf(!redis.available)('run event log properties: Redis store', () => {
  const prefix = createTestPrefix();
  let storeA: RedisRunStore;
  let storeB: RedisRunStore;
  let client: TestRedis;
  let runCounter = 0;
  /** Producer side of the run under test, for A's cancel requests. */
  let onCancel: ((streamId: string) => void) | undefined;

  beforeAll(async () => {
    storeA = await createRedisRunStore({ url: REDIS_URL, prefix, instanceId: 'A', retentionMs: 60_000 });
    storeB = await createRedisRunStore({ url: REDIS_URL, prefix, instanceId: 'B', retentionMs: 60_000 });
    storeA.onCancelRequest = (streamId) => onCancel?.(streamId);
    client = await openRedis();
  });
  afterAll(async () => {
    await Promise.all([storeA?.close(), storeB?.close(), client?.close()]);
    await deleteTestKeys();
  });

  async function runInterleaving(commands: readonly StoreCommand[]): Promise<void> {
    runCounter += 1;
    const streamId = `prop-${runCounter}`;
    await storeA.createRun({ id: streamId, threadId: `thread-${runCounter}`, owner: 'alice' });
    const failures: string[] = [];
    const replica: RunLogReplica = storeA.replicaFor(streamId, (failure) => failures.push(failure));
    const log: RunEvent[] = [];
    let closed = false;
    const append = (): void => {
      const id = log.length + 1;
      const event: RunEvent =
        id === 1
          ? { id, event: 'start', json: JSON.stringify({ streamId, threadId: 't', protocol: 1 }) }
          : { id, event: 'token', json: tokenJson(`t${id} é🌍`) };
      log.push(event);
      replica.append(event.id, event.event, event.json);
    };
    const finalize = (cancelled: boolean): void => {
      if (closed) return;
      closed = true;
      const id = log.length + 1;
      const json = JSON.stringify({ finishReason: cancelled ? 'cancelled' : 'stop', tokens: Math.max(0, id - 2) });
      log.push({ id, event: 'done', json });
      replica.finalize(id, 'done', json, {
        status: cancelled ? 'cancelled' : 'complete',
        outcome: cancelled ? 'cancelled' : 'stop',
        tokens: Math.max(0, id - 2),
        textLength: 0,
      });
    };
    onCancel = (id) => {
      if (id === streamId) finalize(true);
    };
    // A run's first event is its start, written with the run.
    append();
    const readers: Reader[] = [];
    for (const command of commands) {
      switch (command.kind) {
        case 'append':
          if (!closed) for (let index = 0; index < command.count; index += 1) append();
          break;
        case 'follow':
          readers.push(
            follow(command.onB ? storeB : storeA, streamId, cursorFor(command.cursor, log.length, command.pick)),
          );
          break;
        case 'detach': {
          const reader = readers[command.pick % Math.max(1, readers.length)];
          if (reader === undefined || reader.received.detached) break;
          reader.detach();
          reader.received.detached = true;
          break;
        }
        case 'tick':
          await tick();
          break;
        case 'cancel':
          await storeB.requestCancel('A', streamId);
          break;
        case 'finalize':
          finalize(false);
          break;
      }
    }
    finalize(false);
    const terminal = log.at(-1) as RunEvent;
    // A late reader from the start, after the end, on the other instance.
    const late = follow(storeB, streamId, undefined);
    const waiting = [...readers, late].filter(
      (reader) => !reader.received.detached && (reader.received.after ?? 0) < terminal.id,
    );
    await within(Promise.all(waiting.map((reader) => reader.ended)), 15_000, `readers of ${streamId} to get the end`);
    for (const reader of [...readers, late]) {
      expectWellFormedSuffix(reader.received, log);
      expect(reader.received.evicted).toBe(0);
      if (!reader.received.detached) expect(reader.received.events).toEqual(expectedAfter(log, reader.received.after));
      reader.detach();
    }
    expect(late.received.events).toEqual(log);
    expect(failures).toEqual([]);
    const stored = await readStoredEvents(client, prefix, streamId);
    expect(stored).toEqual(log);
    expect(countTerminal(stored)).toBe(1);
    expect(await storeB.lookup(streamId)).toMatchObject({ lastEventId: terminal.id, owner: 'alice' });
  }

  it(
    'random interleavings of append, follow at any cursor on either instance, detach, cancel and finalize',
    async () => {
      await fc.assert(
        fc.asyncProperty(storeCommands, (commands) => runInterleaving(commands)),
        propertyRuns(60, 2000),
      );
    },
    scale(120_000, 1_800_000),
  );
});

describe.skipIf(!redis.available)('run event log properties: Redis store expiry', () => {
  const prefix = createTestPrefix();
  let producer: RedisRunStore;
  let reader: RedisRunStore;
  let runCounter = 0;

  beforeAll(async () => {
    // Short retention, and a short lease so that the reader's upkeep looks followed runs up often.
    producer = await createRedisRunStore({ url: REDIS_URL, prefix, instanceId: 'P', retentionMs: 300, leaseMs: 300 });
    reader = await createRedisRunStore({ url: REDIS_URL, prefix, instanceId: 'R', retentionMs: 300, leaseMs: 300 });
  });
  afterAll(async () => {
    await Promise.all([producer?.close(), reader?.close()]);
    await deleteTestKeys();
  });

  it(
    'an expired run answers not found, and a reader still following it is told it was evicted',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 6 }),
          fc.constantFrom<CursorKind>('none', 'start', 'middle', 'last', 'beyond'),
          fc.nat(),
          async (tokens, cursor, pick) => {
            runCounter += 1;
            const streamId = `exp-${runCounter}`;
            await producer.createRun({ id: streamId, threadId: 't', owner: undefined });
            const replica = producer.replicaFor(streamId, () => {});
            replica.append(1, 'start', JSON.stringify({ streamId, threadId: 't', protocol: 1 }));
            for (let id = 2; id < tokens + 2; id += 1) replica.append(id, 'token', tokenJson(`t${id}`));
            const terminalId = tokens + 2;
            replica.finalize(terminalId, 'done', '{"finishReason":"stop","tokens":0}', {
              status: 'complete',
              outcome: 'stop',
              tokens,
              textLength: 0,
            });
            await pollUntil(async () => (await reader.lookup(streamId))?.lastEventId === terminalId, 'the end');
            // A reader whose cursor is at or past the end waits for nothing that will come.
            const after = cursorFor(cursor, terminalId, pick);
            const stuck = (after ?? 0) >= terminalId ? follow(reader, streamId, after) : undefined;
            await pollUntil(async () => (await reader.lookup(streamId)) === undefined, 'the run to expire', 10_000);
            expect(await producer.lookup(streamId)).toBeUndefined();
            if (stuck !== undefined) {
              await within(stuck.ended, 10_000, 'the eviction of a reader of an expired run');
              expect(stuck.received).toMatchObject({ events: [], evicted: 1, late: [] });
              stuck.detach();
            }
            // A reader arriving after expiry is told at once by the registry (lookup); the store
            // itself has nothing to deliver.
            const afterExpiry = follow(reader, streamId, undefined);
            await within(afterExpiry.ended, 10_000, 'the eviction of a reader that came after expiry');
            expect(afterExpiry.received).toMatchObject({ events: [], evicted: 1 });
            afterExpiry.detach();
          },
        ),
        propertyRuns(3, 40),
      );
    },
    scale(90_000, 1_800_000),
  );
});
