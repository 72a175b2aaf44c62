/**
 * Drives the chaos suites: lanes of chaos proxies, each running one reply at a time until the
 * lanes together made the target number of cuts, with scripts (reply length, pacing) drawn from
 * the seeded PRNG. Returns the tally a suite asserts on and prints.
 *
 * @module
 */
import { type ChaosProxy, createPrng, deriveSeed, startChaosProxy } from './chaos-proxy.ts';
import { type ChaosLane, type ChaosTransport, runUnderChaos, type StoreCheck } from './chaos-runs.ts';

/** Server→client bytes an offset is drawn from: about one whole reply, so a few cuts per run. */
export const CHAOS_MAX_OFFSET = 3000;

/** Figures of one suite part. */
export interface ChaosTally {
  readonly transport: ChaosTransport;
  runs: number;
  cuts: number;
  fin: number;
  rst: number;
  connections: number;
  tokens: number;
  failures: string[];
}

/**
 * Starts `count` lanes; each lane gets one chaos proxy per target port.
 *
 * @param seed - the suite's seed
 * @param count - lanes (clients running at once)
 * @param targetPorts - the servers (or nginx) behind the lane, in routing order
 * @param route - picks the target of connection k (default: always the first)
 * @returns the lanes
 */
export async function startLanes(
  seed: number,
  count: number,
  targetPorts: readonly number[],
  route: (k: number) => number = () => 0,
): Promise<ChaosLane[]> {
  const lanes: ChaosLane[] = [];
  for (let index = 0; index < count; index += 1) {
    const proxies: ChaosProxy[] = [];
    for (const [which, targetPort] of targetPorts.entries()) {
      proxies.push(
        await startChaosProxy({
          targetPort,
          seed: deriveSeed(seed, index * 16 + which),
          maxOffset: CHAOS_MAX_OFFSET,
        }),
      );
    }
    lanes.push({
      index,
      proxies,
      route: (k) => `http://127.0.0.1:${(proxies[route(k)] as ChaosProxy).port}`,
    });
  }
  return lanes;
}

/** Closes every lane's proxies. */
export async function closeLanes(lanes: readonly ChaosLane[]): Promise<void> {
  await Promise.all(lanes.flatMap((lane) => lane.proxies.map((proxy) => proxy.close())));
}

/** Options of {@link runChaos}. */
export interface RunChaosOptions {
  readonly lanes: readonly ChaosLane[];
  readonly transport: ChaosTransport;
  /** Stop once the lanes together made this many cuts. */
  readonly targetCuts: number;
  readonly store: StoreCheck;
  readonly seed: number;
  /** Names the suite part in failures. */
  readonly name: string;
}

/**
 * Runs replies through every lane until the target number of cuts is reached.
 *
 * @param options - lanes, transport, target
 * @returns the tally (failures included, never thrown)
 */
export async function runChaos(options: RunChaosOptions): Promise<ChaosTally> {
  const tally: ChaosTally = {
    transport: options.transport,
    runs: 0,
    cuts: 0,
    fin: 0,
    rst: 0,
    connections: 0,
    tokens: 0,
    failures: [],
  };
  const kinds = (): { fin: number; rst: number } =>
    options.lanes
      .flatMap((lane) => lane.proxies)
      .reduce((sum, proxy) => ({ fin: sum.fin + proxy.cuts.fin, rst: sum.rst + proxy.cuts.rst }), { fin: 0, rst: 0 });
  const start = kinds();
  const label = `[${options.name} CHAOS_SEED=${options.seed}]`;
  await Promise.all(
    options.lanes.map(async (lane) => {
      const random = createPrng(deriveSeed(options.seed, 1000 + lane.index));
      // Stop early after a few failures: the messages are what matters then.
      while (tally.cuts < options.targetCuts && tally.failures.length < 5) {
        // 20 to 60 tokens, 0 to 4 ms apart: cuts fall in the replay of stored events as well as
        // in events produced live.
        const script = { tokens: 20 + Math.floor(random() * 41), delayMs: Math.floor(random() * 5) };
        const result = await runUnderChaos({
          lane,
          transport: options.transport,
          script,
          store: options.store,
          label,
        });
        tally.runs += 1;
        tally.cuts += result.cuts;
        tally.connections += result.connections;
        tally.tokens += script.tokens;
        tally.failures.push(...result.failures);
      }
    }),
  );
  const end = kinds();
  tally.fin = end.fin - start.fin;
  tally.rst = end.rst - start.rst;
  return tally;
}

/**
 * One line of figures for the log (and docs/reliability.md).
 *
 * @param path - direct, nginx, two instances
 * @param tally - the figures
 * @returns the line
 */
export function describeTally(path: string, tally: ChaosTally): string {
  return (
    `chaos ${path} ${tally.transport}: ${tally.cuts} cuts (${tally.fin} FIN, ${tally.rst} RST) over ` +
    `${tally.runs} runs, ${tally.tokens} tokens, ${tally.connections} connections, ${tally.failures.length} failures`
  );
}
