/**
 * Resume on another instance: two streamwell servers sharing runs through Redis (the same
 * `REDIS_URL` and `REDIS_PREFIX`), both pinned to the gateway core. Every stream starts on A;
 * every reconnect after a drop goes to B with `Last-Event-ID`, so B reads the run from Redis
 * (its metadata, then the events after the cursor through its one blocking `XREAD` loop) while
 * A keeps producing it. The same drops, pauses and floor as the single-instance resume scenario,
 * so the two are read side by side.
 *
 * @module
 */
import { heading } from '../lib/log.ts';
import type { RunningPeer } from '../peers/peers.ts';
import { type BenchContext, launchPeer } from './context.ts';
import { stopPeers, warmUp } from './matrix.ts';
import { measureResume, type ResumeResult } from './measure-resume.ts';

/** Runs the cross-instance resume scenario (undefined without the `streamwell-redis` peer). */
export async function runCrossResume(context: BenchContext): Promise<ResumeResult | undefined> {
  const redis = context.redis;
  if (!context.options.peers.includes('streamwell-redis') || redis === undefined) return undefined;
  const drops = context.options.quick ? 300 : 10_000;
  heading(`resume on another instance: ${drops} random drops, started on A, every reconnect on B (Redis store)`);
  const prefix = redis.nextPrefix();
  const peers: RunningPeer[] = [];
  try {
    for (let instance = 0; instance < 2; instance++)
      peers.push(await launchPeer(context, 'streamwell-redis', {}, prefix));
    const [a, b] = peers as [RunningPeer, RunningPeer];
    await warmUp(context, a, 30);
    await warmUp(context, b, 30);
    return await measureResume(context, {
      label: 'cross-instance resume',
      start: a.target,
      resumePort: b.target.port,
      drops,
    });
  } finally {
    await stopPeers(peers);
  }
}
