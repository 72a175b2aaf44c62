/**
 * The run log contract, run against both implementations with the same cases:
 * - memory: one `createRunRegistry` produces and reads;
 * - Redis: registry A (its own store) produces, registry B (another store, same prefix) reads,
 *   cancels and deduplicates, as two instances would.
 *
 * A reader attached at any cursor gets exactly the producer's events after it (ids, names and
 * data), with no gap, no duplicate and exactly one terminal event; cancel, idempotency and
 * ownership work through the reader. The Redis-only cases check the lease rules: a run whose
 * producer's lease lapsed is ended exactly once however many instances race to end it, and the
 * stale producer can no longer write.
 */
import {
  createDemoProvider,
  createRedisRunRegistry,
  createRedisRunStore,
  createRunRegistry,
  type Provider,
  type RedisRunStore,
  type Run,
  type RunEvent,
  type RunHandle,
  type RunRegistry,
} from 'streamwell/server';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runKeys } from '../../packages/streamwell/src/server/redis/redis-keys.ts';
import {
  countTerminal,
  createTestPrefix,
  deleteTestKeys,
  openRedis,
  pollUntil,
  REDIS_URL,
  readStoredEvents,
  redisPart,
} from '../helpers/redis.ts';
import { createScriptedProvider } from '../server/helpers/scripted-provider.ts';

const redis = redisPart();

/** A producer and a reader of the same runs (the same registry in memory). */
interface Setup {
  readonly producer: RunRegistry;
  readonly reader: RunRegistry;
  /** The producer's own run: its log is the reference every reader is compared with. */
  localRun(streamId: string): Run;
  close(): Promise<void>;
}

interface Implementation {
  readonly name: string;
  readonly available: boolean;
  create(provider: Provider): Promise<Setup>;
}

const implementations: Implementation[] = [
  {
    name: 'memory',
    available: true,
    async create(provider) {
      const registry = createRunRegistry({ provider, checkpointEvery: 2 });
      return {
        producer: registry,
        reader: registry,
        localRun: (streamId) => registry.getLocal(streamId) as Run,
        async close() {
          registry.close();
        },
      };
    },
  },
  {
    name: 'redis',
    available: redis.available,
    async create(provider) {
      const prefix = createTestPrefix();
      const stores: RedisRunStore[] = [];
      for (const instanceId of ['A', 'B']) {
        stores.push(await createRedisRunStore({ url: REDIS_URL, prefix, instanceId }));
      }
      const [storeA, storeB] = stores as [RedisRunStore, RedisRunStore];
      // B gets the same provider: a model call made by B by mistake shows up in the calls.
      const producer = createRedisRunRegistry({ provider, checkpointEvery: 2, store: storeA });
      const reader = createRedisRunRegistry({ provider, checkpointEvery: 2, store: storeB });
      return {
        producer,
        reader,
        localRun: (streamId) => producer.local.getLocal(streamId) as Run,
        async close() {
          producer.close();
          reader.close();
          await Promise.all(stores.map((store) => store.close()));
        },
      };
    },
  },
];

/** What one reader received: the backlog, then the live events, in order. */
interface Reader {
  readonly after: number | undefined;
  readonly events: RunEvent[];
  /** Whether the attachment said more would come. */
  readonly live: boolean;
  /** Resolves at the terminal event, or at once when nothing is live. */
  readonly ended: Promise<void>;
  /** Resolves once `condition` holds for the events so far. */
  until(condition: (events: readonly RunEvent[]) => boolean): Promise<void>;
  detach(): void;
}

const isTerminal = (event: RunEvent): boolean => event.event === 'done' || event.event === 'error';
const copy = (event: RunEvent): RunEvent => ({ id: event.id, event: event.event, json: event.json });

