/**
 * Client SSE parser throughput, in process, and its linearity under 1-byte chunks.
 *
 * @module
 */
import { chart, table } from './markdown.ts';
import type { ReportContext } from './report-context.ts';
import { renderBarChart } from './svg-chart.ts';

/** Renders the `parser` scenario. */
export function renderParser({ scenarios, chartDir, written }: ReportContext): string[] {
  const parser = scenarios.parser;
  if (!parser) return [];
  const out: string[] = [];
  out.push('## Client parser throughput', '');
  out.push(
    'In process, bytes in (each parser behind a streaming `TextDecoder` or its own byte handling), 183-byte OpenAI ' +
      'chunk events. streamwell is `createSseByteParser` (with its event and line limits raised to 16 MiB for the ' +
      '8 MiB case; the default limit is 1 MiB and refuses that event by design). Linearity = events/s with 10× the ' +
      'events in 1-byte chunks ÷ events/s at 1× (1.0 = linear, lower = superlinear cost).',
    '',
  );
  const names = Object.keys(Object.values(parser.shapes)[0] ?? {});
  out.push(
    table(
      ['input', ...names.map((name) => `${name} (M events/s · MB/s)`)],
      Object.entries(parser.shapes).map(([shape, row]) => [
        shape,
        ...names.map((name) => {
          const entry = row[name];
          return entry
            ? `${(entry.eventsPerSecond / 1e6).toFixed(3)} · ${entry.megabytesPerSecond}${entry.correct ? '' : ' (WRONG COUNT)'}`
            : 'n/a';
        }),
      ]),
    ),
    '',
    `Linearity under 1-byte chunks: ${Object.entries(parser.linearity)
      .map(([name, value]) => `${name} ${value}`)
      .join(', ')}.`,
    '',
  );
  const shapes = Object.keys(parser.shapes);
  out.push(
    chart(
      chartDir,
      'parser',
      renderBarChart({
        title: 'Client SSE parser throughput',
        unit: 'MB/s of input (higher is better)',
        categories: shapes,
        series: names.map((name) => ({
          name,
          values: shapes.map((shape) => parser.shapes[shape]?.[name]?.megabytesPerSecond),
        })),
        log: true,
      }),
      written,
    ),
    '',
  );
  return out;
}
