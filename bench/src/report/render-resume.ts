/**
 * Resume: reconnect to first replayed byte on the same instance (`resume`) and on another one
 * through Redis (`cross-resume`), next to a bare node:http floor.
 *
 * @module
 */
import type { ResumeResult } from '../scenarios/measure-resume.ts';
import { chart, n, table } from './markdown.ts';
import type { ReportContext } from './report-context.ts';
import { renderBarChart } from './svg-chart.ts';

/** Renders the `resume` and `cross-resume` scenarios (one section; either may be absent). */
export function renderResume({ scenarios, chartDir, written }: ReportContext): string[] {
  const resume = scenarios.resume;
  const cross = scenarios['cross-resume'];
  const resumed = resume ?? cross;
  if (!resumed) return [];
  const out: string[] = [];
  out.push('## Resume', '');
  const counts = (result: ResumeResult): string =>
    `${result.drops.toLocaleString('en-US')} drops over ${result.streams} streams: lost ${result.lost}, ` +
    `duplicated ${result.duplicated}, id regressions ${result.idRegressions}, errors ${result.errors}; ` +
    `${result.gone204} reconnects found the stream already finished at the cursor (204); ` +
    `${result.replayedToFirstByte.count.toLocaleString('en-US')} reconnects replayed (their first token was sent ` +
    `before the reconnect began), ${result.liveToFirstToken.count} found nothing new yet and waited for the next token`;
  out.push(
    'Streams of 100 tokens at 500 tokens/s, 20 at a time; each connection is dropped after a random 1–20 tokens and ' +
      'reconnected 5–10 ms later with `Last-Event-ID` (`GET /api/streams/{id}`), so the stream has moved on and the ' +
      'reconnect has something to replay. ' +
      (resume ? `One instance (memory store): ${counts(resume)}. ` : '') +
      (cross
        ? `On another instance (two \`streamwell + Redis\` servers sharing runs, both on the gateway core; every stream ` +
          `starts on A and every reconnect goes to B, which reads the run from Redis while A produces it): ${counts(cross)}. `
        : '') +
      'No other peer resumes, so there is no side-by-side here; the floor is a bare ' +
      "node:http server on the gateway's core that answers with its head and a comment at once, probed by the same " +
      'load generator all along (so it carries the same harness and machine delays). "Added" is streamwell minus ' +
      'the floor of the same run, percentile by percentile; the T7 and R2 verdicts use it.',
    '',
  );
  const keys = ['p50', 'p90', 'p99', 'p999', 'max'] as const;
  const rows = (name: string, result: ResumeResult): string[][] => [
    [`${name}: reconnect → first replayed byte (ms)`, ...keys.map((key) => n(result.replayedToFirstByte[key]))],
    [`${name}: floor, connect → first byte (ms)`, ...keys.map((key) => n(result.floorToFirstByte[key]))],
    [
      `${name}: added (streamwell − floor)`,
      ...(['p50', 'p90', 'p99'] as const).map((key) => n(result.addedToFirstByte[key])),
      '',
      '',
    ],
    [
      `${name}: reconnect → first replayed token (ms), every reconnect`,
      ...keys.map((key) => n(result.reconnectToFirstToken[key])),
    ],
  ];
  out.push(
    table(
      ['measure', 'p50', 'p90', 'p99', 'p99.9', 'max'],
      [...(resume ? rows('one instance', resume) : []), ...(cross ? rows('another instance (Redis)', cross) : [])],
    ),
    '',
  );
  const bars = (summary: { p50: number; p90: number; p99: number; p999: number }): number[] => [
    summary.p50,
    summary.p90,
    summary.p99,
    summary.p999,
  ];
  out.push(
    chart(
      chartDir,
      'resume',
      renderBarChart({
        title: 'Resume: reconnect to first replayed byte, and the floor',
        unit: 'ms (lower is better)',
        categories: ['p50', 'p90', 'p99', 'p99.9'],
        series: [
          ...(resume ? [{ name: 'streamwell, one instance', values: bars(resume.replayedToFirstByte) }] : []),
          ...(cross ? [{ name: 'another instance (Redis)', values: bars(cross.replayedToFirstByte) }] : []),
          { name: 'floor (bare node:http)', values: bars(resumed.floorToFirstByte) },
        ],
        target: { value: 2, label: 'p99 target 2 ms' },
      }),
      written,
    ),
    '',
  );
  return out;
}
