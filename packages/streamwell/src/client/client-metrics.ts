/**
 * Client-side latency metrics of one stream, as the user experiences them: time to first byte,
 * time to first token, inter-token gaps (p50, p95, max), slow tokens, tokens per second and
 * reconnects, plus a bounded series of recent gaps for a sparkline.
 *
 * Every buffer is bounded: gap percentiles come from the most recent {@link MAX_GAP_SAMPLES}
 * gaps, the sparkline series from the last `seriesSize`. A UI takes a snapshot every animation
 * frame while tokens flow, so the recent gaps are also kept sorted as they arrive (a binary
 * search and a block move per token) instead of being sorted again for every snapshot.
 *
 * @module
 */

/** An immutable view of a stream's metrics. Times are milliseconds. */
export interface ClientMetricsSnapshot {
  /** From the first request to the first byte of the response body. */
  readonly timeToFirstByteMs: number | undefined;
  /** From the first request to the first token. */
  readonly timeToFirstTokenMs: number | undefined;
  /** Tokens received (replayed duplicates are not counted). */
  readonly tokens: number;
  /** Tokens per second between the first and the last token; undefined before the second token. */
  readonly tokensPerSecond: number | undefined;
  /** Median gap between consecutive tokens. */
  readonly gapP50Ms: number | undefined;
  /** 95th percentile gap. */
  readonly gapP95Ms: number | undefined;
  /** Longest gap. */
  readonly gapMaxMs: number | undefined;
  /** Gaps longer than {@link ClientMetricsSnapshot.slowTokenMs}. */
  readonly slowTokens: number;
  /** The threshold for a slow token. */
  readonly slowTokenMs: number;
  /** Reconnects so far. */
  readonly reconnects: number;
  /** The most recent gaps, oldest first (for a sparkline). */
  readonly recentGapsMs: readonly number[];
  /** From the first request to the latest change (token, reconnect), or to the end of the stream. */
  readonly durationMs: number;
}

/** Options of {@link createClientMetrics}. */
export interface ClientMetricsOptions {
  /** A gap longer than this counts as a slow token. @defaultValue 1000 */
  readonly slowTokenMs?: number;
  /** Length of the sparkline series. @defaultValue 120 */
  readonly seriesSize?: number;
  /** Clock in ms. @defaultValue performance.now */
  readonly now?: () => number;
  /** Called for every slow token with its gap. */
  readonly onSlowToken?: (gapMs: number) => void;
}

/** Records one stream's metrics. */
export interface ClientMetrics {
  /** The first request is being sent (called once; later calls are ignored). */
  markRequest(): void;
  /** Bytes of a response body arrived. */
  markBytes(): void;
  /** A new (not replayed) token arrived. */
  markToken(): void;
  /** A reconnect is starting. */
  markReconnect(): void;
  /** The stream ended: duration stops growing. */
  markEnd(): void;
  /** The metrics now; the same object until something changes. */
  snapshot(): ClientMetricsSnapshot;
}

/**
 * How many recent gaps feed the percentiles.
 *
 * @internal
 */
export const MAX_GAP_SAMPLES = 4096;

/** An empty snapshot, for a stream that has not started. */
export const EMPTY_CLIENT_METRICS: ClientMetricsSnapshot = Object.freeze({
  timeToFirstByteMs: undefined,
  timeToFirstTokenMs: undefined,
  tokens: 0,
  tokensPerSecond: undefined,
  gapP50Ms: undefined,
  gapP95Ms: undefined,
  gapMaxMs: undefined,
  slowTokens: 0,
  slowTokenMs: 1000,
  reconnects: 0,
  recentGapsMs: Object.freeze([]) as readonly number[],
  durationMs: 0,
});

/**
 * The nearest-rank percentile of sorted values: the smallest value with at least `fraction` of
 * the values at or below it. One definition for every p50/p95 streamwell reports (the web
 * page's latency panel and `doctor` agree on the same gaps).
 *
 * @param sorted - values in ascending order
 * @param fraction - 0.5 for the median, 0.95 for p95
 * @param count - how many of `sorted` count, from its start @defaultValue sorted.length
 * @returns the percentile, or undefined when there are no values
 * @example nearestRankPercentile([10, 20, 30, 40], 0.5) // 20
 *
 * @internal
 */
export function nearestRankPercentile(
  sorted: ArrayLike<number>,
  fraction: number,
  count: number = sorted.length,
): number | undefined {
  if (count === 0) return undefined;
  const rank = Math.max(1, Math.ceil(fraction * count));
  return sorted[rank - 1] as number;
}

