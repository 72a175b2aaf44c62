/**
 * The run registry's observer for the reference server: feeds the metrics and writes the
 * troubleshooting guide's lifecycle steps as logs, each line carrying the stream id.
 *
 * - debug: run started (the run exists and its model request leaves), first token, token count
 *   (every `CHECKPOINT_EVERY` tokens), outcome;
 * - warn: each upstream retry (attempt, reason, delay, the failure's message, which providers
 *   scrub of keys);
 * - info: one summary per stream (time to first token, tokens, duration, outcome), and
 *   abandoned runs.
 *
 * ("Endpoint hit" is logged from the HTTP core's `onStreamOpen`, see app.ts, when the reply opens.
 * On a new thread that is after the turn is stored, while the model's request left when the run
 * started: "run started" comes first, and a fast model's "first token" may come before "endpoint
 * hit".)
 *
 * @module
 */
import type { Logger } from 'pino';
import type { RegistryObserver, Run, RunSummary, UpstreamRetry } from 'streamwell/server';
import type { ServerMetrics } from './create-server-metrics.ts';

/**
 * Creates the observer.
 *
 * @param log - the logger
 * @param metrics - the metrics
 * @param checkpointEvery - how often to log the running token count at debug
 * @returns the observer
 */
export function createRunObserver(log: Logger, metrics: ServerMetrics, checkpointEvery: number): RegistryObserver {
  // Decided once: the per-token hook must not pay for a disabled debug log.
  const debug = log.isLevelEnabled('debug');
  const every = checkpointEvery > 0 ? checkpointEvery : 50;
  const onTokenGap = metrics.observer.onTokenGap;
  return {
    onStart(run: Run) {
      if (!debug) return;
      log.debug(
        { streamId: run.id, threadId: run.threadId, provider: run.provider.name, model: run.provider.model },
        'run started',
      );
    },
    onFirstToken(run: Run, milliseconds: number) {
      metrics.observer.onFirstToken(run, milliseconds);
      if (debug) log.debug({ streamId: run.id, ttftMs: Math.round(milliseconds) }, 'first token');
    },
    onTokenGap: debug
      ? (run: Run, gap: number) => {
          onTokenGap(run, gap);
          if (run.tokens % every === 0) log.debug({ streamId: run.id, tokens: run.tokens }, 'token count');
        }
      : onTokenGap,
    onEnd(run: Run, summary: RunSummary) {
      metrics.observer.onEnd(run, summary);
      if (debug) log.debug({ streamId: run.id, status: summary.status, outcome: summary.outcome }, 'outcome');
      log.info(
        {
          streamId: run.id,
          ttftMs: summary.timeToFirstTokenMs === undefined ? null : Math.round(summary.timeToFirstTokenMs),
          tokens: summary.tokens,
          durationMs: Math.round(summary.durationMs),
          status: summary.status,
          outcome: summary.outcome,
        },
        'stream summary',
      );
    },
    onUpstreamRetry(run: Run, retry: UpstreamRetry, error: unknown) {
      metrics.observer.onUpstreamRetry(run, retry, error);
      log.warn(
        {
          streamId: run.id,
          provider: run.provider.name,
          attempt: retry.attempt,
          maxAttempts: retry.maxAttempts,
          reason: retry.reason,
          delayMs: retry.delayMs,
          retryAfter: retry.retryAfter,
          // The message only (never `err` with its cause chain: request options live there).
          error: error instanceof Error ? error.message : String(error),
        },
        'upstream failed before answering; retrying',
      );
    },
    onAbandoned(run: Run) {
      metrics.observer.onAbandoned(run);
      log.info(
        { streamId: run.id, tokens: run.tokens },
        'run abandoned: no client reconnected within the grace period',
      );
    },
    onThreadStoreError(run: Run, error: unknown) {
      log.error({ streamId: run.id, err: error }, 'thread store failed to record the exchange');
    },
  };
}
