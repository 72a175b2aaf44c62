/**
 * The single-stream section: time to first token and per-token delay, one stream at a time.
 *
 * @module
 */
import { chart, n, signed, table } from './markdown.ts';
import { peerLabel, type ReportContext } from './report-context.ts';
import { renderBarChart } from './svg-chart.ts';

/** Renders the `ttft` scenario. */
export function renderTtft({ results, scenarios, chartDir, written }: ReportContext): string[] {
  const ttft = scenarios.ttft;
  if (!ttft) return [];
  const out: string[] = [];
  out.push('## Single stream: time to first token', '');
  out.push(
    `Lone streams one after another (${ttft.tokensPerStream} tokens at 400 tokens/s, no model delay). TTFT is from the ` +
      'client\'s `connect()` to the arrival of the first token\'s bytes; "added" is the peer minus direct in the same ' +
      'round, then the median over rounds.',
    '',
  );
  const withStore = Object.values(ttft.rows).some((row) => row?.storeCpuPerStreamMs !== undefined);
  out.push(
    table(
      [
        'peer',
        'TTFT p50 / p99 (ms)',
        'added p50 / p99',
        'per-token delay p50 / p99',
        'added delay p50 / p99',
        'gateway CPU / stream (ms)',
        ...(withStore ? ['Redis server CPU / stream (ms)'] : []),
      ],
      Object.entries(ttft.rows).map(([id, row]) => [
        peerLabel(results, id),
        `${row?.ttftP50} / ${row?.ttftP99}`,
        id === 'direct' ? '(floor)' : `${signed(row?.addedTtftP50)} / ${signed(row?.addedTtftP99)}`,
        `${row?.delayP50} / ${row?.delayP99}`,
        id === 'direct' ? '(floor)' : `${signed(row?.addedDelayP50)} / ${signed(row?.addedDelayP99)}`,
        id === 'direct' ? '—' : n(row?.cpuPerStreamMs),
        ...(withStore ? [row?.storeCpuPerStreamMs === undefined ? '—' : n(row.storeCpuPerStreamMs)] : []),
      ]),
    ),
    '',
  );
  const ids = Object.keys(ttft.rows).filter((id) => id !== 'direct');
  out.push(
    chart(
      chartDir,
      'ttft',
      renderBarChart({
        title: 'Added time to first token, one stream',
        unit: 'ms over direct (lower is better)',
        categories: ids.map((id) => peerLabel(results, id)),
        series: [
          { name: 'p50', values: ids.map((id) => ttft.rows[id as keyof typeof ttft.rows]?.addedTtftP50) },
          { name: 'p99', values: ids.map((id) => ttft.rows[id as keyof typeof ttft.rows]?.addedTtftP99) },
        ],
        target: { value: 1, label: 'p99 target 1 ms' },
      }),
      written,
    ),
    '',
  );
  return out;
}
