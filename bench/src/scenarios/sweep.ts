/**
 * Concurrency sweep: 10, 100 and 1,000 concurrent streams of 60 tokens at 30 tokens/s in a
 * closed loop (each finished stream is replaced at once, so new streams keep starting under
 * full load), every peer, interleaved repetitions. Per-token delay, time to first token, CPU
 * per 1,000 tokens and RSS per stream.
 *
 * @module
 */
import { heading } from '../lib/log.ts';
import { formatParams } from '../mock/stream-params.ts';
import type { PeerId } from '../peers/peers.ts';
import { aggregateCells, MIN_RSS_STREAMS, type StreamsRow } from './aggregate.ts';
import type { BenchContext } from './context.ts';
import { runMatrix } from './matrix.ts';

/** One level of the sweep. */
export interface SweepLevel {
  readonly concurrency: number;
  readonly rate: number;
  readonly tokensPerStream: number;
  readonly rows: Partial<Record<PeerId, StreamsRow>>;
}

/** Result: per level, one row per peer. */
export interface SweepResult {
  readonly tokensPerStream: number;
  readonly rate: number;
  readonly levels: SweepLevel[];
}

/**
 * Runs the sweep. `BENCH_SWEEP=1000@30x60,100@30x60` (concurrency@rate x tokens) replaces the levels
 * and `BENCH_REPS=5` the number of repetitions, for A/B runs and for profiling one load (`npm run bench -- --only sweep --peers streamwell --profile`).
 *
 * Otherwise: A full run adds 1,000 streams at 10 tokens/s: at 30 tokens/s (the targets'
 * load, 30,000 tokens/s) one core of the reference VM is saturated by every Node gateway, so the
 * lower rate shows the per-token overhead without the queueing.
 */
export async function runSweep(context: BenchContext): Promise<SweepResult> {
  const quick = context.options.quick;
  const override = parseLevels(process.env.BENCH_SWEEP);
  const levels = override
    ? override
    : quick
      ? [{ concurrency: 50, rate: 30, tokens: 60 }]
      : [
          { concurrency: 10, rate: 30, tokens: 60 },
          { concurrency: 100, rate: 30, tokens: 60 },
          { concurrency: 1000, rate: 30, tokens: 60 },
          { concurrency: 1000, rate: 10, tokens: 30 },
        ];
  const result: SweepResult = { tokensPerStream: 60, rate: 30, levels: [] };
  for (const { concurrency, rate, tokens } of levels) {
    heading(`concurrency sweep: ${concurrency} streams × ${rate} tok/s`);
    const streamMs = (tokens / rate) * 1000;
    const matrix = await runMatrix(
      context,
      `c=${concurrency}@${rate}`,
      context.options.peers,
      [
        {
          name: 'default',
          job: {
            prompt: formatParams({ tokens, rate }),
            concurrency,
            rampMs: streamMs,
            warmupMs: quick ? 1000 : streamMs + 500,
            measureMs: quick ? 1000 : concurrency >= 1000 ? 5000 : 4000,
            expectTokens: tokens,
            // Where RSS per stream is reported (MIN_RSS_STREAMS), also read it after a full collection.
            ...(concurrency >= MIN_RSS_STREAMS ? { collectAtEnd: true } : {}),
          },
        },
      ],
      repetitions(quick),
    );
    const cells = matrix.cells.default ?? {};
    const rows: Partial<Record<PeerId, StreamsRow>> = {};
    for (const id of context.options.peers) {
      const peerCells = cells[id];
      if (peerCells) rows[id] = aggregateCells(peerCells, cells.direct, concurrency, matrix.baselineRss[id] ?? 0);
    }
    result.levels.push({ concurrency, rate, tokensPerStream: tokens, rows });
  }
  return result;
}

/** Repetitions per level: `BENCH_REPS` (for A/B runs), else 2 (1 in quick mode). */
function repetitions(quick: boolean): number {
  const reps = Number(process.env.BENCH_REPS ?? (quick ? 1 : 2));
  if (!Number.isInteger(reps) || reps < 1)
    throw new Error(`BENCH_REPS: "${process.env.BENCH_REPS}" is not a positive integer`);
  return reps;
}

function parseLevels(spec: string | undefined): { concurrency: number; rate: number; tokens: number }[] | undefined {
  if (!spec) return undefined;
  return spec.split(',').map((level) => {
    const match = /^(\d+)@(\d+)x(\d+)$/.exec(level.trim());
    if (!match) throw new Error(`BENCH_SWEEP: "${level}" is not concurrency@rate x tokens (e.g. 1000@30x60)`);
    return { concurrency: Number(match[1]), rate: Number(match[2]), tokens: Number(match[3]) };
  });
}
