/**
 * Slow clients: normal streams' delay alone and next to 1 KiB/s readers, and the gateway's RSS.
 *
 * @module
 */
import { chart, n, signed, table } from './markdown.ts';
import { peerLabel, type ReportContext } from './report-context.ts';
import { renderBarChart } from './svg-chart.ts';

/** Renders the `slow-clients` scenario. */
export function renderSlowClients({ results, scenarios, chartDir, written }: ReportContext): string[] {
  const slow = scenarios['slow-clients'];
  if (!slow) return [];
  const out: string[] = [];
  out.push('## Slow clients: head-of-line isolation and bounded memory', '');
  out.push(
    `${slow.fastStreams} normal streams (60 tokens at 30 tokens/s), alone and then next to ${slow.slowStreams} clients ` +
      `that read 1 KiB/s from ${(slow.slowBytesPerStream / 1e6).toFixed(1)} MB streams (unthrottled upstream). The ` +
      "normal streams' per-token delay should not move, and the gateway's RSS should not grow with what the slow " +
      'clients leave unread (the kernel socket buffers absorb the first few MB per connection).',
    '',
  );
  const ids = Object.keys(slow.variants.alone ?? {});
  out.push(
    table(
      [
        'peer',
        'delay p50 / p99 alone (ms)',
        'delay p50 / p99 with slow clients',
        'Δ p99',
        'gateway RSS max alone → with slow (MB)',
      ],
      ids.map((id) => {
        const alone = slow.variants.alone?.[id as keyof (typeof slow.variants)['alone']];
        const loaded = slow.variants['with slow clients']?.[id as keyof (typeof slow.variants)['alone']];
        return [
          peerLabel(results, id),
          `${n(alone?.delayP50)} / ${n(alone?.delayP99)}`,
          `${n(loaded?.delayP50)} / ${n(loaded?.delayP99)}`,
          alone && loaded ? signed(Math.round((loaded.delayP99 - alone.delayP99) * 1000) / 1000) : 'n/a',
          id === 'direct' ? '—' : `${n(alone?.rssMaxMb)} → ${n(loaded?.rssMaxMb)}`,
        ];
      }),
    ),
    '',
  );
  const gateways = ids.filter((id) => id !== 'direct');
  out.push(
    chart(
      chartDir,
      'slow-clients',
      renderBarChart({
        title: 'Gateway RSS with 1 KiB/s readers next to normal streams',
        unit: 'MB, peak RSS in the window (lower is better)',
        categories: gateways.map((id) => peerLabel(results, id)),
        series: [
          { name: 'alone', values: gateways.map((id) => slow.variants.alone?.[id as 'streamwell']?.rssMaxMb) },
          {
            name: 'with slow clients',
            values: gateways.map((id) => slow.variants['with slow clients']?.[id as 'streamwell']?.rssMaxMb),
          },
        ],
      }),
      written,
    ),
    '',
  );
  return out;
}
