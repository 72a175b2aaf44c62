/**
 * The report's section on the Redis store (issue 13): the `streamwell + Redis` peer next to the
 * memory store, load by load, with the Redis server's own CPU counted, and resume on another
 * instance next to resume on the same one.
 *
 * @module
 */
import type { BenchRedisInfo } from '../peers/bench-redis.ts';
import type { StreamsRow } from '../scenarios/aggregate.ts';
import type { ResumeResult } from '../scenarios/measure-resume.ts';
import { chart, n, signed, table } from './markdown.ts';
import type { ReportContext } from './report-context.ts';
import { renderBarChart } from './svg-chart.ts';
import type { ScenarioResults } from './targets.ts';

/** One load at which both stores were measured. */
interface StoreLoad {
  readonly name: string;
  /** The chart's category label. */
  readonly short: string;
  readonly memory: { readonly tokensPerSecond?: number; readonly addedTtftP50?: number; readonly cpu: number };
  readonly redis: {
    readonly tokensPerSecond?: number;
    readonly addedTtftP50?: number;
    readonly cpu: number;
    readonly store: number | undefined;
  };
}

function fromRows(name: string, short: string, rows: Partial<Record<string, StreamsRow>> | undefined): StoreLoad[] {
  const memory = rows?.streamwell;
  const redis = rows?.['streamwell-redis'];
  if (memory === undefined || redis === undefined) return [];
  return [
    {
      name,
      short,
      memory: {
        tokensPerSecond: memory.tokensPerSecond,
        ...(memory.addedTtftP50 === undefined ? {} : { addedTtftP50: memory.addedTtftP50 }),
        cpu: memory.cpuPer1kTokensMs,
      },
      redis: {
        tokensPerSecond: redis.tokensPerSecond,
        ...(redis.addedTtftP50 === undefined ? {} : { addedTtftP50: redis.addedTtftP50 }),
        cpu: redis.cpuPer1kTokensMs,
        store: redis.storeCpuPer1kTokensMs,
      },
    },
  ];
}

/** Every load at which both stores ran, in report order. */
function storeLoads(scenarios: ScenarioResults): StoreLoad[] {
  const loads: StoreLoad[] = [];
  const ttft = scenarios.ttft;
  const memory = ttft?.rows.streamwell;
  const redis = ttft?.rows['streamwell-redis'];
  if (ttft && memory && redis) {
    // Per stream → per 1,000 tokens, so that every row reads in the same unit.
    const per1k = (ms: number | undefined): number | undefined =>
      ms === undefined ? undefined : Math.round((ms / ttft.tokensPerStream) * 1000 * 1000) / 1000;
    loads.push({
      name: `1 stream at a time (${ttft.tokensPerStream} tokens)`,
      short: '1 stream',
      memory: { addedTtftP50: memory.addedTtftP50, cpu: per1k(memory.cpuPerStreamMs) as number },
      redis: {
        addedTtftP50: redis.addedTtftP50,
        cpu: per1k(redis.cpuPerStreamMs) as number,
        store: per1k(redis.storeCpuPerStreamMs),
      },
    });
  }
  for (const level of scenarios.sweep?.levels ?? []) {
    const rate = level.rate ?? scenarios.sweep?.rate;
    loads.push(
      ...fromRows(
        `${level.concurrency.toLocaleString('en-US')} streams × ${rate} tokens/s`,
        `${level.concurrency} × ${rate}/s`,
        level.rows,
      ),
    );
  }
  if (scenarios.saturation) {
    loads.push(
      ...fromRows(
        `saturation (${scenarios.saturation.streams} unthrottled streams)`,
        'saturation',
        scenarios.saturation.rows,
      ),
    );
  }
  return loads;
}

const ratio = (value: number | undefined, base: number): number | undefined =>
  value === undefined || !Number.isFinite(value) || base <= 0 ? undefined : Math.round((value / base) * 100) / 100;
const times2 = (value: number | undefined): string => (value === undefined ? 'n/a' : `×${value.toFixed(2)}`);
const perSecond = (value: number | undefined): string => (value === undefined ? '—' : n(value));

