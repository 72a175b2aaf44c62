/**
 * The peers under test, all started against the same mock upstream, each gateway pinned to
 * the gateway core: direct (the floor), nginx (the C floor), the naive node:http relay, a Hono
 * `streamSSE` relay, the Vercel AI SDK and streamwell's reference server, once with its default
 * memory store and once with the Redis store (`REDIS_URL`; Redis itself runs where the machine
 * runs it, see `bench-redis.ts`).
 *
 * @module
 */
import { join } from 'node:path';
import { type Child, startChild } from '../lib/child.ts';
import { childPids } from '../lib/proc-sampler.ts';
import type { Target } from '../loadgen/targets.ts';
import type { BenchRedis } from './bench-redis.ts';
import { startNginx } from './nginx.ts';

/** Peer ids, in report order. */
export type PeerId =
  | 'direct'
  | 'nginx'
  | 'naive'
  | 'hono'
  | 'ai-sdk'
  | 'streamwell'
  | 'streamwell-redis'
  | WorkersPeerId;

/**
 * The reference server as `npm start` runs it with `WORKERS=1` or `WORKERS=2` and the Redis store,
 * free to use every core: only the `workers` scenario starts them (not in {@link PEER_IDS}).
 */
export type WorkersPeerId = 'streamwell-workers-1' | 'streamwell-workers-2';

/** The worker count of a workers peer, or undefined for any other peer. */
export function workersOf(id: PeerId): number | undefined {
  return id === 'streamwell-workers-1' ? 1 : id === 'streamwell-workers-2' ? 2 : undefined;
}

/** Every peer, in report order. */
export const PEER_IDS: readonly PeerId[] = [
  'direct',
  'nginx',
  'naive',
  'hono',
  'ai-sdk',
  'streamwell',
  'streamwell-redis',
];

/** What the report says about each peer. */
export const PEERS: Record<PeerId, { readonly label: string; readonly description: string }> = {
  direct: { label: 'direct', description: 'load generator straight to the mock upstream (the floor)' },
  nginx: { label: 'nginx', description: 'nginx as a plain proxy, proxy_buffering off (the C floor)' },
  naive: {
    label: 'naive node:http',
    description:
      'node:http relay as in the guide: http.request upstream, split on blank lines, JSON.parse, res.write per token',
  },
  hono: {
    label: 'Hono streamSSE',
    description: 'Hono 4 + @hono/node-server, fetch + TextDecoderStream + EventSourceParserStream, writeSSE with ids',
  },
  'ai-sdk': {
    label: 'AI SDK',
    description: 'ai@6 streamText + @ai-sdk/openai-compatible, pipeUIMessageStreamToResponse',
  },
  streamwell: {
    label: 'streamwell',
    description: 'the reference server (apps/server createApp) with LLM_BASE_URL → mock: ids, resume log, checkpoints',
  },
  'streamwell-redis': {
    label: 'streamwell + Redis',
    description:
      'the same server with REDIS_URL: every event also appended to Redis Streams (the run store of several instances)',
  },
  'streamwell-workers-1': {
    label: 'streamwell + Redis, WORKERS=1',
    description: '`node apps/server/dist/main.js` with REDIS_URL and WORKERS=1 (one process), allowed on every core',
  },
  'streamwell-workers-2': {
    label: 'streamwell + Redis, WORKERS=2',
    description:
      '`node apps/server/dist/main.js` with REDIS_URL and WORKERS=2 (a primary and two workers on one port), allowed on every core',
  },
};

/** A started peer. */
export interface RunningPeer {
  readonly id: PeerId;
  readonly target: Target;
  /** Processes that make up the gateway (empty for direct). */
  pids(): number[];
  /** Runs a full garbage collection in a Node gateway (no-op for nginx and direct). */
  gc(): Promise<void>;
  /** The shared store behind the gateway (Redis), whose own CPU a fair comparison counts. */
  readonly store?: { cpuNs(): Promise<number> };
  stop(): Promise<void>;
}

/** How to start peers. */
export interface PeerStartOptions {
  readonly mockPort: number;
  /** Core (or `taskset -c` list) for the gateway; undefined leaves it unpinned. */
  readonly core: number | string | undefined;
  /** Extra environment for the streamwell server (heartbeat interval...). */
  readonly streamwellEnv?: Record<string, string>;
  /** Where `--cpu-prof` writes each Node gateway's profile (`<dir>/<peer>/`); undefined: no profiling. */
  readonly profileDir?: string | undefined;
  /**
   * The Redis server of `streamwell-redis`, and the key prefix of this instance (instances that
   * share runs share it). Its keys are deleted when the peer stops.
   */
  readonly redis?: { readonly server: BenchRedis; readonly prefix: string };
}

const APP_PATH = '/api/stream/message';

