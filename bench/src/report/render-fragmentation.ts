/**
 * 1-byte fragmentation: each gateway with whole upstream events and with 1-byte upstream reads.
 *
 * @module
 */
import type { StreamsRow } from '../scenarios/aggregate.ts';
import { chart } from './markdown.ts';
import { peerLabel, type ReportContext } from './report-context.ts';
import { gatewayIds, streamsTable } from './streams-table.ts';
import { renderBarChart } from './svg-chart.ts';

/** Renders the `fragmentation` scenario. */
export function renderFragmentation({ results, scenarios, chartDir, written }: ReportContext): string[] {
  const fragmentation = scenarios.fragmentation as
    | { streams: number; rate: number; variants: Record<string, Partial<Record<string, StreamsRow>>> }
    | undefined;
  if (!fragmentation) return [];
  const out: string[] = [];
  out.push('## 1-byte fragmentation', '');
  out.push(
    `${fragmentation.streams} streams at ${fragmentation.rate} tokens/s; the upstream writes each event whole, or one ` +
      'byte per event-loop turn (each gateway parser then sees 1-byte reads). Sequence checks must pass in both.',
    '',
  );
  for (const [name, rows] of Object.entries(fragmentation.variants)) {
    out.push(`### ${name}`, '', streamsTable(results, rows, { added: true, streams: fragmentation.streams }), '');
  }
  const ids = gatewayIds(fragmentation.variants.whole ?? {});
  out.push(
    chart(
      chartDir,
      'fragmentation',
      renderBarChart({
        title: 'Gateway CPU per 1,000 tokens: whole events vs 1-byte upstream reads',
        unit: 'ms of CPU (lower is better)',
        categories: ids.map((id) => peerLabel(results, id)),
        series: Object.entries(fragmentation.variants).map(([name, rows]) => ({
          name,
          values: ids.map((id) => rows[id]?.cpuPer1kTokensMs),
        })),
        log: true,
      }),
      written,
    ),
    '',
  );
  return out;
}
