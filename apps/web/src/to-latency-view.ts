/**
 * Maps the hook's metrics snapshot onto what the latency panel shows.
 *
 * @module
 */
import type { ClientMetricsSnapshot } from 'streamwell/client';
import type { LatencyView } from './components/latency-panel.tsx';

/**
 * Converts metrics for the panel.
 *
 * @param metrics - the hook's client metrics snapshot
 * @returns the panel's view
 */
export function toLatencyView(metrics: ClientMetricsSnapshot): LatencyView {
  return {
    timeToFirstTokenMs: metrics.timeToFirstTokenMs,
    timeToFirstByteMs: metrics.timeToFirstByteMs,
    tokensPerSecond: metrics.tokensPerSecond,
    tokens: metrics.tokens,
    gapP50Ms: metrics.gapP50Ms,
    gapP95Ms: metrics.gapP95Ms,
    gapMaxMs: metrics.gapMaxMs,
    slowTokens: metrics.slowTokens,
    slowTokenMs: metrics.slowTokenMs,
    reconnects: metrics.reconnects,
    recentGaps: metrics.recentGapsMs,
  };
}
