/**
 * Single stream: lone streams one after another (10 tokens at 400 tokens/s, no thinking
 * delay), every peer (streamwell with either store), interleaved rounds. Time to first token (connect → first token's bytes)
 * and per-token delay; the added numbers are the peer minus direct in the same round, then the
 * median over rounds (the round-medians method).
 *
 * @module
 */
import { summarize } from '../lib/histogram.ts';
import { heading, info } from '../lib/log.ts';
import { formatParams } from '../mock/stream-params.ts';
import type { PeerId, RunningPeer } from '../peers/peers.ts';
import { account, type BenchContext, median, round3, runSequential } from './context.ts';
import { startPeers, stopPeers, warmUp } from './matrix.ts';

/** One peer's row. */
export interface TtftRow {
  readonly rounds: number;
  readonly streamsPerRound: number;
  readonly ttftP50: number;
  readonly ttftP99: number;
  readonly delayP50: number;
  readonly delayP99: number;
  readonly addedTtftP50: number;
  readonly addedTtftP99: number;
  readonly addedDelayP50: number;
  readonly addedDelayP99: number;
  /** Gateway CPU per stream (request handling + 10 tokens), ms. */
  readonly cpuPerStreamMs: number;
  /** With a store (Redis): the store server's CPU per stream, ms (its idle rate taken out). */
  readonly storeCpuPerStreamMs?: number;
}

/** Result of the single-stream scenario. */
export interface TtftResult {
  readonly tokensPerStream: number;
  readonly rows: Partial<Record<PeerId, TtftRow>>;
}

interface Round {
  ttftP50: number;
  ttftP99: number;
  delayP50: number;
  delayP99: number;
  cpuPerStreamMs: number;
  storeCpuPerStreamMs: number | undefined;
}

/** Runs the single-stream scenario. */
export async function runTtft(context: BenchContext): Promise<TtftResult> {
  const quick = context.options.quick;
  const rounds = quick ? 1 : 4;
  const count = quick ? 25 : 100;
  const tokens = 10;
  heading(`single stream: ${rounds} interleaved rounds × ${count} streams per peer`);
  const peers = await startPeers(context, context.options.peers);
  const perPeer: Partial<Record<PeerId, Round[]>> = {};
  try {
    for (const peer of peers) await warmUp(context, peer, quick ? 20 : 50);
    for (let round = 0; round < rounds; round++) {
      const order = peers.map((_, index) => peers[(index + round) % peers.length] as RunningPeer);
      for (const peer of order) {
        const result = await runSequential(
          context,
          peer,
          {
            prompt: formatParams({ tokens, rate: 400 }),
            count,
            warmup: 5,
            gapMs: 2,
            expectTokens: tokens,
          },
          true,
        );
        account(context, `single stream ${peer.id}`, result.main);
        const ttft = summarize(result.main.ttft);
        const delay = summarize(result.main.delay);
        perPeer[peer.id] = perPeer[peer.id] ?? [];
        perPeer[peer.id]?.push({
          ttftP50: ttft.p50,
          ttftP99: ttft.p99,
          delayP50: delay.p50,
          delayP99: delay.p99,
          cpuPerStreamMs: result.gatewayCpuMs / count,
          storeCpuPerStreamMs: result.store === undefined ? undefined : result.store.cpuMs / count,
        });
        info(`  round ${round + 1}/${rounds} ${peer.id.padEnd(10)} TTFT p50 ${ttft.p50} ms p99 ${ttft.p99} ms`);
      }
    }
  } finally {
    await stopPeers(peers);
  }
  const direct = perPeer.direct ?? [];
  const addedMedian = (mine: Round[], pick: (round: Round) => number): number =>
    round3(
      median(mine.map((round, index) => pick(round) - (direct[index] ? pick(direct[index] as Round) : Number.NaN))),
    );
  const rows: Partial<Record<PeerId, TtftRow>> = {};
  for (const [id, mine] of Object.entries(perPeer) as [PeerId, Round[]][]) {
    const storeCpu = mine.flatMap((round) =>
      round.storeCpuPerStreamMs === undefined ? [] : [round.storeCpuPerStreamMs],
    );
    rows[id] = {
      rounds: mine.length,
      streamsPerRound: count,
      ttftP50: round3(median(mine.map((round) => round.ttftP50))),
      ttftP99: round3(median(mine.map((round) => round.ttftP99))),
      delayP50: round3(median(mine.map((round) => round.delayP50))),
      delayP99: round3(median(mine.map((round) => round.delayP99))),
      addedTtftP50: addedMedian(mine, (round) => round.ttftP50),
      addedTtftP99: addedMedian(mine, (round) => round.ttftP99),
      addedDelayP50: addedMedian(mine, (round) => round.delayP50),
      addedDelayP99: addedMedian(mine, (round) => round.delayP99),
      cpuPerStreamMs: round3(median(mine.map((round) => round.cpuPerStreamMs))),
      ...(storeCpu.length === 0 ? {} : { storeCpuPerStreamMs: round3(median(storeCpu)) }),
    };
  }
  return { tokensPerStream: tokens, rows };
}
