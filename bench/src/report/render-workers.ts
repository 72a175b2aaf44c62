/**
 * Every core used: relayed tokens per second at saturation with `WORKERS=1` and `WORKERS=2` (the
 * Redis store), next to the same server pinned to the gateway core.
 *
 * @module
 */
import type { WorkersResult } from '../scenarios/workers.ts';
import { chart, n, table } from './markdown.ts';
import type { ReportContext } from './report-context.ts';
import { renderBarChart } from './svg-chart.ts';

/** Renders the `workers` scenario (a line saying why when it could not run). */
export function renderWorkers({ scenarios, chartDir, written }: ReportContext): string[] {
  const workers = scenarios.workers as WorkersResult | undefined;
  if (workers === undefined) return [];
  const out: string[] = ['## Every core: WORKERS=1 and WORKERS=2', ''];
  if (!workers.available || workers.rows === undefined) {
    out.push(`Not measured in this run: ${workers.reason ?? 'unknown reason'}.`, '');
    return out;
  }
  const rows = workers.rows;
  const ids = Object.keys(rows) as (keyof typeof rows)[];
  const label = (id: string): string => workers.labels?.[id as keyof typeof rows] ?? id;
  const one = rows['streamwell-workers-1']?.tokensPerSecond;
  const two = rows['streamwell-workers-2']?.tokensPerSecond;
  // Below ~80 % of a core the one-worker server was not the bottleneck (the harness, Redis or
  // other work on the machine was): then the ratio says nothing about what a second worker adds.
  const saturated = (rows['streamwell-workers-1']?.gatewayCpuPct ?? 0) >= 80;
  out.push(
    `The saturation load (${workers.streams} unthrottled streams of ${workers.tokensPerStream} tokens, one token per ` +
      'upstream write) against the reference server on the Redis store, started as `npm start` starts it ' +
      '(`node apps/server/dist/main.js`) with `WORKERS=1` and with `WORKERS=2` (a primary that hands each new ' +
      'connection to the next worker, and two workers that each run the whole server). ' +
      (workers.workersCores === undefined
        ? 'Nothing is pinned in this run. '
        : `Both are allowed on cores ${workers.workersCores} (\`taskset -c ${workers.workersCores}\`), every core of ` +
          `this ${workers.cores}-core machine; the mock upstream, the load generator and the orchestrator stay ` +
          `pinned to core ${workers.harnessCore}, and Redis runs unpinned, so the workers share the cores with all ` +
          `of them. The first row is the same server on the Redis store pinned to core ${workers.gatewayCore} ` +
          'alone, as in the saturation scenario above. ') +
      (workers.measuredAt === undefined
        ? ''
        : `Measured on ${workers.measuredAt.slice(0, 10)} on ${workers.cores} × ${workers.cpu}. `) +
      'Gateway CPU counts the whole process tree (primary and workers); "harness CPU" is the mock and the load ' +
      'generator, in % of one core.' +
      (workers.loadAverage === undefined
        ? ''
        : ` The machine's 1-minute load average was ${workers.loadAverage.start} when the scenario started and ` +
          `${workers.loadAverage.end} when it ended (other work on the machine competes for the same cores).`) +
      (one === undefined || two === undefined
        ? ''
        : saturated
          ? ` **WORKERS=2 relayed ${(two / one).toFixed(2)}× the tokens per second of WORKERS=1 here.**`
          : ` **Not a capacity measurement:** WORKERS=1 used only ${rows['streamwell-workers-1']?.gatewayCpuPct} % ` +
            'of a core, so something else (the harness, Redis, other work on the machine) set the pace; the ' +
            `ratio WORKERS=2 / WORKERS=1 (${(two / one).toFixed(2)}×) is not what a second worker adds.`),
    '',
    table(
      [
        'server',
        'tokens/s',
        'per-token delay p50 / p99 (ms)',
        'gateway CPU %',
        'gateway CPU / 1k tokens (ms)',
        'Redis server CPU / 1k tokens (ms)',
        'harness CPU %',
        'lost / dup / err',
      ],
      ids.map((id) => {
        const row = rows[id];
        return [
          label(id),
          n(row?.tokensPerSecond),
          `${n(row?.delayP50)} / ${n(row?.delayP99)}`,
          n(row?.gatewayCpuPct),
          n(row?.cpuPer1kTokensMs),
          n(row?.storeCpuPer1kTokensMs),
          n(row?.harnessCpuPct),
          `${row?.lost} / ${row?.duplicated} / ${row?.errors}`,
        ];
      }),
    ),
    '',
    chart(
      chartDir,
      'workers',
      renderBarChart({
        title: 'Relayed tokens per second at saturation, by worker count',
        unit: 'tokens/s (higher is better)',
        categories: ids.map(label),
        series: [{ name: 'tokens/s', values: ids.map((id) => rows[id]?.tokensPerSecond) }],
      }),
      written,
    ),
    '',
  );
  return out;
}
