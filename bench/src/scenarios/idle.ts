/**
 * Idle capacity: many open SSE streams that only receive heartbeats. RSS per stream is
 * (RSS with N streams open − RSS before) / N; heartbeat CPU is the gateway's CPU while it holds
 * them. Three cases:
 *
 * - `floor`: a bare node:http server that writes SSE headers and shared-timer heartbeats;
 * - `streamwell followers`: the reference server, N connections following 10 runs whose model
 *   is still thinking (`GET /api/streams/<id>`): the cost of one SSE connection;
 * - `streamwell runs`: one run per connection, each with its own upstream request in flight
 *   (a model thinking for an hour): the cost of a whole idle run. Two file descriptors per
 *   stream, so the fd limit caps it lower.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { startChild } from '../lib/child.ts';
import { sleep } from '../lib/clock.ts';
import { heading, info, warn } from '../lib/log.ts';
import { readProcs } from '../lib/proc-sampler.ts';
import { formatParams } from '../mock/stream-params.ts';
import type { RunningPeer } from '../peers/peers.ts';
import type { BenchContext } from './context.ts';
import { startPeers, stopPeers, warmUp } from './matrix.ts';

/** One idle case. */
export interface IdleRow {
  readonly streams: number;
  readonly opened: number;
  readonly failed: number;
  readonly openSeconds: number;
  readonly rssBeforeMb: number;
  readonly rssAfterMb: number;
  readonly rssPerStreamKb: number;
  /** Gateway CPU while holding the streams, % of one core. */
  readonly heartbeatCpuPct: number;
  readonly heartbeatMs: number;
  /** Heartbeats received per stream during the hold. */
  readonly heartbeatsPerStream: number;
  readonly endedEarly: number;
}

/** Result of the idle scenario. */
export interface IdleResult {
  readonly fdLimit: number;
  readonly rows: Record<string, IdleRow>;
}

const HEARTBEAT_MS = 1000;

/** The soft limit on open files of this process (children inherit it). */
function fdLimit(): number {
  try {
    // "Max open files            20000                20000                files"
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((row) => row.startsWith('Max open files'));
    return Number(line?.split(/\s{2,}/)[1] ?? 0) || 0;
  } catch {
    return 0;
  }
}

async function holdIdle(
  context: BenchContext,
  label: string,
  peer: RunningPeer,
  streams: number,
  prompt: string,
  followRuns: number | undefined,
): Promise<IdleRow> {
  const pids = peer.pids();
  await peer.gc();
  const before = readProcs(pids);
  const opened = await context.loadgen.request<{ opened: number; failed: number; openMs: number }>({
    type: 'idle-open',
    target: peer.target,
    count: streams,
    prompt,
    batch: 250,
    ...(followRuns ? { followRuns } : {}),
  });
  await sleep(context.options.quick ? 300 : 1000);
  await peer.gc();
  const held = readProcs(pids);
  const holdMs = HEARTBEAT_MS * (context.options.quick ? 2 : 3);
  await sleep(holdMs);
  const after = readProcs(pids);
  const closed = await context.loadgen.request<{ comments: number; endedEarly: number; open: number }>({
    type: 'idle-close',
  });
  const row: IdleRow = {
    streams,
    opened: opened.opened,
    failed: opened.failed,
    openSeconds: Math.round(opened.openMs / 100) / 10,
    rssBeforeMb: Math.round((before.rssBytes / 1024 / 1024) * 10) / 10,
    rssAfterMb: Math.round((after.rssBytes / 1024 / 1024) * 10) / 10,
    rssPerStreamKb:
      Math.round(((Math.max(held.rssBytes, after.rssBytes) - before.rssBytes) / streams / 1000) * 10) / 10,
    heartbeatCpuPct: Math.round(((after.cpuNs - held.cpuNs) / 1e6 / holdMs) * 1000) / 10,
    heartbeatMs: HEARTBEAT_MS,
    heartbeatsPerStream: Math.round((closed.comments / Math.max(1, streams)) * 10) / 10,
    endedEarly: closed.endedEarly,
  };
  if (row.failed > 0 || row.endedEarly > 0) {
    warn(`${label}: ${row.failed} streams failed to open, ${row.endedEarly} ended early`);
    context.integrity.notes.push(`idle ${label}: ${row.failed} failed, ${row.endedEarly} ended early`);
    context.integrity.errors += row.failed + row.endedEarly;
  }
  info(`  idle ${label}: ${streams} streams, ${row.rssPerStreamKb} kB/stream, heartbeat CPU ${row.heartbeatCpuPct}%`);
  return row;
}

/** Runs the idle-capacity scenario. */
export async function runIdle(context: BenchContext): Promise<IdleResult> {
  const quick = context.options.quick;
  const limit = fdLimit();
  // The load generator holds one fd per stream, the mock one per run; keep headroom.
  const followers = quick ? 300 : Math.min(15_000, limit > 0 ? limit - 1000 : 15_000);
  const runs = quick ? 100 : Math.min(5000, limit > 0 ? Math.floor((limit - 1000) / 2) : 5000);
  heading(`idle capacity: ${followers} idle streams (fd limit ${limit || 'unknown'})`);
  const thinking = formatParams({ tokens: 1, rate: 1, ttftMs: 3_600_000 });
  const rows: Record<string, IdleRow> = {};

  const floor = await startChild({
    name: 'idle-floor',
    script: 'bench/src/peers/idle-floor.ts',
    core: context.options.gatewayCore,
    nodeFlags: ['--expose-gc'],
    env: { HEARTBEAT_MS: String(HEARTBEAT_MS) },
  });
  try {
    const floorPeer: RunningPeer = {
      id: 'direct',
      target: { port: floor.info.port as number, wire: 'app', path: '/' },
      pids: () => [floor.pid],
      gc: async () => {
        await floor.request({ type: 'gc' });
      },
      stop: () => floor.stop(),
    };
    rows['node:http floor'] = await holdIdle(context, 'node:http floor', floorPeer, followers, thinking, undefined);
  } finally {
    await floor.stop();
  }

  if (context.options.peers.includes('streamwell')) {
    const env = { HEARTBEAT_MS: String(HEARTBEAT_MS), STREAM_TIMEOUT_MS: '0', FIRST_TOKEN_TIMEOUT_MS: '0' };
    for (const [label, count, follow] of [
      ['streamwell followers', followers, 10],
      ['streamwell runs', runs, undefined],
    ] as const) {
      const [peer] = await startPeers(context, ['streamwell'], env);
      try {
        await warmUp(context, peer as RunningPeer, 20);
        rows[label] = await holdIdle(context, label, peer as RunningPeer, count, thinking, follow);
      } finally {
        await stopPeers([peer as RunningPeer]);
      }
    }
  }
  return { fdLimit: limit, rows };
}
