/**
 * 1-byte fragmentation: the upstream writes every event one byte per event-loop turn, so each
 * gateway's parser sees 1-byte reads. Compared with the same streams whole; correctness
 * (sequence checks) plus added per-token delay and CPU per token.
 *
 * @module
 */
import { heading } from '../lib/log.ts';
import { formatParams } from '../mock/stream-params.ts';
import type { PeerId } from '../peers/peers.ts';
import { aggregateCells, type StreamsRow } from './aggregate.ts';
import type { BenchContext } from './context.ts';
import { quickPeers, runMatrix } from './matrix.ts';

/** Result: rows per variant (`whole`, `1-byte`). */
export interface FragmentationResult {
  readonly streams: number;
  readonly rate: number;
  readonly variants: Record<string, Partial<Record<PeerId, StreamsRow>>>;
}

/** Runs the fragmentation scenario. */
export async function runFragmentation(context: BenchContext): Promise<FragmentationResult> {
  heading('fragmentation: upstream events in 1-byte writes');
  const quick = context.options.quick;
  const streams = 4;
  const tokens = 40;
  const rate = 20;
  const base = {
    concurrency: streams,
    rampMs: 500,
    warmupMs: quick ? 700 : 1500,
    measureMs: quick ? 1200 : 4000,
    expectTokens: tokens,
  };
  const matrix = await runMatrix(
    context,
    'fragmentation',
    quickPeers(context),
    [
      { name: 'whole', job: { ...base, prompt: formatParams({ tokens, rate }) } },
      { name: '1-byte', job: { ...base, prompt: formatParams({ tokens, rate, fragment: 1 }) } },
    ],
    1,
  );
  const variants: FragmentationResult['variants'] = {};
  for (const [name, cells] of Object.entries(matrix.cells)) {
    const rows: Partial<Record<PeerId, StreamsRow>> = {};
    for (const id of quickPeers(context)) {
      const peerCells = cells[id];
      if (peerCells) rows[id] = aggregateCells(peerCells, cells.direct, streams, matrix.baselineRss[id] ?? 0);
    }
    variants[name] = rows;
  }
  return { streams, rate, variants };
}
