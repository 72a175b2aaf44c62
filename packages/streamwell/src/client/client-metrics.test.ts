import { describe, expect, it } from 'vitest';
import { createClientMetrics, MAX_GAP_SAMPLES } from './client-metrics.ts';

function clock() {
  let time = 0;
  return {
    now: () => time,
    at(value: number) {
      time = value;
    },
  };
}

describe('createClientMetrics', () => {
  it('measures time to first byte and first token from the first request', () => {
    const time = clock();
    const metrics = createClientMetrics({ now: time.now });
    time.at(100);
    metrics.markRequest();
    time.at(130);
    metrics.markBytes();
    time.at(180);
    metrics.markBytes();
    time.at(250);
    metrics.markToken();
    time.at(400);
    metrics.markRequest(); // a reconnect's request does not restart the clock
    const snapshot = metrics.snapshot();
    expect(snapshot.timeToFirstByteMs).toBe(30);
    expect(snapshot.timeToFirstTokenMs).toBe(150);
    expect(snapshot.tokens).toBe(1);
    expect(snapshot.tokensPerSecond).toBeUndefined();
  });

  it('computes gap percentiles, max, slow tokens and tokens per second', () => {
    const time = clock();
    const slow: number[] = [];
    const metrics = createClientMetrics({ now: time.now, slowTokenMs: 1000, onSlowToken: (gap) => slow.push(gap) });
    metrics.markRequest();
    // 20 tokens 10 ms apart, then one after 1500 ms.
    let at = 0;
    for (let index = 0; index < 20; index += 1) {
      time.at(at);
      metrics.markToken();
      at += 10;
    }
    time.at(at - 10 + 1500);
    metrics.markToken();
    metrics.markEnd();
    const snapshot = metrics.snapshot();
    expect(snapshot.tokens).toBe(21);
    expect(snapshot.gapP50Ms).toBe(10);
    expect(snapshot.gapP95Ms).toBe(10);
    expect(snapshot.gapMaxMs).toBe(1500);
    expect(snapshot.slowTokens).toBe(1);
    expect(slow).toEqual([1500]);
    expect(snapshot.tokensPerSecond).toBeCloseTo((20 * 1000) / (190 + 1500), 5);
    expect(snapshot.recentGapsMs).toHaveLength(20);
    expect(snapshot.recentGapsMs.at(-1)).toBe(1500);
  });

  it('keeps its buffers bounded: the series and the percentile samples', () => {
    const time = clock();
    const metrics = createClientMetrics({ now: time.now, seriesSize: 50 });
    metrics.markRequest();
    for (let index = 0; index < MAX_GAP_SAMPLES * 3; index += 1) {
      // Early gaps are long, recent ones short: percentiles follow the recent window.
      time.at(index < MAX_GAP_SAMPLES ? index * 100 : (MAX_GAP_SAMPLES - 1) * 100 + (index - MAX_GAP_SAMPLES + 1));
      metrics.markToken();
    }
    const snapshot = metrics.snapshot();
    expect(snapshot.recentGapsMs).toHaveLength(50);
    expect(snapshot.gapP95Ms).toBe(1);
    expect(snapshot.gapMaxMs).toBe(100);
  });

  it('percentiles always match a sort of the recent window, also after it wraps (with repeats)', () => {
    const time = clock();
    const metrics = createClientMetrics({ now: time.now });
    metrics.markRequest();
    let at = 0;
    let seed = 7;
    const gaps: number[] = [];
    const nearestRank = (sorted: number[], fraction: number) =>
      sorted[Math.max(1, Math.ceil(fraction * sorted.length)) - 1];
    time.at(at);
    metrics.markToken();
    for (let index = 0; index < MAX_GAP_SAMPLES * 2 + 123; index += 1) {
      // A small range of integer gaps, so many gaps are equal (removal must pick the right value).
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const gap = (seed % 50) + (index > MAX_GAP_SAMPLES ? 100 : 0);
      gaps.push(gap);
      at += gap;
      time.at(at);
      metrics.markToken();
      if (index % 997 === 0 || index === MAX_GAP_SAMPLES * 2 + 122) {
        const window = gaps.slice(-MAX_GAP_SAMPLES).sort((a, b) => a - b);
        const snapshot = metrics.snapshot();
        expect(snapshot.gapP50Ms, `after ${index + 1} gaps`).toBe(nearestRank(window, 0.5));
        expect(snapshot.gapP95Ms, `after ${index + 1} gaps`).toBe(nearestRank(window, 0.95));
      }
    }
  });

  it('returns the same snapshot object until something changes', () => {
    const metrics = createClientMetrics();
    metrics.markRequest();
    const first = metrics.snapshot();
    expect(metrics.snapshot()).toBe(first);
    metrics.markReconnect();
    const second = metrics.snapshot();
    expect(second).not.toBe(first);
    expect(second.reconnects).toBe(1);
    expect(Object.isFrozen(second)).toBe(true);
  });
});
