/**
 * The reader loop wakes for a reader added at any moment. A reader added while the loop's next
 * `XREAD` is on its way to Redis races it: the loop's `CLIENT UNBLOCK` (sent on the other
 * connection) can reach Redis first, find nothing blocked, and the read then blocks with the old
 * key set for its whole block time. Here the block time is a minute, so a missed wake hangs the
 * reader; each reader is added from inside the previous one's delivery, right after the loop sent
 * its next read, the moment of the race.
 */
import { createRedisRunStore, type RedisRunStore, type RunEvent } from 'streamwell/server';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestPrefix, deleteTestKeys, REDIS_URL, redisPart } from '../helpers/redis.ts';

const redis = redisPart();

describe.skipIf(!redis.available)('Redis reader loop wake-up', () => {
  const stores: RedisRunStore[] = [];
  afterAll(async () => {
    await Promise.allSettled(stores.map((store) => store.close()));
    await deleteTestKeys();
  });

  it('delivers to every reader added while the next read is in flight, without waiting out the block', async () => {
    const prefix = createTestPrefix();
    const producer = await createRedisRunStore({ url: REDIS_URL, prefix, readBlockMs: 60_000 });
    const reader = await createRedisRunStore({ url: REDIS_URL, prefix, readBlockMs: 60_000 });
    stores.push(producer, reader);
    const runs = Array.from({ length: 60 }, (_, index) => `wake-${index}-${Math.random().toString(36).slice(2)}`);
    for (const id of runs) {
      await producer.createRun({ id, threadId: 't', owner: undefined });
      producer.replicaFor(id, () => {}).append(1, 'token', `{"token":"${id}"}`);
    }
    // The appends go out on the next turn: wait until the last run's event is in Redis.
    const last = runs[runs.length - 1] as string;
    for (let attempt = 0; attempt < 100 && (await producer.lookup(last))?.lastEventId !== 1; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    const received: string[] = [];
    const allDelivered = new Promise<void>((resolve) => {
      const followFrom = (index: number): void => {
        const id = runs[index] as string;
        reader.follow(id, 0, {
          onEvent(event: RunEvent) {
            received.push(JSON.parse(event.json).token);
            if (index + 1 === runs.length) resolve();
            // The loop sends its next read right after this delivery returns; the microtask
            // adds the next reader while that read is on its way.
            else queueMicrotask(() => followFrom(index + 1));
          },
        });
      };
      followFrom(0);
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hung = new Promise<'hung'>((resolve) => {
      timer = setTimeout(() => resolve('hung'), 15_000);
    });
    const outcome = await Promise.race([allDelivered.then(() => 'delivered' as const), hung]);
    clearTimeout(timer);
    expect(outcome, `delivered ${received.length} of ${runs.length} before a read blocked with a stale key set`).toBe(
      'delivered',
    );
    expect(received).toEqual(runs);
  }, 30_000);
});
