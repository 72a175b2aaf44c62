/**
 * The streams tables' RSS column: the larger of its two readings (as target T5), and no number
 * where too few streams make it the process's drift rather than the streams' memory (the
 * 10-stream sweep once read −8,343 kB per stream, shown as "≈0").
 */
import { describe, expect, it } from 'vitest';
import type { Results } from '../../bench/src/report/results.ts';
import { streamsTable } from '../../bench/src/report/streams-table.ts';
import type { StreamsRow } from '../../bench/src/scenarios/aggregate.ts';

const results = { peers: { streamwell: { label: 'streamwell' } } } as unknown as Results;

const row = (rssPerStreamKb: number, rssCollectedPerStreamKb?: number): StreamsRow =>
  ({
    tokensPerSecond: 1000,
    ttftP50: 1,
    ttftP99: 2,
    delayP50: 0.1,
    delayP99: 0.2,
    cpuPer1kTokensMs: 50,
    gatewayCpuPct: 40,
    harnessCpuPct: 30,
    lost: 0,
    duplicated: 0,
    errors: 0,
    rssPerStreamKb,
    ...(rssCollectedPerStreamKb === undefined ? {} : { rssCollectedPerStreamKb }),
  }) as StreamsRow;

/** The RSS cell of streamwell's row (the column before "harness CPU %"). */
function rssCell(streamsRow: StreamsRow, streams: number): string | undefined {
  const lines = streamsTable(results, { streamwell: streamsRow }, { added: false, streams }).split('\n');
  const header = lines[0]?.split(' | ') ?? [];
  const cells = lines[2]?.split(' | ') ?? [];
  return cells[header.indexOf('RSS / stream (kB)')];
}

describe('streamsTable RSS column', () => {
  it('shows the reading after a full collection when the window reads lower', () => {
    expect(rssCell(row(0.9, 12.4), 1000)).toBe('12.4');
  });

  it('shows the window when it reads higher, and "≈0" only when both read below zero', () => {
    expect(rssCell(row(41.1, 40.3), 1000)).toBe('41.1');
    expect(rssCell(row(-3, -1), 1000)).toBe('≈0 (noise)');
  });

  it('gives no number below 500 streams, however plausible it looks', () => {
    expect(rssCell(row(-8342.7), 10)).toBe('n/a (< 500 streams)');
    expect(rssCell(row(129), 100)).toBe('n/a (< 500 streams)');
  });
});
