/**
 * The concurrency sweep: one streams table per level, and charts of added delay and CPU per token.
 *
 * @module
 */
import { chart } from './markdown.ts';
import { peerLabel, type ReportContext } from './report-context.ts';
import { gatewayIds, streamsTable } from './streams-table.ts';
import { renderBarChart } from './svg-chart.ts';

/** Renders the `sweep` scenario. */
export function renderSweep({ results, scenarios, chartDir, written }: ReportContext): string[] {
  const sweep = scenarios.sweep;
  if (!sweep) return [];
  const out: string[] = [];
  out.push('## Concurrency sweep', '');
  out.push(
    'Closed loop: each of N streams is replaced as soon as ' +
      'it ends, so new streams start all the time under full load. Per-token delay is receive time minus the send ' +
      'time the mock embedded in the token.',
    '',
  );
  for (const entry of sweep.levels) {
    out.push(
      `### ${entry.concurrency.toLocaleString('en-US')} streams × ${entry.rate ?? sweep.rate} tokens/s (${entry.tokensPerStream ?? sweep.tokensPerStream} tokens each)`,
      '',
    );
    out.push(streamsTable(results, entry.rows, { added: true, streams: entry.concurrency }), '');
  }
  const ids = gatewayIds(sweep.levels[0]?.rows ?? {});
  out.push(
    chart(
      chartDir,
      'sweep-delay',
      renderBarChart({
        title: 'Added per-token delay p99 by concurrency',
        unit: 'ms over direct (lower is better)',
        categories: ids.map((id) => peerLabel(results, id)),
        series: sweep.levels.map((entry) => ({
          name: `${entry.concurrency}×${entry.rate ?? sweep.rate}/s`,
          values: ids.map((id) => entry.rows[id as keyof typeof entry.rows]?.addedDelayP99),
        })),
        log: true,
      }),
      written,
    ),
    '',
    chart(
      chartDir,
      'sweep-cpu',
      renderBarChart({
        title: 'Gateway CPU per 1,000 relayed tokens by concurrency',
        unit: 'ms of CPU (lower is better)',
        categories: ids.map((id) => peerLabel(results, id)),
        series: sweep.levels.map((entry) => ({
          name: `${entry.concurrency}×${entry.rate ?? sweep.rate}/s`,
          values: ids.map((id) => entry.rows[id as keyof typeof entry.rows]?.cpuPer1kTokensMs),
        })),
        log: true,
        target: { value: 6, label: 'target 6 ms' },
      }),
      written,
    ),
    '',
  );
  return out;
}
