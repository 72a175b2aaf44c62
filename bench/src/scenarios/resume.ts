/**
 * Resume cost on one instance (streamwell with its memory store only: no peer resumes): random
 * drops and reconnects with `Last-Event-ID` to the same server, measured against a bare
 * node:http floor on the gateway's core (see `measure-resume.ts`). The cross-instance variant
 * through Redis is `cross-resume.ts`.
 *
 * @module
 */
import { heading } from '../lib/log.ts';
import type { RunningPeer } from '../peers/peers.ts';
import type { BenchContext } from './context.ts';
import { startPeers, stopPeers, warmUp } from './matrix.ts';
import { measureResume, type ResumeResult } from './measure-resume.ts';

/** Runs the resume scenario. */
export async function runResume(context: BenchContext): Promise<ResumeResult | undefined> {
  if (!context.options.peers.includes('streamwell')) return undefined;
  const drops = context.options.quick ? 300 : 10_000;
  heading(`resume: ${drops} random drops with Last-Event-ID`);
  const [peer] = (await startPeers(context, ['streamwell'])) as [RunningPeer];
  try {
    await warmUp(context, peer, 30);
    return await measureResume(context, { label: 'resume', start: peer.target, drops });
  } finally {
    await stopPeers([peer]);
  }
}
