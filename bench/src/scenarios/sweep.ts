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
import { aggregateCells, type StreamsRow } from './aggregate.ts';
import type { BenchContext } from './context.ts';
import { runMatrix } from './matrix.ts';

/** Result: per concurrency level, one row per peer. */
export interface SweepResult {
  readonly tokensPerStream: number;
  readonly rate: number;
  readonly levels: { readonly concurrency: number; readonly rows: Partial<Record<PeerId, StreamsRow>> }[];
}

/** Runs the sweep. */
export async function runSweep(context: BenchContext): Promise<SweepResult> {
  const quick = context.options.quick;
  const levels = quick ? [50] : [10, 100, 1000];
  const tokens = 60;
  const rate = 30;
  const result: SweepResult = { tokensPerStream: tokens, rate, levels: [] };
  for (const concurrency of levels) {
    heading(`concurrency sweep: ${concurrency} streams × ${rate} tok/s`);
    const streamMs = (tokens / rate) * 1000;
    const matrix = await runMatrix(
      context,
      `c=${concurrency}`,
      context.options.peers,
      [
        {
          name: 'default',
          job: {
            prompt: formatParams({ tokens, rate }),
            concurrency,
            rampMs: streamMs,
            warmupMs: quick ? 1000 : streamMs + 500,
            measureMs: quick ? 1000 : concurrency >= 1000 ? 6000 : 5000,
            expectTokens: tokens,
          },
        },
      ],
      quick ? 1 : concurrency >= 1000 ? 3 : 2,
    );
    const cells = matrix.cells.default ?? {};
    const rows: Partial<Record<PeerId, StreamsRow>> = {};
    for (const id of context.options.peers) {
      const peerCells = cells[id];
      if (peerCells) rows[id] = aggregateCells(peerCells, cells.direct, concurrency, matrix.baselineRss[id] ?? 0);
    }
    result.levels.push({ concurrency, rows });
  }
  return result;
}
