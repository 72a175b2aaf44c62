/**
 * The report's environment table: machine, pinning, nginx, Redis, the shared clock and the peers.
 *
 * @module
 */
import type { BenchRedisInfo } from '../peers/bench-redis.ts';
import { table } from './markdown.ts';
import type { ReportContext } from './report-context.ts';

/** The Redis server of the `streamwell-redis` peer, as the environment table shows it. */
function redisEnvironment(redis: unknown): string {
  if (redis === undefined || typeof redis !== 'object' || redis === null) return 'absent';
  const info = redis as BenchRedisInfo;
  return (
    `${info.version} at ${info.url}, not pinned by the harness (cores ${info.cores}; shared with other work on ` +
    `the machine), CPU read from ${info.cpuSource === 'proc' ? '`/proc/<pid>/task/*/schedstat`' : '`INFO cpu`'}`
  );
}

/** Renders the environment section. */
export function renderEnvironment({ results }: ReportContext): string[] {
  const env = results.environment;
  return [
    '## Environment',
    '',
    table(
      ['item', 'value'],
      [
        ['CPU', `${env.cpu} × ${env.cores} cores (VM)`],
        ['memory', `${env.memoryGb} GiB`],
        ['kernel', String(env.kernel)],
        ['Node', String(env.node)],
        [
          'pinning',
          env.pinned ? 'gateway on core 1, mock + load generator + orchestrator on core 0 (`taskset`)' : 'none',
        ],
        ['nginx', String(env.nginx)],
        ['Redis', redisEnvironment(env.redis)],
        [
          'shared clock',
          env.clock ? `CLOCK_MONOTONIC verified across processes (${env.clock.ok ? 'ok' : 'FAILED'})` : 'n/a',
        ],
        [
          'peers',
          Object.entries(results.peers)
            .map(([id, peer]) => `${peer.label} (\`${id}\`): ${peer.description}`)
            .join('<br>'),
        ],
      ],
    ),
    '',
  ];
}
