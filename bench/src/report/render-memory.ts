/**
 * Memory per active stream: RSS in the window and after a full collection.
 *
 * @module
 */
import { chart, n, table } from './markdown.ts';
import { peerLabel, type ReportContext } from './report-context.ts';
import { gatewayIds, streamsTable } from './streams-table.ts';
import { renderBarChart } from './svg-chart.ts';

/** Renders the `memory` scenario. */
export function renderMemory({ results, scenarios, chartDir, written }: ReportContext): string[] {
  const memory = scenarios.memory;
  if (!memory) return [];
  const out: string[] = [];
  out.push('## Memory per active stream', '');
  out.push(
    `${memory.streams.toLocaleString('en-US')} streams of ${memory.tokensPerStream} tokens at ${memory.rate} tokens/s, ` +
      'all open through the measuring window (it ends before the first of them finishes), so that no run finishes, ' +
      'is retained for resumes or is replaced while RSS is sampled. RSS per stream = (median RSS in the window − RSS ' +
      'after warm-up and a full collection) / streams; it includes each stream’s upstream connection and garbage ' +
      'not collected yet. The sweep’s RSS column above also carries its churn: at 1,000 × 30 tokens/s, 500 streams ' +
      'finish every second and streamwell retains each finished run for resumes (5 minutes, ~4 kB per 60-token run).',
    '',
  );
  out.push(streamsTable(results, memory.rows, { added: true, streams: memory.streams }), '');
  const ids = gatewayIds(memory.rows);
  out.push(
    'The median RSS in the window carries whatever garbage the process had not collected yet, which depends on ' +
      'when its collections happened to run. Right after the window, with every stream still open, each gateway ' +
      'was made to collect its garbage (`global.gc()`; nginx has none) and its RSS read again. Neither reading ' +
      'is a bound on its own: the window’s median also undercounts a process that reuses heap pages its warm-up ' +
      'had already made resident (they are in the baseline), so target T5 is judged on the larger of the two:',
    '',
    table(
      ['peer', 'RSS / stream in the window (kB)', 'RSS / stream after a full collection (kB)'],
      ids.map((id) => {
        const row = memory.rows[id as keyof typeof memory.rows];
        return [peerLabel(results, id), n(row?.rssPerStreamKb), n(row?.rssCollectedPerStreamKb)];
      }),
    ),
    '',
  );
  out.push(
    chart(
      chartDir,
      'memory',
      renderBarChart({
        title: `RSS per active stream, ${memory.streams.toLocaleString('en-US')} open streams`,
        unit: 'kB per stream (lower is better)',
        categories: ids.map((id) => peerLabel(results, id)),
        series: [
          {
            name: 'in the window (median)',
            values: ids.map((id) => memory.rows[id as keyof typeof memory.rows]?.rssPerStreamKb),
          },
          {
            name: 'after a full collection',
            values: ids.map((id) => memory.rows[id as keyof typeof memory.rows]?.rssCollectedPerStreamKb),
          },
        ],
        target: { value: 48, label: 'target 48 kB' },
      }),
      written,
    ),
    '',
  );
  return out;
}