function read(registry: RunRegistry, handle: RunHandle, after: number | undefined): Reader {
  const events: RunEvent[] = [];
  const waiters: Array<{ condition: (events: readonly RunEvent[]) => boolean; resolve: () => void }> = [];
  let endedResolve: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    endedResolve = resolve;
  });
  const check = (): void => {
    for (const waiter of [...waiters]) {
      if (waiter.condition(events)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  const receive = (event: RunEvent): void => {
    events.push(copy(event));
    if (isTerminal(event)) endedResolve();
  };
  const attachment = registry.attach(handle, after, {
    onEvent: (event) => {
      receive(event);
      check();
    },
    onEvents: (batch) => {
      for (const event of batch.events) receive(event);
      check();
    },
  });
  // The backlog comes before anything live (a local attach never delivers synchronously).
  events.unshift(...attachment.backlog.map(copy));
  if (!attachment.live || events.some(isTerminal)) endedResolve();
  return {
    after,
    events,
    live: attachment.live,
    ended,
    until(condition) {
      if (condition(events)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ condition, resolve }));
    },
    detach: attachment.detach,
  };
}

/** The events a reader at `after` must get. */
function expectedAfter(log: readonly RunEvent[], after: number | undefined): RunEvent[] {
  return log.filter((event) => after === undefined || event.id > after);
}

/** Ids strictly increasing, each once, and exactly one terminal event, which comes last. */
function expectWellFormed(events: readonly RunEvent[]): void {
  const ids = events.map((event) => event.id);
  expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
  expect(countTerminal(events)).toBe(1);
  expect(isTerminal(events.at(-1) as RunEvent)).toBe(true);
}

afterAll(deleteTestKeys);