/** The first index in `sorted[0, count)` whose value is not below `value`. */
function lowerBound(sorted: Float64Array, count: number, value: number): number {
  let low = 0;
  let high = count;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as number) < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Creates a metrics recorder.
 *
 * @param options - slow-token threshold, series size and clock
 * @returns the recorder
 */
export function createClientMetrics(options: ClientMetricsOptions = {}): ClientMetrics {
  const slowTokenMs = options.slowTokenMs ?? 1000;
  const seriesSize = options.seriesSize ?? 120;
  const now = options.now ?? (() => performance.now());
  // The recent gaps in arrival order (a ring), and the same gaps sorted.
  const gaps = new Float64Array(MAX_GAP_SAMPLES);
  const sorted = new Float64Array(MAX_GAP_SAMPLES);
  let gapCount = 0;
  let requestAt: number | undefined;
  let firstByteAt: number | undefined;
  let firstTokenAt: number | undefined;
  let lastTokenAt: number | undefined;
  let endedAt: number | undefined;
  let tokens = 0;
  let slowTokens = 0;
  let gapMax: number | undefined;
  let reconnects = 0;
  let cached: ClientMetricsSnapshot | undefined;

  function recentGaps(): number[] {
    const count = Math.min(seriesSize, gapCount, MAX_GAP_SAMPLES);
    const series: number[] = new Array(count);
    for (let index = 0; index < count; index += 1) {
      series[index] = gaps[(gapCount - count + index) % MAX_GAP_SAMPLES] as number;
    }
    return series;
  }

  function addGap(gap: number): void {
    let sortedCount = Math.min(gapCount, MAX_GAP_SAMPLES);
    const slot = gapCount % MAX_GAP_SAMPLES;
    if (gapCount >= MAX_GAP_SAMPLES) {
      // The window is full: the gap in this slot leaves it, and its sorted copy with it.
      const leaving = lowerBound(sorted, sortedCount, gaps[slot] as number);
      sorted.copyWithin(leaving, leaving + 1, sortedCount);
      sortedCount -= 1;
    }
    const at = lowerBound(sorted, sortedCount, gap);
    sorted.copyWithin(at + 1, at, sortedCount);
    sorted[at] = gap;
    gaps[slot] = gap;
    gapCount += 1;
  }

  function build(): ClientMetricsSnapshot {
    const samples = Math.min(gapCount, MAX_GAP_SAMPLES);
    const end = endedAt ?? lastTokenAt ?? firstByteAt ?? now();
    const span = firstTokenAt !== undefined && lastTokenAt !== undefined ? lastTokenAt - firstTokenAt : 0;
    return Object.freeze({
      timeToFirstByteMs: requestAt !== undefined && firstByteAt !== undefined ? firstByteAt - requestAt : undefined,
      timeToFirstTokenMs: requestAt !== undefined && firstTokenAt !== undefined ? firstTokenAt - requestAt : undefined,
      tokens,
      tokensPerSecond: tokens > 1 && span > 0 ? ((tokens - 1) * 1000) / span : undefined,
      gapP50Ms: nearestRankPercentile(sorted, 0.5, samples),
      gapP95Ms: nearestRankPercentile(sorted, 0.95, samples),
      gapMaxMs: gapMax,
      slowTokens,
      slowTokenMs,
      reconnects,
      recentGapsMs: Object.freeze(recentGaps()),
      durationMs: requestAt === undefined ? 0 : end - requestAt,
    });
  }

  return {
    markRequest() {
      if (requestAt !== undefined) return;
      requestAt = now();
      cached = undefined;
    },
    markBytes() {
      if (firstByteAt !== undefined) return;
      firstByteAt = now();
      cached = undefined;
    },
    markToken() {
      const at = now();
      tokens += 1;
      if (lastTokenAt === undefined) {
        firstTokenAt = at;
      } else {
        const gap = at - lastTokenAt;
        addGap(gap);
        if (gapMax === undefined || gap > gapMax) gapMax = gap;
        if (gap > slowTokenMs) {
          slowTokens += 1;
          options.onSlowToken?.(gap);
        }
      }
      lastTokenAt = at;
      cached = undefined;
    },
    markReconnect() {
      reconnects += 1;
      cached = undefined;
    },
    markEnd() {
      if (endedAt === undefined) endedAt = now();
      cached = undefined;
    },
    snapshot() {
      if (cached !== undefined) return cached;
      cached = build();
      return cached;
    },
  };
}
