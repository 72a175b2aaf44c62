/**
 * Saturation: 64 streams from an unthrottled upstream (one token event per upstream write), so
 * the gateway core runs flat out unless the harness core saturates first; relayed tokens per second on one core and CPU per 1,000
 * tokens at that load. The direct floor is left out (there is no gateway to saturate).
 *
 * @module
 */
import { heading } from '../lib/log.ts';
import { formatParams } from '../mock/stream-params.ts';
import type { PeerId } from '../peers/peers.ts';
import { aggregateCells, type StreamsRow } from './aggregate.ts';
import type { BenchContext } from './context.ts';
import { runMatrix } from './matrix.ts';

/** Result: one row per gateway. */
export interface SaturationResult {
  readonly streams: number;
  readonly tokensPerStream: number;
  readonly rows: Partial<Record<PeerId, StreamsRow>>;
}

/** Runs the saturation scenario. */
export async function runSaturation(context: BenchContext): Promise<SaturationResult> {
  heading('saturation: 64 unthrottled streams, gateway on one core');
  const quick = context.options.quick;
  const streams = 64;
  const tokens = 2000;
  const ids = context.options.peers.filter((id) => id !== 'direct');
  const rows = await measureSaturation(context, 'saturation', ids, { streams, tokens, reps: quick ? 1 : 2 });
  return { streams, tokensPerStream: tokens, rows };
}

/**
 * The saturation load (`streams` unthrottled streams of `tokens` tokens, one event per upstream
 * write) on each of `ids`, interleaved over `reps` rounds: one row per peer. The `workers`
 * scenario runs the same load on its servers.
 */
export async function measureSaturation(
  context: BenchContext,
  scenario: string,
  ids: readonly PeerId[],
  load: { readonly streams: number; readonly tokens: number; readonly reps: number },
): Promise<Partial<Record<PeerId, StreamsRow>>> {
  const quick = context.options.quick;
  const { streams, tokens } = load;
  const matrix = await runMatrix(
    context,
    scenario,
    ids,
    [
      {
        name: 'default',
        job: {
          prompt: formatParams({ tokens, rate: 0, batch: 1 }),
          concurrency: streams,
          rampMs: 200,
          warmupMs: quick ? 500 : 1500,
          measureMs: quick ? 1000 : 4000,
          expectTokens: tokens,
        },
      },
    ],
    load.reps,
  );
  const rows: Partial<Record<PeerId, StreamsRow>> = {};
  for (const id of ids) {
    const cells = matrix.cells.default?.[id];
    if (cells) rows[id] = aggregateCells(cells, undefined, streams, matrix.baselineRss[id] ?? 0);
  }
  return rows;
}