for (const implementation of implementations) {
  describe.skipIf(!implementation.available)(`run log contract: ${implementation.name}`, () => {
    let setup: Setup | undefined;
    afterEach(async () => {
      await setup?.close();
      setup = undefined;
    });

    it('a reader at every cursor, during and after the run, gets exactly the events after it', async () => {
      const scripted = createScriptedProvider();
      setup = await implementation.create(scripted.provider);
      const { run } = await setup.producer.start({ message: 'hi', owner: 'alice' });
      const call = await scripted.call(0);
      // start 1, token 2, token 3, checkpoint 4
      call.tokens('Grüße', ' 🌍');
      const handle = (await setup.reader.get(run.id, 'alice')) as RunHandle;
      expect(handle.id).toBe(run.id);
      const first = read(setup.reader, handle, undefined);
      await first.until((events) => events.some((event) => event.id === 4));

      const during = [undefined, 0, 1, 2, 3, 4].map((after) => read(setup!.reader, handle, after));
      call.push({ type: 'handoff', from: 'triage', to: 'billing' });
      call.tokens(' "quoted"\n', 'end');
      call.end();
      await Promise.all([first.ended, ...during.map((reader) => reader.ended)]);

      const log = setup.localRun(run.id).eventsAfter(undefined).map(copy);
      expect(log.map((event) => event.event)).toEqual([
        'start',
        'token',
        'token',
        'checkpoint',
        'handoff',
        'token',
        'token',
        'checkpoint',
        'done',
      ]);
      expectWellFormed(log);
      for (const reader of [first, ...during]) expect(reader.events).toEqual(expectedAfter(log, reader.after));

      const terminalId = (log.at(-1) as RunEvent).id;
      const ended = (await setup.reader.get(run.id, 'alice')) as RunHandle;
      expect(ended).toMatchObject({ status: 'complete', lastEventId: terminalId });
      const cursors = [undefined, 0, ...log.map((event) => event.id)];
      const afterwards = cursors.map((after) => read(setup!.reader, ended, after));
      // At the terminal event there is nothing more to wait for.
      expect(afterwards.at(-1)).toMatchObject({ after: terminalId, live: false, events: [] });
      await Promise.all(afterwards.map((reader) => reader.ended));
      for (const reader of afterwards) expect(reader.events).toEqual(expectedAfter(log, reader.after));
      // Nothing arrived twice after the terminal event, on any reader.
      for (const reader of [first, ...during, ...afterwards.slice(0, -1)]) expectWellFormed(reader.events);
    });

    it('serves many readers at different cursors at once, joining while events flow', async () => {
      const words = Array.from({ length: 160 }, (_, index) => ` w${index}`).join('');
      const provider = createDemoProvider({ tokenIntervalMs: 1, firstTokenDelayMs: 0, reply: () => words });
      setup = await implementation.create(provider);
      const { run } = await setup.producer.start({ message: 'hi', owner: undefined });
      const handle = (await setup.reader.get(run.id, undefined)) as RunHandle;
      const first = read(setup.reader, handle, undefined);
      const readers: Reader[] = [];
      // Each join happens right after a delivery, while the next read is already under way: the
      // newcomer's cursor is behind, at, or ahead of the others'.
      for (let index = 0; index < 24; index += 1) {
        await first.until((events) => events.length >= 4 + index * 3 || events.some(isTerminal));
        const top = (first.events.at(-1) as RunEvent).id;
        const cursors = [0, undefined, Math.max(0, top - 5), top, Math.max(1, top - 1)];
        readers.push(read(setup.reader, handle, cursors[index % cursors.length]));
      }
      await Promise.all([first.ended, ...readers.map((reader) => reader.ended)]);
      const log = setup.localRun(run.id).eventsAfter(undefined).map(copy);
      expect(log.at(-1)?.event).toBe('done');
      expect(first.events).toEqual(log);
      for (const reader of readers) expect(reader.events).toEqual(expectedAfter(log, reader.after));
    });

    it('cancel through the reader ends the run on the producer and aborts the model call', async () => {
      const scripted = createScriptedProvider();
      setup = await implementation.create(scripted.provider);
      const { run } = await setup.producer.start({ message: 'hi', owner: 'alice' });
      const call = await scripted.call(0);
      call.tokens('partial');
      const handle = (await setup.reader.get(run.id, 'alice')) as RunHandle;
      const follower = read(setup.reader, handle, undefined);
      await follower.until((events) => events.some((event) => event.event === 'token'));

      const cancelled = await setup.reader.cancel(run.id, 'alice');
      expect(cancelled).toMatchObject({ id: run.id, status: 'cancelled' });
      await follower.ended;
      expect(call.aborted).toBe(true);
      expect(setup.localRun(run.id).status).toBe('cancelled');
      const terminal = follower.events.at(-1) as RunEvent;
      expect(terminal.event).toBe('done');
      expect(JSON.parse(terminal.json)).toMatchObject({ finishReason: 'cancelled' });
      expect(follower.events).toEqual(setup.localRun(run.id).eventsAfter(undefined).map(copy));
      // Idempotent: a second cancel reports the final status.
      expect(await setup.reader.cancel(run.id, 'alice')).toMatchObject({ status: 'cancelled' });
      expect(scripted.calls).toHaveLength(1);
    });

    it("Idempotency-Key through the reader gives the producer's run; another owner sees nothing", async () => {
      const scripted = createScriptedProvider();
      setup = await implementation.create(scripted.provider);
      const request = { message: 'same', owner: 'alice', idempotencyKey: 'key-1' };
      const first = await setup.producer.start(request);
      expect(first.created).toBe(true);
      const call = await scripted.call(0);
      call.tokens('once');

      const again = await setup.reader.start(request);
      expect(again).toMatchObject({ created: false, run: { id: first.run.id } });
      await expect(
        Promise.resolve().then(() => setup?.reader.start({ ...request, message: 'other' })),
      ).rejects.toMatchObject({
        code: 'idempotency_conflict',
        status: 409,
      });
      // Another principal: unknown, cannot cancel, and its own use of the key is its own run.
      expect(await setup.reader.get(first.run.id, 'bob')).toBeUndefined();
      expect(await setup.reader.get(first.run.id, undefined)).toBeUndefined();
      expect(await setup.reader.cancel(first.run.id, 'bob')).toBeUndefined();
      const bobs = await setup.reader.start({ ...request, owner: 'bob' });
      expect(bobs.created).toBe(true);
      expect(bobs.run.id).not.toBe(first.run.id);
      (await scripted.call(1)).end();

      const replay = read(setup.reader, again.run, undefined);
      call.end();
      await replay.ended;
      expect(replay.events).toEqual(setup.localRun(first.run.id).eventsAfter(undefined).map(copy));
      expect(setup.localRun(first.run.id).status).toBe('complete');
      expect(scripted.calls).toHaveLength(2);
    });
  });
}

