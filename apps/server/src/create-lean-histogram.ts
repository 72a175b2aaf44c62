/**
 * A Prometheus histogram for the per-token path. prom-client's `Histogram.observe` builds a
 * label object and a hash on every call; the inter-token histogram is observed once per relayed
 * token, so this one keeps plain typed-array counters and builds the exposition only when
 * `/metrics` is scraped. It plugs into a prom-client `Registry` through `registerMetric`.
 *
 * @module
 */
import type { Registry } from 'prom-client';

/** A histogram without labels. */
export interface LeanHistogram {
  /** Records one value (seconds). No allocation. */
  observe(value: number): void;
  /** Total observations (tests). */
  readonly count: number;
}

interface MetricValue {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName: string;
}

/**
 * Creates a histogram and registers it.
 *
 * @param register - the prom-client registry
 * @param name - metric name, e.g. `streamwell_inter_token_seconds`
 * @param help - help text
 * @param buckets - upper bounds in increasing order (the `+Inf` bucket is implicit)
 * @returns the histogram
 */
export function createLeanHistogram(
  register: Registry,
  name: string,
  help: string,
  buckets: readonly number[],
): LeanHistogram {
  const bounds = Float64Array.from(buckets);
  const counts = new Float64Array(bounds.length + 1);
  let sum = 0;
  let count = 0;
  const metric = {
    name,
    help,
    type: 'histogram' as const,
    aggregator: 'sum' as const,
    async get() {
      const values: MetricValue[] = [];
      let cumulative = 0;
      for (let index = 0; index < bounds.length; index += 1) {
        cumulative += counts[index] as number;
        values.push({ value: cumulative, labels: { le: bounds[index] as number }, metricName: `${name}_bucket` });
      }
      values.push({ value: count, labels: { le: '+Inf' }, metricName: `${name}_bucket` });
      values.push({ value: sum, labels: {}, metricName: `${name}_sum` });
      values.push({ value: count, labels: {}, metricName: `${name}_count` });
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
    reset() {
      counts.fill(0);
      sum = 0;
      count = 0;
    },
  };
  // prom-client's registry only needs name/help/type/get(); its own metric classes are not required.
  register.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
  return {
    observe(value) {
      let index = 0;
      while (index < bounds.length && value > (bounds[index] as number)) index += 1;
      counts[index] = (counts[index] as number) + 1;
      sum += value;
      count += 1;
    },
    get count() {
      return count;
    },
  };
}
