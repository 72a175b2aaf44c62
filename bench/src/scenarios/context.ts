/**
 * What every scenario gets: the mock, the load generator, the run's options, and the helpers
 * that run one measured cell (a load-generator job plus the CPU and RSS of every process).
 *
 * @module
 */

import { cpus } from 'node:os';
import type { Child } from '../lib/child.ts';
import { nowNs } from '../lib/clock.ts';
import { type HistogramData, type Summary, summarize } from '../lib/histogram.ts';
import { type ProcReading, readProcs, startRssSampler } from '../lib/proc-sampler.ts';
import type { GroupResult } from '../loadgen/stream-tracker.ts';
import type { Target } from '../loadgen/targets.ts';
import type { BenchRedis } from '../peers/bench-redis.ts';
import { type PeerId, type PeerStartOptions, type RunningPeer, startPeer, workersOf } from '../peers/peers.ts';

/** Options of one benchmark run. */
export interface BenchOptions {
  readonly quick: boolean;
  /** Peers to include (nginx is dropped when it is not installed). */
  readonly peers: readonly PeerId[];
  /** Core for the gateways; undefined when pinning is impossible. */
  readonly gatewayCore: number | undefined;
  /** Core for mock + load generator. */
  readonly harnessCore: number | undefined;
  /**
   * With `--profile`: every Node gateway runs with `--cpu-prof` and writes its profile to
   * `<profileDir>/<peer>/`, so that streamwell's profile can be read next to the naive relay's.
   */
  readonly profileDir: string | undefined;
}

/** Shared state of a run. */
export interface BenchContext {
  readonly options: BenchOptions;
  readonly mock: Child;
  readonly loadgen: Child;
  /** Totals of sequence checks over the whole run (CI asserts these are zero). */
  readonly integrity: { lost: number; duplicated: number; errors: number; tokens: number; notes: string[] };
  /** The Redis server of the `streamwell-redis` peer (undefined when that peer is not in the run). */
  readonly redis?: BenchRedis | undefined;
}

/**
 * Starts a peer with the run's pinning and the given streamwell environment.
 *
 * @param redisPrefix - for `streamwell-redis`: the key prefix, to share runs with another
 *   instance started with the same one; by default a prefix of its own
 */
export function launchPeer(
  context: BenchContext,
  id: PeerId,
  streamwellEnv: Record<string, string> = {},
  redisPrefix?: string,
): Promise<RunningPeer> {
  const redis = context.redis;
  // A server with workers may use every core (the orchestrator's own pinning to the harness core
  // would otherwise be inherited): that is what the mode is for.
  const workers = workersOf(id) !== undefined;
  const options: PeerStartOptions = {
    mockPort: context.mock.info.port as number,
    core: workers && context.options.gatewayCore !== undefined ? `0-${cpus().length - 1}` : context.options.gatewayCore,
    streamwellEnv: { ...BASE_STREAMWELL_ENV, ...streamwellEnv },
    profileDir: context.options.profileDir,
    ...((id === 'streamwell-redis' || workers) && redis !== undefined
      ? { redis: { server: redis, prefix: redisPrefix ?? redis.nextPrefix() } }
      : {}),
  };
  return startPeer(id, options);
}

/** Environment of the streamwell server in every scenario (limits raised to the bench's sizes). */
export const BASE_STREAMWELL_ENV: Record<string, string> = {
  MAX_CONCURRENT_STREAMS: '20000',
  // The idle-streams scenario holds 15,000 open responses (the default cap is 10,000).
  MAX_OPEN_EVENT_STREAMS: '20000',
  // ... and as many TCP connections (the default cap is 12,500: 2,500 of the 15,000 were closed
  // at accept in the first full run after the cap came in).
  MAX_TCP_CONNECTIONS: '20000',
  LOG_LEVEL: 'error',
  STREAMWELL_PROVIDER: 'openai',
  LLM_MODEL: 'bench',
};

/** Adds a group's sequence checks to the run totals. */
export function account(context: BenchContext, label: string, group: GroupResult, countErrors = true): void {
  const integrity = context.integrity;
  integrity.lost += group.lost;
  integrity.duplicated += group.duplicated;
  if (countErrors) integrity.errors += group.errors;
  integrity.tokens += group.tokens;
  if (group.lost + group.duplicated + (countErrors ? group.errors : 0) > 0) {
    integrity.notes.push(
      `${label}: lost ${group.lost}, duplicated ${group.duplicated}, errors ${group.errors} ${group.errorSamples.join('; ')}`,
    );
  }
}

/** A group's numbers for the report. */
export interface GroupSummary {
  readonly streams: number;
  readonly completed: number;
  readonly tokens: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly errors: number;
  readonly ttft: Summary;
  readonly delay: Summary;
  readonly gap: Summary;
}

