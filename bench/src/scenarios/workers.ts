/**
 * Workers: the saturation load (64 unthrottled streams of 2,000 tokens, one token per upstream
 * write) against the reference server with the Redis store, once pinned to the gateway core
 * (`streamwell-redis`, as in the saturation scenario) and twice started as `npm start` runs it
 * and allowed on every core: `WORKERS=1` and `WORKERS=2`. On a 2-core machine the mock upstream,
 * the load generator and Redis share those cores with the workers, so this measures what the
 * worker mode gives on such a machine, not its scaling on dedicated cores.
 *
 * @module
 */
import { cpus, loadavg } from 'node:os';
import { heading, warn } from '../lib/log.ts';
import { PEERS, type PeerId } from '../peers/peers.ts';
import type { StreamsRow } from './aggregate.ts';
import type { BenchContext } from './context.ts';
import { measureSaturation } from './saturation.ts';

/** Result: one row per server setup, or why there is none. */
export interface WorkersResult {
  readonly available: boolean;
  /** Without Redis: why the scenario did not run. */
  readonly reason?: string;
  readonly streams?: number;
  readonly tokensPerStream?: number;
  readonly cores?: number;
  /** The CPU model and the time of the measurement (a partial run may be merged into a full run's file). */
  readonly cpu?: string;
  readonly measuredAt?: string;
  /** `taskset -c` list of the workers peers, or undefined when nothing is pinned. */
  readonly workersCores?: string | undefined;
  readonly gatewayCore?: number | undefined;
  readonly harnessCore?: number | undefined;
  readonly labels?: Partial<Record<PeerId, string>>;
  /** The machine's 1-minute load average when the scenario started and ended (other work on it shows here). */
  readonly loadAverage?: { readonly start: number; readonly end: number };
  readonly rows?: Partial<Record<PeerId, StreamsRow>>;
}

/** Runs the workers scenario. */
export async function runWorkers(context: BenchContext): Promise<WorkersResult> {
  heading('workers: saturation with WORKERS=1 and WORKERS=2 (Redis store, every core)');
  if (context.redis === undefined) {
    const reason = 'no Redis server (include the streamwell-redis peer, and a Redis at BENCH_REDIS_URL)';
    warn(`workers: skipped: ${reason}`);
    return { available: false, reason };
  }
  const loadAtStart = loadavg()[0] as number;
  const quick = context.options.quick;
  const streams = 64;
  const tokens = 2000;
  const ids: PeerId[] = [
    ...(context.options.peers.includes('streamwell-redis') ? (['streamwell-redis'] as const) : []),
    'streamwell-workers-1',
    'streamwell-workers-2',
  ];
  const rows = await measureSaturation(context, 'workers', ids, { streams, tokens, reps: quick ? 1 : 3 });
  return {
    available: true,
    streams,
    tokensPerStream: tokens,
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    measuredAt: new Date().toISOString(),
    workersCores: context.options.gatewayCore === undefined ? undefined : `0-${cpus().length - 1}`,
    gatewayCore: context.options.gatewayCore,
    harnessCore: context.options.harnessCore,
    labels: Object.fromEntries(ids.map((id) => [id, PEERS[id].label])),
    loadAverage: { start: Math.round(loadAtStart * 10) / 10, end: Math.round((loadavg()[0] as number) * 10) / 10 },
    rows,
  };
}
