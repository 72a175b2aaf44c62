/**
 * Bulk: hundreds of concurrent streams from an upstream that writes as fast as the socket takes
 * it (`batch=0`, flood), so that each gateway read carries many events and per-read costs (the
 * same for every relay) no longer hide per-token ones. Every peer but the direct floor,
 * interleaved rounds; gateway CPU per relayed token from `/proc`, relayed tokens per second and
 * the sequence checks of every token. The ratio to the naive relay is taken within each round
 * (the machine is shared: only ratios measured side by side mean anything), then the median.
 *
 * `BENCH_BULK=200x500` (streams x tokens) and `BENCH_REPS` replace the sizes, for A/B runs.
 *
 * @module
 */
import { heading } from '../lib/log.ts';
import { formatParams } from '../mock/stream-params.ts';
import type { PeerId } from '../peers/peers.ts';
import { aggregateCells, type StreamsRow } from './aggregate.ts';
import { type BenchContext, median, type StreamsCell } from './context.ts';
import { runMatrix } from './matrix.ts';

/** Result: one row per gateway, plus its CPU per token relative to the naive relay. */
export interface BulkResult {
  readonly streams: number;
  readonly tokensPerStream: number;
  readonly rounds: number;
  readonly rows: Partial<Record<PeerId, StreamsRow>>;
  /**
   * Gateway CPU per relayed token ÷ the naive relay's, per round (same round, same load), in
   * round order; absent without the naive relay.
   */
  readonly vsNaive: Partial<Record<PeerId, number[]>>;
  /** Median of {@link vsNaive}. */
  readonly vsNaiveMedian: Partial<Record<PeerId, number>>;
}

/** Full size: the workload (200 streams × 500 tokens); quick keeps CI under a minute. */
const SIZES = { full: { streams: 200, tokens: 500, rounds: 5 }, quick: { streams: 50, tokens: 200, rounds: 1 } };

/** Runs the bulk scenario. */
export async function runBulk(context: BenchContext): Promise<BulkResult> {
  const quick = context.options.quick;
  const size = { ...SIZES[quick ? 'quick' : 'full'], ...parseSize(process.env.BENCH_BULK) };
  const rounds = process.env.BENCH_REPS === undefined ? size.rounds : Number(process.env.BENCH_REPS);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`BENCH_REPS: "${process.env.BENCH_REPS}" is not a positive integer`);
  heading(`bulk: ${size.streams} flooded streams × ${size.tokens} tokens, many events per read, gateway on one core`);
  const ids = context.options.peers.filter((id) => id !== 'direct');
  const matrix = await runMatrix(
    context,
    'bulk',
    ids,
    [
      {
        name: 'default',
        job: {
          prompt: formatParams({ tokens: size.tokens, rate: 0, batch: 0 }),
          concurrency: size.streams,
          rampMs: 200,
          warmupMs: quick ? 500 : 1500,
          measureMs: quick ? 1000 : 3000,
          expectTokens: size.tokens,
        },
      },
    ],
    rounds,
  );
  const cells = matrix.cells.default ?? {};
  const rows: Partial<Record<PeerId, StreamsRow>> = {};
  for (const id of ids) {
    const peerCells = cells[id];
    if (peerCells) rows[id] = aggregateCells(peerCells, undefined, size.streams, matrix.baselineRss[id] ?? 0);
  }
  const vsNaive: Partial<Record<PeerId, number[]>> = {};
  const vsNaiveMedian: Partial<Record<PeerId, number>> = {};
  const naive = cells.naive;
  if (naive) {
    for (const id of ids) {
      const peerCells = cells[id];
      if (!peerCells || id === 'naive') continue;
      const ratios = peerCells.map((cell, round) => {
        const base = naive[round];
        return base ? Math.round((cpuPerToken(cell) / cpuPerToken(base)) * 1000) / 1000 : Number.NaN;
      });
      vsNaive[id] = ratios;
      vsNaiveMedian[id] = Math.round(median(ratios) * 1000) / 1000;
    }
  }
  return { streams: size.streams, tokensPerStream: size.tokens, rounds, rows, vsNaive, vsNaiveMedian };
}

/** Gateway CPU per relayed token of one cell, ns (NaN when nothing was relayed). */
function cpuPerToken(cell: StreamsCell): number {
  const tokens = cell.main.tokens + cell.slow.tokens;
  return tokens > 0 ? (cell.resources.gatewayCpuMs * 1e6) / tokens : Number.NaN;
}

function parseSize(spec: string | undefined): { streams: number; tokens: number } | undefined {
  if (!spec) return undefined;
  const match = /^(\d+)x(\d+)$/.exec(spec.trim());
  if (!match) throw new Error(`BENCH_BULK: "${spec}" is not streams x tokens (e.g. 200x500)`);
  return { streams: Number(match[1]), tokens: Number(match[2]) };
}