/** Summarizes a group (histograms to percentiles in ms). */
export function summarizeGroup(group: GroupResult): GroupSummary {
  return {
    streams: group.streamsStarted,
    completed: group.streamsCompleted,
    tokens: group.tokens,
    lost: group.lost,
    duplicated: group.duplicated,
    errors: group.errors,
    ttft: summarize(group.ttft),
    delay: summarize(group.delay),
    gap: summarize(group.gap),
  };
}

/** Resource use of one cell's measuring window. */
export interface CellResources {
  readonly windowMs: number;
  /** Gateway CPU time in the window, ms. */
  readonly gatewayCpuMs: number;
  /** Gateway CPU as % of one core. */
  readonly gatewayCpuPct: number;
  /** Mock + load generator CPU as % of one core (validity: should stay below 80). */
  readonly harnessCpuPct: number;
  readonly gatewayRssBeforeBytes: number;
  readonly gatewayRssMedianBytes: number;
  readonly gatewayRssMaxBytes: number;
  /**
   * With `collectAtEnd`: RSS after a full collection of the gateway, taken right after the window
   * while every stream was still open (garbage not counted).
   */
  readonly gatewayRssCollectedBytes?: number;
  /** A gateway with a store (Redis): what the store server used in the window, see {@link StoreCpu}. */
  readonly store?: StoreCpu;
}

/**
 * CPU of the store server (Redis) over a measured stretch. The server is shared (other clients,
 * its own timers), so what it burns with no load of ours, measured just before on idle gateways,
 * is taken out.
 */
export interface StoreCpu {
  /** CPU in the stretch, ms, minus the idle rate over the same time. */
  readonly cpuMs: number;
  /** The idle rate measured before, % of one core (all of the server's clients). */
  readonly idlePct: number;
}

/** How long the store server's idle rate is measured before a stretch. */
const STORE_IDLE_MS = 500;

/** Reads the store's idle CPU rate (ns per ns), then starts a stretch; `end()` gives its {@link StoreCpu}. */
async function startStoreStretch(peer: RunningPeer): Promise<{ mark(): void; end(): Promise<StoreCpu> } | undefined> {
  const store = peer.store;
  if (store === undefined) return undefined;
  const idleFrom = { cpu: await store.cpuNs(), at: nowNs() };
  await new Promise((resolve) => setTimeout(resolve, STORE_IDLE_MS));
  const idleTo = { cpu: await store.cpuNs(), at: nowNs() };
  const idleRate = Math.max(0, (idleTo.cpu - idleFrom.cpu) / (idleTo.at - idleFrom.at));
  let from: { cpu: Promise<number>; at: number } = { cpu: Promise.resolve(idleTo.cpu), at: idleTo.at };
  return {
    mark() {
      from = { cpu: store.cpuNs(), at: nowNs() };
    },
    async end() {
      const at = nowNs();
      const cpu = await store.cpuNs();
      const used = cpu - (await from.cpu) - idleRate * (at - from.at);
      return { cpuMs: used / 1e6, idlePct: Math.round(idleRate * 1000) / 10 };
    },
  };
}

/** Result of {@link runStreamsCell}. */
export interface StreamsCell {
  readonly main: GroupResult;
  readonly slow: GroupResult;
  readonly resources: CellResources;
  readonly openAtEnd: number;
}

/** The `streams` job of the load generator (see loadgen.ts). */
export interface StreamsJob {
  readonly prompt: string;
  readonly concurrency: number;
  readonly rampMs: number;
  readonly warmupMs: number;
  readonly measureMs: number;
  readonly expectTokens: number;
  readonly slow?: { count: number; prompt: string; readBytesPerSecond: number; expectTokens: number };
  /**
   * After the window, keep the streams open for a moment, collect the gateway's garbage
   * (`global.gc()`) and read its RSS: memory per open stream without the garbage that the
   * median RSS in the window carries, a number that depends on when collections happened.
   */
  readonly collectAtEnd?: boolean;
}

/**
 * How long the load generator holds the streams open after the window for `collectAtEnd`: a
 * full collection of a 300 MB heap takes a few hundred ms here; quick mode has small heaps.
 */
const COLLECT_HOLD_MS = { full: 2000, quick: 600 } as const;

function tryRead(pids: readonly number[]): ProcReading {
  try {
    return readProcs(pids);
  } catch {
    return { cpuNs: 0, rssBytes: 0, hwmBytes: 0 };
  }
}

/**
 * Runs one closed-loop cell against a peer and reads the gateway's CPU at the two edges of the
 * measuring window (the load generator announces them) and its RSS every 250 ms inside it.
 */
