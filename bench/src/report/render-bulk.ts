/**
 * The report's section of the bulk scenario (`scenarios/bulk.ts`): per gateway, relayed tokens
 * per second, gateway CPU per 1,000 tokens and its ratio to the naive relay measured round by
 * round, and a chart of CPU per token.
 *
 * @module
 */
import type { BulkResult } from '../scenarios/bulk.ts';
import { chart, n, table } from './markdown.ts';
import { renderBarChart } from './svg-chart.ts';

/** What the section needs of the results file. */
export interface BulkReportInput {
  readonly peers: Record<string, { label: string }>;
}

/**
 * Renders the bulk section.
 *
 * @param results - for the peers' labels
 * @param bulk - the scenario's result (nothing is rendered without one)
 * @param chartDir - where `bulk.svg` goes
 * @param written - receives the chart's path
 * @returns Markdown lines
 */
export function renderBulkSection(
  results: BulkReportInput,
  bulk: BulkResult | undefined,
  chartDir: string,
  written: string[],
): string[] {
  if (bulk === undefined) return [];
  const label = (id: string): string => results.peers[id]?.label ?? id;
  const ids = Object.keys(bulk.rows) as (keyof BulkResult['rows'])[];
  const body = ids.map((id) => {
    const row = bulk.rows[id];
    const ratios = bulk.vsNaive[id];
    return [
      label(id),
      n(row?.tokensPerSecond),
      row?.storeCpuPer1kTokensMs === undefined
        ? n(row?.cpuPer1kTokensMs)
        : `${n(row.cpuPer1kTokensMs)} (+${n(row.storeCpuPer1kTokensMs)} Redis server)`,
      id === 'naive'
        ? '1 (baseline)'
        : ratios === undefined
          ? 'n/a'
          : `${n(bulk.vsNaiveMedian[id])} (${ratios.join(', ')})`,
      n(row?.gatewayCpuPct),
      n(row?.harnessCpuPct),
      `${row?.lost ?? 0} / ${row?.duplicated ?? 0} / ${row?.errors ?? 0}`,
    ];
  });
  return [
    '## Bulk: many events per upstream read',
    '',
    `${bulk.streams} concurrent streams of ${bulk.tokensPerStream} tokens (closed loop), the mock upstream writing as ` +
      'fast as each socket takes it, so a gateway finds many events in each read: per-read costs (the same for every ' +
      'relay) fall away and what each relay does per token is left. Gateway on one core, ' +
      `${bulk.rounds} interleaved rounds. The ratio to the naive relay is taken within each round (same load, same ` +
      'moment of a shared machine), then the median; the rounds are listed in brackets.',
    '',
    table(
      [
        'peer',
        'tokens/s',
        'gateway CPU / 1k tokens (ms)',
        'CPU per token ÷ naive: median (rounds)',
        'gateway CPU %',
        'harness CPU %',
        'lost / dup / err',
      ],
      body,
    ),
    '',
    chart(
      chartDir,
      'bulk',
      renderBarChart({
        title: 'Gateway CPU per 1,000 relayed tokens, many events per read',
        unit: 'ms (lower is better)',
        categories: ids.map(label),
        series: [{ name: 'CPU / 1k tokens', values: ids.map((id) => bulk.rows[id]?.cpuPer1kTokensMs) }],
      }),
      written,
    ),
    '',
  ];
}