/** Renders the Redis store's section (nothing when the run has no `streamwell-redis` peer). */
export function renderStore({ results, scenarios, chartDir, written }: ReportContext): string[] {
  const env = results.environment;
  const redis = typeof env.redis === 'object' && env.redis !== null ? (env.redis as BenchRedisInfo) : undefined;
  const loads = storeLoads(scenarios);
  const cross = scenarios['cross-resume'];
  if (loads.length === 0 && cross === undefined) return [];
  const out: string[] = ['## The Redis store (several instances)', ''];
  out.push(
    '`streamwell + Redis` is the same reference server with `REDIS_URL` set: every event also goes to a Redis ' +
      'stream (one script call per run per event-loop turn), a lease per run is refreshed, and readers on other ' +
      `instances follow runs through one blocking \`XREAD\` loop. Redis ${redis?.version ?? ''} is the machine's own ` +
      `server (cores ${redis?.cores ?? 'unknown'}: not pinned by the harness, so it competes for both cores), each ` +
      'peer under a key prefix of its own, deleted afterwards. Its CPU is the whole server’s, read at the edges of ' +
      'the same window as the gateway’s; what it burned in the half second before the cell with every gateway idle ' +
      '(other clients, its own timers) is taken out at that rate. The goal (issue 13): gateway + Redis CPU per token ' +
      '≤ 1.5× the memory store.',
    '',
  );
  if (loads.length > 0) {
    out.push(
      table(
        [
          'load',
          'tokens/s memory / Redis',
          'added TTFT p50 memory / Redis (ms)',
          'CPU / 1k tokens, memory store (ms)',
          'Redis store: gateway + Redis server (ms)',
          'gateway ratio',
          'with Redis ratio',
        ],
        loads.map((load) => [
          load.name,
          `${perSecond(load.memory.tokensPerSecond)} / ${perSecond(load.redis.tokensPerSecond)}`,
          `${signed(load.memory.addedTtftP50)} / ${signed(load.redis.addedTtftP50)}`,
          n(load.memory.cpu),
          `${n(load.redis.cpu)} + ${n(load.redis.store)}`,
          times2(ratio(load.redis.cpu, load.memory.cpu)),
          times2(ratio(load.redis.cpu + (load.redis.store ?? Number.NaN), load.memory.cpu)),
        ]),
      ),
      '',
      chart(
        chartDir,
        'redis-store',
        renderBarChart({
          title: 'CPU per relayed token, Redis store against the memory store',
          unit: '× the memory store’s gateway CPU per 1,000 tokens (lower is better)',
          categories: loads.map((load) => load.short),
          series: [
            { name: 'gateway', values: loads.map((load) => ratio(load.redis.cpu, load.memory.cpu)) },
            {
              name: 'gateway + Redis server',
              values: loads.map((load) => ratio(load.redis.cpu + (load.redis.store ?? Number.NaN), load.memory.cpu)),
            },
          ],
          target: { value: 1.5, label: 'goal ×1.5' },
        }),
        written,
      ),
      '',
    );
  }
  const single = scenarios.resume;
  if (cross) {
    const line = (name: string, result: ResumeResult): string[] => [
      name,
      `${result.replayedToFirstByte.p50} / ${result.replayedToFirstByte.p99}`,
      `${result.floorToFirstByte.p50} / ${result.floorToFirstByte.p99}`,
      `${signed(result.addedToFirstByte.p50)} / ${signed(result.addedToFirstByte.p99)}`,
      `${result.drops.toLocaleString('en-US')} (lost ${result.lost}, duplicated ${result.duplicated})`,
    ];
    out.push(
      'Resume, reconnect → first replayed byte (see "Resume" above for the method; the goal is p99 ≤ 5 ms):',
      '',
      table(
        ['where the client reconnects', 'p50 / p99 (ms)', 'floor p50 / p99', 'added p50 / p99', 'drops'],
        [
          ...(single ? [line('the same instance (memory store)', single)] : []),
          line('another instance (Redis store)', cross),
        ],
      ),
      '',
    );
  }
  return out;
}
