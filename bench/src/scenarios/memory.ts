/**
 * Memory per active stream (T5): 1,000 streams that all stay open through the measuring window
 * (150 tokens at 10 tokens/s, 15 s each; the window ends 11 s after the first one started), so
 * that nothing finishes, is retained for resumes, or is replaced while RSS is sampled. RSS per
 * stream = (median RSS in the window − RSS after warm-up and a full collection) / streams, as in
 * the sweep; the sweep's own column mixes in the churn of its 2-second streams (every finished
 * run is retained 5 minutes for resumes), which this scenario keeps out.
 *
 * @module
 */
import { heading } from '../lib/log.ts';
import { formatParams } from '../mock/stream-params.ts';
import type { PeerId } from '../peers/peers.ts';
import { aggregateCells, type StreamsRow } from './aggregate.ts';
import type { BenchContext } from './context.ts';
import { quickPeers, relayPeers, runMatrix } from './matrix.ts';

/** Result: one row per peer. */
export interface MemoryResult {
  readonly streams: number;
  readonly rate: number;
  readonly tokensPerStream: number;
  readonly rows: Partial<Record<PeerId, StreamsRow>>;
}

/** Runs the memory scenario. */
export async function runMemory(context: BenchContext): Promise<MemoryResult> {
  const quick = context.options.quick;
  // Quick mode only keeps the scenario working (CI): 50 streams, streamwell and the floor, so that
  // the whole quick run stays under two minutes.
  const streams = quick ? 50 : 1000;
  const rate = 10;
  const tokens = quick ? 30 : 150;
  const peers = quick ? quickPeers(context).filter((id) => id !== 'naive') : relayPeers(context);
  heading(`memory per active stream: ${streams} streams open throughout the window`);
  const matrix = await runMatrix(
    context,
    `memory c=${streams}`,
    peers,
    [
      {
        name: 'default',
        job: {
          prompt: formatParams({ tokens, rate }),
          concurrency: streams,
          rampMs: quick ? 200 : 1000,
          warmupMs: quick ? 500 : 4000,
          measureMs: quick ? 800 : 6000,
          expectTokens: tokens,
          collectAtEnd: true,
        },
      },
    ],
    quick ? 1 : 2,
    {},
    // A settle-in cell's streams would still be running, server-side, in the first measured cell.
    { settleIn: false },
  );
  const rows: Partial<Record<PeerId, StreamsRow>> = {};
  for (const id of peers) {
    const cells = matrix.cells.default?.[id];
    if (cells) rows[id] = aggregateCells(cells, matrix.cells.default?.direct, streams, matrix.baselineRss[id] ?? 0);
  }
  return { streams, rate, tokensPerStream: tokens, rows };
}
