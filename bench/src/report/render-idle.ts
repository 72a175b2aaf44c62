/**
 * Idle capacity: memory and heartbeat CPU of open streams that receive only heartbeats.
 *
 * @module
 */
import { chart, table } from './markdown.ts';
import type { ReportContext } from './report-context.ts';
import { renderBarChart } from './svg-chart.ts';

/** Renders the `idle` scenario. */
export function renderIdle({ scenarios, chartDir, written }: ReportContext): string[] {
  const idle = scenarios.idle;
  if (!idle) return [];
  const out: string[] = [];
  out.push('## Idle capacity', '');
  out.push(
    `Open SSE streams that receive only heartbeats (every ${Object.values(idle.rows)[0]?.heartbeatMs ?? 'n/a'} ms here, ` +
      `to exercise them; the default is 15 s). RSS per stream = (RSS with N open − RSS before) / N. The process fd ` +
      `limit is ${idle.fdLimit} (soft = hard): a run with its own upstream request needs two fds per stream.`,
    '',
  );
  out.push(
    table(
      [
        'case',
        'streams',
        'failed / ended early',
        'RSS before → after (MB)',
        'RSS / stream (kB)',
        'heartbeat CPU % of a core',
        'heartbeats / stream',
      ],
      Object.entries(idle.rows).map(([name, row]) => [
        name,
        String(row.streams),
        `${row.failed} / ${row.endedEarly}`,
        `${row.rssBeforeMb} → ${row.rssAfterMb}`,
        String(row.rssPerStreamKb),
        String(row.heartbeatCpuPct),
        String(row.heartbeatsPerStream),
      ]),
    ),
    '',
  );
  out.push(
    chart(
      chartDir,
      'idle',
      renderBarChart({
        title: 'Memory per idle SSE stream',
        unit: 'kB of RSS per stream (lower is better)',
        categories: Object.keys(idle.rows),
        series: [{ name: 'kB / stream', values: Object.values(idle.rows).map((row) => row.rssPerStreamKb) }],
        target: { value: 12, label: 'target 12 kB' },
      }),
      written,
    ),
    '',
  );
  return out;
}
