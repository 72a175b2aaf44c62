/**
 * The latency panel: time to first token, tokens per second, an inter-token gap sparkline, slow
 * tokens and reconnects, for the current (or last) reply.
 *
 * @module
 */
import { Sparkline } from './sparkline.tsx';

/** What the panel shows; the page maps the hook's metrics snapshot onto it. */
export interface LatencyView {
  readonly timeToFirstTokenMs: number | undefined;
  readonly timeToFirstByteMs: number | undefined;
  readonly tokensPerSecond: number | undefined;
  readonly tokens: number;
  readonly gapP50Ms: number | undefined;
  readonly gapP95Ms: number | undefined;
  readonly gapMaxMs: number | undefined;
  readonly slowTokens: number;
  readonly slowTokenMs: number;
  readonly reconnects: number;
  /** Recent inter-token gaps (ms), oldest first. */
  readonly recentGaps: readonly number[];
}

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
 * Renders the panel.
 *
 * @param props - the metrics to show
 * @returns a labelled `<section>`
 */
export function LatencyPanel({ view }: { view: LatencyView }) {
  return (
    <section className="panel latency-panel" aria-labelledby="latency-title">
      <h2 id="latency-title" className="panel-title">
        Latency
      </h2>
      <dl className="stats">
        <Stat
          label="First token"
          value={formatMs(view.timeToFirstTokenMs)}
          {...(view.timeToFirstByteMs === undefined ? {} : { hint: `first byte ${formatMs(view.timeToFirstByteMs)}` })}
        />
        <Stat label="Tokens/s" value={formatRate(view.tokensPerSecond)} hint={`${view.tokens} tokens`} />
        <Stat
          label="Slow tokens"
          value={String(view.slowTokens)}
          hint={`gap > ${formatMs(view.slowTokenMs)}`}
          {...(view.slowTokens > 0 ? { tone: 'warn' as const } : {})}
        />
        <Stat
          label="Reconnects"
          value={String(view.reconnects)}
          {...(view.reconnects > 0 ? { tone: 'warn' as const } : {})}
        />
      </dl>
      <figure className="gaps">
        <figcaption>
          <span>Gap between tokens</span>
          <span className="gaps-numbers">
            p50 {formatMs(view.gapP50Ms)} · p95 {formatMs(view.gapP95Ms)} · max {formatMs(view.gapMaxMs)}
          </span>
        </figcaption>
        <Sparkline
          values={view.recentGaps}
          threshold={view.slowTokenMs}
          label={`Inter-token gaps of the last ${view.recentGaps.length} tokens`}
        />
      </figure>
    </section>
  );
}
