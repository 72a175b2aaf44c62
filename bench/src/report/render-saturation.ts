/**
 * Saturation: relayed tokens per second with the gateway flat out on one core.
 *
 * @module
 */
import { chart } from './markdown.ts';
import { peerLabel, type ReportContext } from './report-context.ts';
import { streamsTable } from './streams-table.ts';
import { renderBarChart } from './svg-chart.ts';

/** Renders the `saturation` scenario. */
export function renderSaturation({ results, scenarios, chartDir, written }: ReportContext): string[] {
  const saturation = scenarios.saturation;
  if (!saturation) return [];
  const out: string[] = [];
  out.push('## Saturation: relayed tokens per second on one core', '');
  out.push(
    `${saturation.streams} streams of ${saturation.tokensPerStream} tokens from an unthrottled upstream (one token ` +
      'per upstream write). A gateway at ~100 % CPU shows its one-core capacity; one below that was limited by the ' +
      'harness core (see its harness CPU).',
    '',
  );
  out.push(streamsTable(results, saturation.rows, { added: false, streams: saturation.streams }), '');
  const ids = Object.keys(saturation.rows);
  out.push(
    chart(
      chartDir,
      'saturation',
      renderBarChart({
        title: 'Relayed tokens per second, gateway on one core',
        unit: 'tokens/s (higher is better)',
        categories: ids.map((id) => peerLabel(results, id)),
        series: [
          {
            name: 'tokens/s',
            values: ids.map((id) => saturation.rows[id as keyof typeof saturation.rows]?.tokensPerSecond),
          },
        ],
      }),
      written,
    ),
    '',
  );
  return out;
}