function fromChild(id: PeerId, child: Child): RunningPeer {
  return {
    id,
    target: { port: child.info.port as number, wire: 'app', path: APP_PATH },
    pids: () => [child.pid],
    gc: async () => {
      await child.request({ type: 'gc' });
    },
    stop: () => child.stop(),
  };
}

const SCRIPTS: Partial<Record<PeerId, string>> = {
  naive: 'bench/src/peers/naive-relay.ts',
  hono: 'bench/src/peers/hono-relay.ts',
  'ai-sdk': 'bench/src/peers/ai-sdk-relay.ts',
  streamwell: 'bench/src/peers/streamwell-server.ts',
  'streamwell-redis': 'bench/src/peers/streamwell-server.ts',
};

/** Whether a peer is streamwell's reference server (with either store). */
export function isStreamwell(id: PeerId): boolean {
  return id === 'streamwell' || id === 'streamwell-redis';
}

/** Whether a peer runs on the Redis store. */
function onRedis(id: PeerId): boolean {
  return id === 'streamwell-redis' || workersOf(id) !== undefined;
}

/** The process and every process below it (a cluster's primary and its workers). */
function processTree(pid: number): number[] {
  return [pid, ...childPids(pid).flatMap(processTree)];
}

/** The store's environment of a streamwell peer: Redis for `streamwell-redis`, memory otherwise. */
function redisEnv(id: PeerId, options: PeerStartOptions): Record<string, string> {
  // A REDIS_URL in the orchestrator's own environment must not turn the memory peer into a Redis one.
  if (!onRedis(id)) return isStreamwell(id) ? { REDIS_URL: '' } : {};
  if (options.redis === undefined) throw new Error(`the ${id} peer needs a Redis server`);
  return { REDIS_URL: options.redis.server.url, REDIS_PREFIX: options.redis.prefix };
}

/** Starts one peer. */
export async function startPeer(id: PeerId, options: PeerStartOptions): Promise<RunningPeer> {
  const mockUrl = `http://127.0.0.1:${options.mockPort}/v1`;
  if (id === 'direct') {
    return {
      id,
      target: { port: options.mockPort, wire: 'openai', path: '/v1/chat/completions' },
      pids: () => [],
      gc: async () => {},
      stop: async () => {},
    };
  }
  if (id === 'nginx') {
    const nginx = await startNginx(options.mockPort, typeof options.core === 'number' ? options.core : undefined);
    return {
      id,
      target: { port: nginx.port, wire: 'openai', path: '/v1/chat/completions' },
      pids: () => nginx.pids(),
      gc: async () => {},
      stop: () => nginx.stop(),
    };
  }
  const workers = workersOf(id);
  if (workers !== undefined) return startWorkersPeer(id, workers, mockUrl, options);
  const streamwell = isStreamwell(id);
  const child = await startChild({
    name: id,
    script: SCRIPTS[id] as string,
    core: options.core,
    env: { MOCK_URL: mockUrl, ...(streamwell ? options.streamwellEnv : {}), ...redisEnv(id, options) },
    nodeFlags: [
      '--expose-gc',
      ...(streamwell ? (process.env.BENCH_STREAMWELL_FLAGS?.split(' ').filter(Boolean) ?? []) : []),
      ...(options.profileDir === undefined
        ? []
        : ['--cpu-prof', '--cpu-prof-interval=250', `--cpu-prof-dir=${join(options.profileDir, id)}`]),
    ],
    built: streamwell,
  });
  const peer = fromChild(id, child);
  const redis = options.redis;
  if (id !== 'streamwell-redis' || redis === undefined) return peer;
  return {
    ...peer,
    store: { cpuNs: () => redis.server.cpuNs() },
    async stop() {
      await peer.stop();
      await redis.server.clear(redis.prefix);
    },
  };
}

/**
 * Starts `apps/server/dist/main.js` with `WORKERS` through a small wrapper child
 * (`streamwell-workers.ts`) that waits until every worker answers. Its CPU and RSS are the whole
 * process tree's (wrapper, primary, workers); there is no `gc` (the server has no IPC to the
 * harness) and no `--cpu-prof`.
 */
async function startWorkersPeer(
  id: PeerId,
  workers: number,
  mockUrl: string,
  options: PeerStartOptions,
): Promise<RunningPeer> {
  const redis = options.redis;
  const child = await startChild({
    name: id,
    script: 'bench/src/peers/streamwell-workers.ts',
    core: options.core,
    env: { MOCK_URL: mockUrl, ...options.streamwellEnv, ...redisEnv(id, options), WORKERS: String(workers) },
    built: true,
    readyTimeoutMs: 120_000,
  });
  return {
    id,
    target: { port: child.info.port as number, wire: 'app', path: APP_PATH },
    pids: () => processTree(child.pid),
    gc: async () => {},
    ...(redis === undefined ? {} : { store: { cpuNs: () => redis.server.cpuNs() } }),
    async stop() {
      await child.stop();
      if (redis !== undefined) await redis.server.clear(redis.prefix);
    },
  };
}
