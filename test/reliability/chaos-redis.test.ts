/**
 * Chaos across two reference-server processes sharing Redis (`REDIS_URL`, a per-suite
 * `REDIS_PREFIX`): each lane has a chaos proxy in front of instance A and one in front of B.
 * A reply starts on A; after each cut the client comes back on the other instance (B, then A,
 * then B…), as behind a load balancer without stickiness. Same checks as the direct suite (see
 * `helpers/chaos-runs.ts`); the stored run is read from the Redis stream itself. A failure
 * prints `CHAOS_SEED=…`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_API_KEY, type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';
import { createTestPrefix, deleteTestKeys, openRedis, REDIS_URL, redisPart, type TestRedis } from '../helpers/redis.ts';
import { type ServerProcess, startServer, stopServerProcesses } from '../helpers/server-process.ts';
import { pacedReply } from '../redis/helpers/instances.ts';
import { chaosSeed } from './helpers/chaos-proxy.ts';
import type { ChaosLane, ChaosTransport } from './helpers/chaos-runs.ts';
import { closeLanes, describeTally, runChaos, startLanes } from './helpers/chaos-suite.ts';
import { scale } from './helpers/soak-mode.ts';

const redis = redisPart();
const SEED = chaosSeed();
const LANES = 4;
/** Cuts per transport: 3 × 30 in `npm test`, 3 × 950 under `npm run soak`. */
const CUTS = scale(30, 950);

describe.skipIf(!redis.available)(
  'chaos: connections cut at random bytes, resumed on the other instance (Redis)',
  { timeout: scale(60_000, 1_800_000) },
  () => {
    const prefix = createTestPrefix();
    let fake: FakeOpenAI;
    let client: TestRedis;
    let lanes: ChaosLane[];

    beforeAll(async () => {
      fake = await startFakeOpenAI({ reply: pacedReply });
      const env = { REDIS_URL, REDIS_PREFIX: prefix, LLM_BASE_URL: fake.baseUrl, LLM_API_KEY: FAKE_API_KEY };
      const [a, b] = (await Promise.all([startServer(env), startServer(env)])) as [ServerProcess, ServerProcess];
      client = await openRedis();
      // Connection 0 of a run (the start) goes to A; after each cut the client lands on the
      // other instance.
      lanes = await startLanes(SEED, LANES, [a.port, b.port], (k) => k % 2);
    }, 180_000);

    afterAll(async () => {
      await closeLanes(lanes ?? []);
      await stopServerProcesses();
      await fake?.close();
      await client?.close();
      await deleteTestKeys();
    });

    it.each<ChaosTransport>(['sse', 'ws', 'ai-sdk'])(
      '%s across A and B: exact text, ids 1…N, one terminal',
      async (transport) => {
        const tally = await runChaos({
          lanes,
          transport,
          targetCuts: CUTS,
          store: { kind: 'redis', client, prefix },
          seed: SEED,
          name: `redis ${transport}`,
        });
        console.info(describeTally('two instances', tally));
        expect(tally.failures).toEqual([]);
        expect(tally.cuts).toBeGreaterThanOrEqual(CUTS);
        expect(tally.fin).toBeGreaterThan(0);
        expect(tally.rst).toBeGreaterThan(0);
      },
    );
  },
);