describe.skipIf(!redis.available)('Redis leases', () => {
  const stores: RedisRunStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  async function store(prefix: string, instanceId: string, leaseMs = 10_000): Promise<RedisRunStore> {
    const created = await createRedisRunStore({ url: REDIS_URL, prefix, instanceId, leaseMs });
    stores.push(created);
    return created;
  }

  it('a lapsed run is ended exactly once by three stores racing, and its producer can no longer write', async () => {
    const prefix = createTestPrefix();
    const client = await openRedis();
    try {
      const producer = await store(prefix, 'P', 300);
      await producer.createRun({ id: 'run-1', threadId: 'thread-1', owner: 'alice' });
      const failures: string[] = [];
      const replica = producer.replicaFor('run-1', (failure) => failures.push(failure));
      replica.append(1, 'start', JSON.stringify({ streamId: 'run-1', threadId: 'thread-1', protocol: 1 }));
      replica.append(2, 'token', JSON.stringify({ token: 'kept' }));
      await pollUntil(async () => (await readStoredEvents(client, prefix, 'run-1')).length === 2, 'the appends');
      expect(failures).toEqual([]);
      // The producer stops refreshing (as if paused); its lease expires in Redis.
      await producer.close();
      const lease = runKeys(prefix, 'run-1').lease;
      await pollUntil(async () => Number(await client.sendCommand(['EXISTS', lease])) === 0, 'the lease to lapse');

      const racers = await Promise.all(['Q1', 'Q2', 'Q3'].map((id) => store(prefix, id)));
      const won = await Promise.all(racers.map((racer) => racer.takeOver('run-1')));
      expect(won.filter(Boolean)).toHaveLength(1);
      const stored = await readStoredEvents(client, prefix, 'run-1');
      expect(stored.map((event) => [event.id, event.event])).toEqual([
        [1, 'start'],
        [2, 'token'],
        [3, 'error'],
      ]);
      expect(JSON.parse((stored[2] as { json: string }).json)).toMatchObject({ code: 'producer_lost' });
      expect(await (racers[0] as RedisRunStore).lookup('run-1')).toMatchObject({
        status: 'error',
        outcome: 'producer_lost',
        tokens: 1,
        lastEventId: 3,
      });

      // The stale producer wakes up (same instance id): its append and its end are refused.
      const stale = await store(prefix, 'P', 300);
      const staleFailures: string[] = [];
      const staleReplica = stale.replicaFor('run-1', (failure) => staleFailures.push(failure));
      staleReplica.append(3, 'token', JSON.stringify({ token: 'late' }));
      await pollUntil(() => staleFailures.length > 0, 'the refused append');
      expect(staleFailures).toEqual(['producer_lost']);
      staleReplica.finalize(4, 'done', JSON.stringify({ finishReason: 'stop', tokens: 2 }), {
        status: 'complete',
        outcome: 'stop',
        tokens: 2,
        textLength: 8,
      });
      // A reply on the same connection comes after the finalize's: it was refused.
      expect(await stale.lookup('run-1')).toMatchObject({ status: 'error', outcome: 'producer_lost' });
      expect(await (racers[1] as RedisRunStore).takeOver('run-1')).toBe(false);
      const after = await readStoredEvents(client, prefix, 'run-1');
      expect(after).toEqual(stored);
      expect(countTerminal(after)).toBe(1);
    } finally {
      await client.close();
    }
  });
});
