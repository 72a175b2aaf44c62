/**
 * Chaos, direct to one server: every client connection goes through a chaos proxy that cuts it
 * at a random byte of the server→client direction (FIN or RST), and the clients resume as real
 * users do (the stream client over SSE and over the WebSocket transport, and the AI SDK's `Chat`
 * with `createChatFetch`). Every run must end with the exact reply, ids 1…N, one terminal event
 * delivered and one stored (see `helpers/chaos-runs.ts`). A failure prints `CHAOS_SEED=…`.
 */
import { createOpenAICompatibleProvider } from 'streamwell/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';
import { pacedReply } from '../redis/helpers/instances.ts';
import { startTestServer, type TestServer } from '../server/helpers/test-server.ts';
import { chaosSeed } from './helpers/chaos-proxy.ts';
import type { ChaosLane, ChaosTransport } from './helpers/chaos-runs.ts';
import { closeLanes, describeTally, runChaos, startLanes } from './helpers/chaos-suite.ts';
import { scale } from './helpers/soak-mode.ts';

const SEED = chaosSeed();
const LANES = 4;
/** Cuts per transport: 3 × 50 in `npm test`, 3 × 1,500 under `npm run soak`. */
const CUTS = scale(50, 1500);

describe('chaos: connections cut at random bytes, direct to one server', { timeout: scale(60_000, 1_800_000) }, () => {
  let fake: FakeOpenAI;
  let server: TestServer;
  let lanes: ChaosLane[];

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: pacedReply });
    const provider = createOpenAICompatibleProvider({
      baseUrl: fake.baseUrl,
      apiKey: fake.apiKey ?? '',
      model: 'fake',
    });
    server = await startTestServer({ provider });
    lanes = await startLanes(SEED, LANES, [server.port]);
  });

  afterAll(async () => {
    await closeLanes(lanes ?? []);
    await server?.close();
    await fake?.close();
  });

  it.each<ChaosTransport>(
    (process.env.CHAOS_ONLY?.split(',') as ChaosTransport[] | undefined) ?? ['sse', 'ws', 'ai-sdk'],
  )('%s: exact text, ids 1…N, one terminal, under cuts', async (transport) => {
    const tally = await runChaos({
      lanes,
      transport,
      targetCuts: CUTS,
      store: { kind: 'http', origin: server.url },
      seed: SEED,
      name: `direct ${transport}`,
    });
    console.info(describeTally('direct', tally));
    expect(tally.failures).toEqual([]);
    expect(tally.cuts).toBeGreaterThanOrEqual(CUTS);
    // Both kinds of close happened (a suite that only ever sent FIN would prove half).
    expect(tally.fin).toBeGreaterThan(0);
    expect(tally.rst).toBeGreaterThan(0);
  });
});
