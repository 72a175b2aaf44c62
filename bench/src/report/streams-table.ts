/**
 * The table shared by every scenario that measures concurrent streams (sweep, memory,
 * saturation, fragmentation): one row per peer, CPU relative to streamwell.
 *
 * @module
 */
import { MIN_RSS_STREAMS, type StreamsRow } from '../scenarios/aggregate.ts';
import { n, signed, table, times } from './markdown.ts';
import { peerLabel } from './report-context.ts';
import type { Results } from './results.ts';
import { conservativeRss } from './targets.ts';

/**
 * A streams table.
 *
 * @param options.added - with the "added over direct" columns (not at saturation, which has no direct floor)
 * @param options.streams - concurrent streams of the cells (RSS per stream is shown from {@link MIN_RSS_STREAMS})
 */
export function streamsTable(
  results: Results,
  rows: Partial<Record<string, StreamsRow>>,
  options: { added: boolean; streams: number },
): string {
  const ids = Object.keys(rows);
  const swCpu = rows.streamwell?.cpuPer1kTokensMs;
  const withStore = ids.some((id) => rows[id]?.storeCpuPer1kTokensMs !== undefined);
  const header = [
    'peer',
    'tokens/s',
    'TTFT p50 / p99 (ms)',
    ...(options.added ? ['added TTFT p50 / p99'] : []),
    'per-token delay p50 / p99',
    ...(options.added ? ['added delay p50 / p99'] : []),
    'gateway CPU / 1k tokens (ms)',
    ...(withStore ? ['Redis server CPU / 1k tokens (ms)'] : []),
    'vs streamwell',
    'gateway CPU %',
    'RSS / stream (kB)',
    'harness CPU %',
    'lost / dup / err',
  ];
  const body = ids.map((id) => {
    const row = rows[id] as StreamsRow;
    const isDirect = id === 'direct';
    return [
      peerLabel(results, id),
      n(row.tokensPerSecond),
      `${n(row.ttftP50)} / ${n(row.ttftP99)}`,
      ...(options.added ? [isDirect ? '(floor)' : `${signed(row.addedTtftP50)} / ${signed(row.addedTtftP99)}`] : []),
      `${n(row.delayP50)} / ${n(row.delayP99)}`,
      ...(options.added ? [isDirect ? '(floor)' : `${signed(row.addedDelayP50)} / ${signed(row.addedDelayP99)}`] : []),
      isDirect ? '—' : n(row.cpuPer1kTokensMs),
      ...(withStore ? [n(row.storeCpuPer1kTokensMs)] : []),
      isDirect || id === 'streamwell'
        ? '—'
        : row.storeCpuPer1kTokensMs === undefined
          ? times(row.cpuPer1kTokensMs, swCpu)
          : `${times(row.cpuPer1kTokensMs, swCpu)} (${times(row.cpuPer1kTokensMs + row.storeCpuPer1kTokensMs, swCpu)} with Redis)`,
      isDirect ? '—' : n(row.gatewayCpuPct),
      isDirect ? '—' : rssCell(row, options.streams),
      n(row.harnessCpuPct),
      `${row.lost} / ${row.duplicated} / ${row.errors}`,
    ];
  });
  return table(header, body);
}

/** The peers of a table that are gateways (everything but the direct floor). */
export function gatewayIds(rows: Partial<Record<string, StreamsRow>>): string[] {
  return Object.keys(rows).filter((id) => id !== 'direct');
}

/**
 * The RSS-per-stream cell: the larger of the window's median and the reading after a full
 * collection (as target T5 is judged), or why there is no number.
 */
function rssCell(row: StreamsRow, streams: number): string {
  if (streams < MIN_RSS_STREAMS) return `n/a (< ${MIN_RSS_STREAMS} streams)`;
  const rss = conservativeRss(row);
  if (rss === undefined) return 'n/a';
  return rss < 0 ? '≈0 (noise)' : n(rss);
}
