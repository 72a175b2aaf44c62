/**
 * The latency panel: time to first token, tokens per second, an inter-token gap sparkline, slow
 * tokens and reconnects, for the current (or last) reply.
 *
 * @module
 */
import type { ClientMetricsSnapshot } from 'streamwell/client';
import { Sparkline } from './sparkline.tsx';

const formatMs = (value: number | undefined): string =>
  value === undefined ? '—' : value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;

const formatRate = (value: number | undefined): string =>
  value === undefined ? '—' : value >= 100 ? value.toFixed(0) : value.toFixed(1);

function Stat({ label, value, hint, tone }: { label: string; value: string; hint?: string; tone?: 'warn' }) {
  return (
    <div className={tone === 'warn' ? 'stat stat-warn' : 'stat'}>
      <dt>{label}</dt>
      <dd>
        <span className="stat-value">{value}</span>
        {hint === undefined ? null : <span className="stat-hint">{hint}</span>}
      </dd>
    </div>
  );
}

/**
 * Renders the panel straight from the hook's metrics snapshot (no view model: the snapshot is
 * already immutable and changes identity only when a number changed).
 *
 * @param props - `metrics`, the stream's client metrics snapshot
 * @returns a labelled `<section>`
 */
export function LatencyPanel({ metrics }: { metrics: ClientMetricsSnapshot }) {
  return (
    <section className="panel latency-panel" aria-labelledby="latency-title">
      <h2 id="latency-title" className="panel-title">
        Latency
      </h2>
      <dl className="stats">
        <Stat
          label="First token"
          value={formatMs(metrics.timeToFirstTokenMs)}
          {...(metrics.timeToFirstByteMs === undefined
            ? {}
            : { hint: `first byte ${formatMs(metrics.timeToFirstByteMs)}` })}
        />
        <Stat label="Tokens/s" value={formatRate(metrics.tokensPerSecond)} hint={`${metrics.tokens} tokens`} />
        <Stat
          label="Slow tokens"
          value={String(metrics.slowTokens)}
          hint={`gap > ${formatMs(metrics.slowTokenMs)}`}
          {...(metrics.slowTokens > 0 ? { tone: 'warn' as const } : {})}
        />
        <Stat
          label="Reconnects"
          value={String(metrics.reconnects)}
          {...(metrics.reconnects > 0 ? { tone: 'warn' as const } : {})}
        />
      </dl>
      <figure className="gaps">
        <figcaption>
          <span>Gap between tokens</span>
          <span className="gaps-numbers">
            p50 {formatMs(metrics.gapP50Ms)} · p95 {formatMs(metrics.gapP95Ms)} · max {formatMs(metrics.gapMaxMs)}
          </span>
        </figcaption>
        <Sparkline
          values={metrics.recentGapsMs}
          threshold={metrics.slowTokenMs}
          label={`Inter-token gaps of the last ${metrics.recentGapsMs.length} tokens`}
        />
      </figure>
    </section>
  );
}
