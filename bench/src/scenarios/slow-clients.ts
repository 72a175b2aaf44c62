/**
 * Slow clients: 100 normal streams (60 tokens at 30 tokens/s), alone and then next to 10
 * clients that read 1 KiB/s from streams of 6 MiB (1,500 tokens of 4 KiB from an unthrottled
 * upstream). Head-of-line isolation: the normal streams' per-token delay should not move.
 * Bounded memory: the gateway's RSS should not grow with what the slow clients fail to read.
 *
 * @module
 */
import { heading } from '../lib/log.ts';
import { formatParams } from '../mock/stream-params.ts';
import type { PeerId } from '../peers/peers.ts';
import { aggregateCells, type StreamsRow } from './aggregate.ts';
import type { BenchContext } from './context.ts';
import { quickPeers, runMatrix } from './matrix.ts';

/** Result: rows per variant (`alone`, `with slow clients`). */
export interface SlowClientsResult {
  readonly fastStreams: number;
  readonly slowStreams: number;
  readonly slowBytesPerStream: number;
  readonly variants: Record<string, Partial<Record<PeerId, StreamsRow>>>;
}

/** Runs the slow-clients scenario. */
export async function runSlowClients(context: BenchContext): Promise<SlowClientsResult> {
  heading('slow clients: head-of-line isolation and bounded memory');
  const quick = context.options.quick;
  const fastStreams = quick ? 50 : 100;
  const slowStreams = quick ? 5 : 10;
  const pad = 4096;
  const slowTokens = 1500;
  const base = {
    prompt: formatParams({ tokens: 60, rate: 30 }),
    concurrency: fastStreams,
    rampMs: 2000,
    warmupMs: quick ? 1000 : 2500,
    measureMs: quick ? 1500 : 5000,
    expectTokens: 60,
  };
  const ids = quickPeers(context).filter((id) => id !== 'direct');
  const matrix = await runMatrix(
    context,
    'slow clients',
    ['direct', ...ids],
    [
      { name: 'alone', job: base },
      {
        name: 'with slow clients',
        job: {
          ...base,
          slow: {
            count: slowStreams,
            prompt: formatParams({ tokens: slowTokens, rate: 0, pad }),
            readBytesPerSecond: 1024,
            expectTokens: slowTokens,
          },
        },
      },
    ],
    1,
  );
  const variants: SlowClientsResult['variants'] = {};
  for (const [name, cells] of Object.entries(matrix.cells)) {
    const rows: Partial<Record<PeerId, StreamsRow>> = {};
    for (const id of ['direct' as const, ...ids]) {
      const peerCells = cells[id];
      if (peerCells) rows[id] = aggregateCells(peerCells, cells.direct, fastStreams, matrix.baselineRss[id] ?? 0);
    }
    variants[name] = rows;
  }
  return { fastStreams, slowStreams, slowBytesPerStream: slowTokens * (pad + 200), variants };
}