export async function runStreamsCell(context: BenchContext, peer: RunningPeer, job: StreamsJob): Promise<StreamsCell> {
  const gatewayPids = peer.pids();
  const harnessPids = [context.mock.pid, context.loadgen.pid];
  const before = tryRead(gatewayPids);
  let start: { gateway: ProcReading; harness: ProcReading; at: number } | undefined;
  let end: { gateway: ProcReading; harness: ProcReading; at: number } | undefined;
  let sampler: ReturnType<typeof startRssSampler> | undefined;
  let rss = { median: before.rssBytes, max: before.rssBytes };
  let collected: Promise<number | undefined> | undefined;
  const holdMs = COLLECT_HOLD_MS[context.options.quick ? 'quick' : 'full'];
  const store = await startStoreStretch(peer);
  let storeEnd: Promise<StoreCpu> | undefined;
  markHandler = (phase) => {
    const reading = { gateway: tryRead(gatewayPids), harness: tryRead(harnessPids), at: nowNs() };
    if (phase === 'measure-start') {
      start = reading;
      store?.mark();
      if (gatewayPids.length > 0) sampler = startRssSampler(gatewayPids);
    } else {
      end = reading;
      storeEnd = store?.end();
      if (sampler) rss = sampler.stop();
      if (job.collectAtEnd && gatewayPids.length > 0) {
        const asked = nowNs();
        collected = peer.gc().then(() =>
          // Too late (the load generator let go of the streams): no number rather than a wrong one.
          (nowNs() - asked) / 1e6 < holdMs * 0.75 ? tryRead(gatewayPids).rssBytes : undefined,
        );
      }
    }
  };
  const result = await context.loadgen.request<Omit<StreamsCell, 'resources'>>({
    type: 'streams',
    target: peer.target as Target,
    ...job,
    ...(job.collectAtEnd ? { holdMs } : {}),
  });
  markHandler = undefined;
  const collectedRss = await collected;
  const storeCpu = await storeEnd;
  if (!start || !end) throw new Error('the load generator did not mark its measuring window');
  const windowMs = (end.at - start.at) / 1e6;
  const gatewayCpuMs = (end.gateway.cpuNs - start.gateway.cpuNs) / 1e6;
  return {
    ...result,
    resources: {
      windowMs,
      gatewayCpuMs,
      gatewayCpuPct: (gatewayCpuMs / windowMs) * 100,
      harnessCpuPct: ((end.harness.cpuNs - start.harness.cpuNs) / 1e6 / windowMs) * 100,
      gatewayRssBeforeBytes: before.rssBytes,
      gatewayRssMedianBytes: rss.median,
      gatewayRssMaxBytes: rss.max,
      ...(collectedRss === undefined ? {} : { gatewayRssCollectedBytes: collectedRss }),
      ...(storeCpu === undefined ? {} : { store: storeCpu }),
    },
  };
}

let markHandler: ((phase: string) => void) | undefined;

/** Routes the load generator's window marks to the running cell. Call once per run. */
export function routeMarks(loadgen: Child): void {
  loadgen.onMessage((message) => {
    if (message.type === 'mark') markHandler?.(message.phase as string);
  });
}

/**
 * The `sequential` job (lone streams, one after another).
 *
 * @param measureStore - also measure the store server's CPU (half a second longer: its idle rate first)
 */
export async function runSequential(
  context: BenchContext,
  peer: RunningPeer,
  job: { prompt: string; count: number; warmup: number; gapMs: number; expectTokens: number },
  measureStore = false,
): Promise<{ main: GroupResult; gatewayCpuMs: number; store?: StoreCpu }> {
  const pids = peer.pids();
  const store = measureStore ? await startStoreStretch(peer) : undefined;
  const before = tryRead(pids);
  const result = await context.loadgen.request<{ main: GroupResult; warmupErrors: number }>({
    type: 'sequential',
    target: peer.target,
    ...job,
  });
  const after = tryRead(pids);
  const storeCpu = await store?.end();
  return {
    main: result.main,
    gatewayCpuMs: (after.cpuNs - before.cpuNs) / 1e6,
    ...(storeCpu === undefined ? {} : { store: storeCpu }),
  };
}

/** Median of numbers (NaN for none). */
export function median(values: readonly number[]): number {
  const finite = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const middle = Math.floor(finite.length / 2);
  return finite.length % 2 === 1
    ? (finite[middle] as number)
    : ((finite[middle - 1] as number) + (finite[middle] as number)) / 2;
}

/** Rounds to 3 decimals (ms with µs resolution). */
export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** Merged view of several histograms. */
export type { HistogramData };
