/**
 * The peers under test, all started against the same mock upstream, each gateway pinned to
 * the gateway core: direct (the floor), nginx (the C floor), the naive node:http relay, a Hono
 * `streamSSE` relay, the Vercel AI SDK and streamwell's reference server.
 *
 * @module
 */
import { join } from 'node:path';
import { type Child, startChild } from '../lib/child.ts';
import type { Target } from '../loadgen/targets.ts';
import { startNginx } from './nginx.ts';

/** Peer ids, in report order. */
export type PeerId = 'direct' | 'nginx' | 'naive' | 'hono' | 'ai-sdk' | 'streamwell';

/** Every peer, in report order. */
export const PEER_IDS: readonly PeerId[] = ['direct', 'nginx', 'naive', 'hono', 'ai-sdk', 'streamwell'];

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
};

/** A started peer. */
export interface RunningPeer {
  readonly id: PeerId;
  readonly target: Target;
  /** Processes that make up the gateway (empty for direct). */
  pids(): number[];
  /** Runs a full garbage collection in a Node gateway (no-op for nginx and direct). */
  gc(): Promise<void>;
  stop(): Promise<void>;
}

/** How to start peers. */
export interface PeerStartOptions {
  readonly mockPort: number;
  /** Core for the gateway; undefined leaves it unpinned. */
  readonly core: number | undefined;
  /** Extra environment for the streamwell server (heartbeat interval...). */
  readonly streamwellEnv?: Record<string, string>;
  /** Where `--cpu-prof` writes each Node gateway's profile (`<dir>/<peer>/`); undefined: no profiling. */
  readonly profileDir?: string | undefined;
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
};

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
    const nginx = await startNginx(options.mockPort, options.core);
    return {
      id,
      target: { port: nginx.port, wire: 'openai', path: '/v1/chat/completions' },
      pids: () => nginx.pids(),
      gc: async () => {},
      stop: () => nginx.stop(),
    };
  }
  const child = await startChild({
    name: id,
    script: SCRIPTS[id] as string,
    core: options.core,
    env: { MOCK_URL: mockUrl, ...(id === 'streamwell' ? options.streamwellEnv : {}) },
    nodeFlags: [
      '--expose-gc',
      ...(id === 'streamwell' ? (process.env.BENCH_STREAMWELL_FLAGS?.split(' ').filter(Boolean) ?? []) : []),
      ...(options.profileDir === undefined
        ? []
        : ['--cpu-prof', '--cpu-prof-interval=250', `--cpu-prof-dir=${join(options.profileDir, id)}`]),
    ],
    built: id === 'streamwell',
  });
  return fromChild(id, child);
}
