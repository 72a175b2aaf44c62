/**
 * Interleaved cells: every peer started once (fresh processes, warmed up), then for each
 * repetition every variant against every peer, in an order that rotates between repetitions so
 * that no peer always runs first or last. Gateways that are not being measured sit idle on the
 * gateway core.
 *
 * @module
 */
import { info, warn } from '../lib/log.ts';
import { readProcs } from '../lib/proc-sampler.ts';
import { formatParams } from '../mock/stream-params.ts';
import type { PeerId, RunningPeer } from '../peers/peers.ts';
import {
  account,
  type BenchContext,
  launchPeer,
  runSequential,
  runStreamsCell,
  type StreamsCell,
  type StreamsJob,
} from './context.ts';

/** One variant of a matrix (for instance "with slow clients"). */
export interface MatrixVariant {
  readonly name: string;
  readonly job: StreamsJob;
}

/** Cells of a matrix: [variant][peer] → one cell per repetition. */
export interface MatrixResult {
  readonly cells: Record<string, Partial<Record<PeerId, StreamsCell[]>>>;
  /** Gateway RSS after warm-up, before any measured cell (bytes). */
  readonly baselineRss: Partial<Record<PeerId, number>>;
}

/**
 * The peers of the scenarios about the relay itself (memory, slow clients, fragmentation): every
 * peer but `streamwell-redis`, whose column belongs to the scenarios about the store (time to
 * first token, CPU per token, resume).
 */
export function relayPeers(context: BenchContext): PeerId[] {
  return context.options.peers.filter((id) => id !== 'streamwell-redis');
}

/**
 * The peers of the secondary scenarios: {@link relayPeers} in a full run; in quick mode (which
 * only keeps the harness working) direct, the naive relay and streamwell, to stay under two minutes.
 */
export function quickPeers(context: BenchContext): PeerId[] {
  const all = relayPeers(context);
  return context.options.quick ? all.filter((id) => id === 'direct' || id === 'naive' || id === 'streamwell') : all;
}

/** Starts the given peers in turn (parallel starts would fight over the gateway core). */
export async function startPeers(
  context: BenchContext,
  ids: readonly PeerId[],
  streamwellEnv: Record<string, string> = {},
): Promise<RunningPeer[]> {
  const peers: RunningPeer[] = [];
  try {
    for (const id of ids) peers.push(await launchPeer(context, id, streamwellEnv));
  } catch (error) {
    await stopPeers(peers);
    throw error;
  }
  return peers;
}

/** Stops peers. */
export async function stopPeers(peers: readonly RunningPeer[]): Promise<void> {
  await Promise.all(peers.map((peer) => peer.stop()));
}

/** Warms a peer (JIT, upstream pool) with a few short sequential streams. */
export async function warmUp(context: BenchContext, peer: RunningPeer, count: number): Promise<void> {
  const result = await runSequential(context, peer, {
    prompt: formatParams({ tokens: 10, rate: 0 }),
    count,
    warmup: 0,
    gapMs: 0,
    expectTokens: 10,
  });
  account(context, `${peer.id} warm-up`, result.main);
}

/** Longest wait for the gateway core to go quiet before a cell. */
const SETTLE_MAX_MS = 30_000;

/**
 * Waits until every started gateway is idle (under 5 % of a core over 250 ms; 30 % per process when
 * profiling, whose sampling thread alone keeps a process at ~10–15 % of a core). A gateway that was
 * overloaded in its own cell (the AI SDK at 1,000 streams) keeps working off its backlog for
 * seconds after the load generator let go; measured, it took ~95 % of the gateway core for ~5 s,
 * and the next peer's cell on that core ran at half speed with seconds of time to first token.
 */
async function settleGateways(context: BenchContext, peers: readonly RunningPeer[]): Promise<void> {
  const pids = peers.flatMap((peer) => peer.pids());
  if (pids.length === 0) return;
  const quiet = context.options.profileDir === undefined ? 0.05 : 0.3 * pids.length;
  const started = Date.now();
  let before = readProcs(pids).cpuNs;
  while (Date.now() - started < SETTLE_MAX_MS) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = readProcs(pids).cpuNs;
    if (now - before < quiet * 250e6) return;
    before = now;
  }
  warn(`the gateways were still busy after ${SETTLE_MAX_MS / 1000} s; measuring anyway`);
}

