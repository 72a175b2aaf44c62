/**
 * Resume cost (streamwell only: no peer resumes): streams of 100 tokens at 500 tokens/s,
 * 20 at a time (10,000 tokens/s, well inside one core); each connection is dropped after a
 * random 1–20 tokens and reconnected at once
 * with `Last-Event-ID`, until the planned number of drops. Reconnect → first replayed byte, and
 * the sequence checks across reconnects (no loss, no duplicate, ids strictly increasing).
 *
 * @module
 */
import { type HistogramData, type Summary, summarize } from '../lib/histogram.ts';
import { heading, info } from '../lib/log.ts';
import type { GroupResult } from '../loadgen/stream-tracker.ts';
import { formatParams } from '../mock/stream-params.ts';
import type { RunningPeer } from '../peers/peers.ts';
import { account, type BenchContext } from './context.ts';
import { startPeers, stopPeers, warmUp } from './matrix.ts';

/** Result of the resume scenario. */
export interface ResumeResult {
  readonly drops: number;
  readonly streams: number;
  readonly completed: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly idRegressions: number;
  readonly errors: number;
  readonly gone204: number;
  /** Reconnect (connect call) → first body byte, ms. */
  readonly reconnectToFirstByte: Summary;
  /** Reconnect → first replayed token, ms. */
  readonly reconnectToFirstToken: Summary;
}

/** Runs the resume scenario. */
export async function runResume(context: BenchContext): Promise<ResumeResult | undefined> {
  if (!context.options.peers.includes('streamwell')) return undefined;
  const drops = context.options.quick ? 300 : 10_000;
  heading(`resume: ${drops} random drops with Last-Event-ID`);
  const [peer] = await startPeers(context, ['streamwell']);
  try {
    await warmUp(context, peer as RunningPeer, 30);
    const tokens = 100;
    const result = await context.loadgen.request<{
      main: GroupResult;
      drops: number;
      gone204: number;
      idRegressions: number;
      reconnectToFirstByte: HistogramData;
      reconnectToFirstToken: HistogramData;
    }>({
      type: 'resume',
      target: (peer as RunningPeer).target,
      prompt: formatParams({ tokens, rate: 500 }),
      expectTokens: tokens,
      concurrency: 20,
      drops,
      maxTokensBeforeDrop: 20,
    });
    account(context, 'resume', result.main);
    context.integrity.errors += result.idRegressions;
    const out: ResumeResult = {
      drops: result.drops,
      streams: result.main.streamsStarted,
      completed: result.main.streamsCompleted,
      lost: result.main.lost,
      duplicated: result.main.duplicated,
      idRegressions: result.idRegressions,
      errors: result.main.errors,
      gone204: result.gone204,
      reconnectToFirstByte: summarize(result.reconnectToFirstByte),
      reconnectToFirstToken: summarize(result.reconnectToFirstToken),
    };
    info(
      `  ${out.drops} drops over ${out.streams} streams: lost ${out.lost}, duplicated ${out.duplicated}, ` +
        `reconnect→first byte p50 ${out.reconnectToFirstByte.p50} ms p99 ${out.reconnectToFirstByte.p99} ms`,
    );
    return out;
  } finally {
    await stopPeers([peer as RunningPeer]);
  }
}
