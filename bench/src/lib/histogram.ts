/**
 * A small log-linear histogram (HDR-like): values are non-negative integers (nanoseconds here),
 * bucketed with 64 sub-buckets per power of two, so any recorded value is reported within 1.6 %.
 * It is plain data, so it crosses process boundaries as JSON and merges by adding counts.
 *
 * Node's `perf_hooks.createHistogram()` is HDR too, but it cannot be serialized or merged across
 * processes, which the harness needs.
 *
 * @module
 */

const SUB_BITS = 6;
const SUB_COUNT = 1 << SUB_BITS;

/** A histogram as sent between processes: sparse bucket counts plus exact extremes. */
export interface HistogramData {
  readonly counts: Record<string, number>;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
}

/** Percentiles of a histogram, in milliseconds. */
export interface Summary {
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

function bucketOf(value: number): number {
  if (value < SUB_COUNT) return value;
  const exponent = value < 2 ** 31 ? 31 - Math.clz32(value) : Math.floor(Math.log2(value));
  const shift = exponent - SUB_BITS + 1;
  const sub = Math.floor(value / 2 ** shift) - SUB_COUNT / 2;
  return SUB_COUNT + (shift - 1) * (SUB_COUNT / 2) + sub;
}

function bucketMid(bucket: number): number {
  if (bucket < SUB_COUNT) return bucket;
  const offset = bucket - SUB_COUNT;
  const shift = Math.floor(offset / (SUB_COUNT / 2)) + 1;
  const sub = (offset % (SUB_COUNT / 2)) + SUB_COUNT / 2;
  return (sub + 0.5) * 2 ** shift;
}

/** A mutable histogram. Create with {@link createHistogram}. */
export interface Histogram {
  record(value: number): void;
  readonly count: number;
  toData(): HistogramData;
}

/** Creates an empty histogram. Negative values are clamped to 0 (clock jitter near zero). */
export function createHistogram(): Histogram {
  const counts = new Map<number, number>();
  let count = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  let sum = 0;
  return {
    record(raw: number): void {
      const value = raw > 0 ? Math.round(raw) : 0;
      const bucket = bucketOf(value);
      counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
      count += 1;
      sum += value;
      if (value < min) min = value;
      if (value > max) max = value;
    },
    get count() {
      return count;
    },
    toData(): HistogramData {
      return { counts: Object.fromEntries(counts), count, min: count === 0 ? 0 : min, max, sum };
    },
  };
}

/** Adds histograms together. */
export function mergeHistograms(parts: readonly HistogramData[]): HistogramData {
  const counts: Record<string, number> = {};
  let count = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  let sum = 0;
  for (const part of parts) {
    for (const [bucket, n] of Object.entries(part.counts)) counts[bucket] = (counts[bucket] ?? 0) + n;
    if (part.count > 0) min = Math.min(min, part.min);
    max = Math.max(max, part.max);
    count += part.count;
    sum += part.sum;
  }
  return { counts, count, min: count === 0 ? 0 : min, max, sum };
}

/** The value at quantile `q` (0..1), in the recorded unit. */
export function quantile(data: HistogramData, q: number): number {
  if (data.count === 0) return Number.NaN;
  if (q >= 1) return data.max;
  const target = Math.max(1, Math.ceil(q * data.count));
  const buckets = Object.keys(data.counts)
    .map(Number)
    .sort((a, b) => a - b);
  let seen = 0;
  for (const bucket of buckets) {
    seen += data.counts[bucket] ?? 0;
    if (seen >= target) return Math.min(data.max, Math.max(data.min, bucketMid(bucket)));
  }
  return data.max;
}

/** Percentiles in milliseconds of a histogram recorded in nanoseconds. */
export function summarize(data: HistogramData): Summary {
  const ms = (ns: number): number => Math.round(ns / 1e3) / 1e3;
  return {
    count: data.count,
    min: ms(data.min),
    p50: ms(quantile(data, 0.5)),
    p90: ms(quantile(data, 0.9)),
    p99: ms(quantile(data, 0.99)),
    p999: ms(quantile(data, 0.999)),
    max: ms(data.max),
    mean: data.count === 0 ? Number.NaN : ms(data.sum / data.count),
  };
}