/**
 * Runs `reps` interleaved repetitions of every variant against every peer.
 *
 * @param label - for progress lines
 */
export async function runMatrix(
  context: BenchContext,
  label: string,
  ids: readonly PeerId[],
  variants: readonly MatrixVariant[],
  reps: number,
  streamwellEnv: Record<string, string> = {},
  options: { readonly settleIn?: boolean } = {},
): Promise<MatrixResult> {
  const peers = await startPeers(context, ids, streamwellEnv);
  const cells: MatrixResult['cells'] = {};
  const baselineRss: MatrixResult['baselineRss'] = {};
  try {
    for (const peer of peers) {
      await warmUp(context, peer, context.options.quick ? 20 : 50);
      await peer.gc();
      baselineRss[peer.id] = peer.pids().length > 0 ? readProcs(peer.pids()).rssBytes : 0;
    }
    // One unrecorded cell per gateway with the first variant's load: after the warm-up and the
    // full collection that the RSS baseline needs, a process's first loaded seconds cost more
    // (its heap grows back, the JIT meets the concurrent paths). Measured before this, the
    // streamwell server's first of two cells at 100 streams used 39–42 % of the core and its
    // second 26–29 % (the naive relay: 29 % and 23–25 %): the first repetition was measuring
    // the process's start-up, not the relay.
    const first = variants[0];
    // Left out (`settleIn: false`) where a cell's streams outlive it: their runs would still be
    // going, server-side, in the first measured cell.
    if (first !== undefined && !context.options.quick && options.settleIn !== false) {
      for (const peer of peers) {
        if (peer.pids().length === 0) continue; // direct: no gateway process
        await settleGateways(context, peers);
        const { prompt, concurrency, rampMs, warmupMs, measureMs, expectTokens } = first.job;
        const cell = await runStreamsCell(context, peer, {
          prompt,
          concurrency,
          rampMs,
          warmupMs,
          measureMs: Math.min(measureMs, 2000),
          expectTokens,
        });
        account(context, `${label} settle-in ${peer.id}`, cell.main);
      }
    }
    for (let rep = 0; rep < reps; rep++) {
      for (const variant of variants) {
        const row = cells[variant.name] ?? {};
        cells[variant.name] = row;
        const order = peers.map((_, index) => peers[(index + rep) % peers.length] as RunningPeer);
        for (const peer of order) {
          await settleGateways(context, peers);
          const cell = await runStreamsCell(context, peer, variant.job);
          row[peer.id] = [...(row[peer.id] ?? []), cell];
          account(context, `${label} ${variant.name} ${peer.id}`, cell.main);
          // A gateway may end a slow reader's stream on purpose (streamwell drops a subscriber past
          // its buffer cap; the client resumes): that is not an integrity error, a gap would be.
          account(context, `${label} ${variant.name} ${peer.id} (slow clients)`, cell.slow, false);
          const tokensPerSecond = (cell.main.tokens / cell.resources.windowMs) * 1000;
          info(
            `  ${label} ${variant.name} rep ${rep + 1}/${reps} ${peer.id.padEnd(10)} ` +
              `${Math.round(tokensPerSecond)} tok/s, gateway CPU ${cell.resources.gatewayCpuPct.toFixed(0)}%, ` +
              (cell.resources.store === undefined
                ? ''
                : `Redis CPU ${((cell.resources.store.cpuMs / cell.resources.windowMs) * 100).toFixed(0)}%, `) +
              `harness CPU ${cell.resources.harnessCpuPct.toFixed(0)}%, errors ${cell.main.errors}`,
          );
          if (cell.resources.harnessCpuPct > 80) {
            warn(
              `harness core ${cell.resources.harnessCpuPct.toFixed(0)}% busy: this cell partly measures the harness`,
            );
          }
        }
      }
    }
  } finally {
    await stopPeers(peers);
  }
  return { cells, baselineRss };
}
