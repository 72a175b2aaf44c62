/**
 * Chaos through nginx with the repo's `deploy/nginx.conf`: the chaos proxy sits in front of
 * nginx (between the client and the reverse proxy, where a real network drops connections) and
 * cuts client connections at random bytes (FIN or RST); the clients resume through nginx as real
 * users do. Same checks as the direct suite (see `helpers/chaos-runs.ts`), against the server's
 * stored run read past nginx. A failure prints `CHAOS_SEED=…`.
 */
import { createOpenAICompatibleProvider } from 'streamwell/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';
import { type RunningNginx, startNginx } from '../helpers/nginx.ts';
import { nginxPart } from '../helpers/system-part.ts';
import { pacedReply } from '../redis/helpers/instances.ts';
import { startTestServer, type TestServer } from '../server/helpers/test-server.ts';
import { chaosSeed } from './helpers/chaos-proxy.ts';
import type { ChaosLane, ChaosTransport } from './helpers/chaos-runs.ts';
import { closeLanes, describeTally, runChaos, startLanes } from './helpers/chaos-suite.ts';
import { scale } from './helpers/soak-mode.ts';

const nginx = nginxPart();
const SEED = chaosSeed();
const LANES = 4;
/** Cuts per transport: 3 × 30 in `npm test`, 3 × 900 under `npm run soak`. */
const CUTS = scale(30, 900);

describe.skipIf(!nginx.available)(
  'chaos: connections cut at random bytes in front of nginx',
  { timeout: scale(60_000, 1_800_000) },
  () => {
    let fake: FakeOpenAI;
    let server: TestServer;
    let proxy: RunningNginx;
    let lanes: ChaosLane[];

    beforeAll(async () => {
      fake = await startFakeOpenAI({ reply: pacedReply });
      const provider = createOpenAICompatibleProvider({
        baseUrl: fake.baseUrl,
        apiKey: fake.apiKey ?? '',
        model: 'fake',
      });
      server = await startTestServer({ provider });
      proxy = await startNginx({ upstreamPort: server.port });
      lanes = await startLanes(SEED, LANES, [proxy.port]);
    });

    afterAll(async () => {
      await closeLanes(lanes ?? []);
      await proxy?.stop();
      await server?.close();
      await fake?.close();
    });

    it.each<ChaosTransport>(['sse', 'ws', 'ai-sdk'])(
      '%s through nginx: exact text, ids 1…N, one terminal',
      async (transport) => {
        const tally = await runChaos({
          lanes,
          transport,
          targetCuts: CUTS,
          store: { kind: 'http', origin: server.url },
          seed: SEED,
          name: `nginx ${transport}`,
        });
        console.info(describeTally('nginx', tally));
        expect(tally.failures, proxy.errorLog().slice(-2000)).toEqual([]);
        expect(tally.cuts).toBeGreaterThanOrEqual(CUTS);
        expect(tally.fin).toBeGreaterThan(0);
        expect(tally.rst).toBeGreaterThan(0);
      },
    );
  },
);
