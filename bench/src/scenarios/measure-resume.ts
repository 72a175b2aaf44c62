/**
 * One resume measurement, shared by the single-instance and the cross-instance scenarios:
 * streams of 100 tokens at 500 tokens/s, 20 at a time (10,000 tokens/s, well inside one core);
 * each connection is dropped after a random 1–20 tokens and reconnected 5–10 ms later with
 * `Last-Event-ID`, until the planned number of drops. Reconnect → first replayed byte, and the
 * sequence checks across reconnects (no loss, no duplicate, ids strictly increasing).
 *
 * The floor: all along, the load generator also probes a bare node:http server on the gateway's
 * core (connect → its head and a comment, written at once). Its latency is what the harness and
 * the machine add under the same load; "added" is the gateway minus that floor, percentile by
 * percentile (perf-anchors §7.2 measures every gateway metric as a delta over a floor).
 *
 * @module
 */
import { startChild } from '../lib/child.ts';
import { type HistogramData, type Summary, summarize } from '../lib/histogram.ts';
import { info } from '../lib/log.ts';
import type { GroupResult } from '../loadgen/stream-tracker.ts';
import type { Target } from '../loadgen/targets.ts';
import { formatParams } from '../mock/stream-params.ts';
import { account, type BenchContext } from './context.ts';

/** Result of a resume measurement. */
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
  /**
   * Reconnects that had something to replay (their first token was sent before the reconnect
   * began): reconnect → first body byte, which is the replay. The T7 number.
   */
  readonly replayedToFirstByte: Summary;
  /** Reconnects with nothing to replay yet: reconnect → the next token from upstream, ms. */
  readonly liveToFirstToken: Summary;
  /** The floor: connect → first body byte of a bare node:http server on the gateway's core, ms. */
  readonly floorToFirstByte: Summary;
  /** `replayedToFirstByte` minus `floorToFirstByte`, per percentile, ms. */
  readonly addedToFirstByte: { readonly p50: number; readonly p90: number; readonly p99: number };
  /** Reconnect → first replayed token, ms. */
  readonly reconnectToFirstToken: Summary;
}

/** Where the streams start and where their reconnects go. */
export interface ResumePlan {
  /** For progress lines and integrity notes. */
  readonly label: string;
  /** The gateway that starts every stream. */
  readonly start: Target;
  /** The port every reconnect goes to (another instance); by default the starting gateway's. */
  readonly resumePort?: number;
  readonly drops: number;
}

/**
 * Runs the load generator's `resume` job against started, warmed-up gateways, with the floor
 * probed on the gateway core all along.
 */
export async function measureResume(context: BenchContext, plan: ResumePlan): Promise<ResumeResult> {
  const floor = await startChild({
    name: 'resume-floor',
    script: 'bench/src/peers/idle-floor.ts',
    core: context.options.gatewayCore,
  });
  try {
    const tokens = 100;
    const result = await context.loadgen.request<{
      main: GroupResult;
      drops: number;
      gone204: number;
      idRegressions: number;
      floorToFirstByte: HistogramData;
      reconnectToFirstByte: HistogramData;
      replayedToFirstByte: HistogramData;
      liveToFirstToken: HistogramData;
      reconnectToFirstToken: HistogramData;
    }>({
      type: 'resume',
      target: plan.start,
      ...(plan.resumePort === undefined ? {} : { resumePort: plan.resumePort }),
      prompt: formatParams({ tokens, rate: 500 }),
      expectTokens: tokens,
      concurrency: 20,
      drops: plan.drops,
      maxTokensBeforeDrop: 20,
      // At 500 tokens/s the stream moves on 2–5 tokens meanwhile: every reconnect replays.
      reconnectDelayMs: [5, 10],
      floorPort: floor.info.port as number,
      floorEveryMs: 4,
    });
    account(context, plan.label, result.main);
    context.integrity.errors += result.idRegressions;
    const replayed = summarize(result.replayedToFirstByte);
    const floorSummary = summarize(result.floorToFirstByte);
    const minus = (a: number, b: number): number => Math.round((a - b) * 1000) / 1000;
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
      replayedToFirstByte: replayed,
      liveToFirstToken: summarize(result.liveToFirstToken),
      floorToFirstByte: floorSummary,
      addedToFirstByte: {
        p50: minus(replayed.p50, floorSummary.p50),
        p90: minus(replayed.p90, floorSummary.p90),
        p99: minus(replayed.p99, floorSummary.p99),
      },
      reconnectToFirstToken: summarize(result.reconnectToFirstToken),
    };
    info(
      `  ${plan.label}: ${out.drops} drops over ${out.streams} streams: lost ${out.lost}, duplicated ${out.duplicated}, ` +
        `replayed: reconnect→first byte p50 ${out.replayedToFirstByte.p50} ms p99 ${out.replayedToFirstByte.p99} ms (${out.replayedToFirstByte.count} reconnects) ` +
        `(floor p50 ${out.floorToFirstByte.p50} p99 ${out.floorToFirstByte.p99}; added p50 ${out.addedToFirstByte.p50} p99 ${out.addedToFirstByte.p99})`,
    );
    return out;
  } finally {
    await floor.stop();
  }
}
