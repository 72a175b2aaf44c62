import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBackoff, parseRetryAfter, sleep } from './backoff.ts';

describe('createBackoff', () => {
  it('full jitter stays within [0, min(cap, base × 2^(attempt−1))]', () => {
    const high = createBackoff({ initialDelayMs: 100, maxDelayMs: 1000, random: () => 0.999_999 });
    expect([1, 2, 3, 4, 5, 9].map((attempt) => high.delay(attempt))).toEqual([99, 199, 399, 799, 999, 999]);
    const low = createBackoff({ initialDelayMs: 100, maxDelayMs: 1000, random: () => 0 });
    expect([1, 2, 3, 9].map((attempt) => low.delay(attempt))).toEqual([0, 0, 0, 0]);
  });
  it('random delays spread over the whole range', () => {
    const backoff = createBackoff({ initialDelayMs: 1000, maxDelayMs: 1000 });
    const delays = Array.from({ length: 2000 }, () => backoff.delay(1));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(1000);
    expect(delays.filter((delay) => delay < 500).length).toBeGreaterThan(800);
    expect(delays.filter((delay) => delay >= 500).length).toBeGreaterThan(800);
  });
  it("a server's retry value replaces the first step", () => {
    const backoff = createBackoff({ initialDelayMs: 100, maxDelayMs: 60_000, random: () => 0.5 });
    expect(backoff.delay(1, 4000)).toBe(2000);
    expect(backoff.delay(2, 4000)).toBe(4000);
  });
  it('rejects a nonsensical configuration', () => {
    expect(() => createBackoff({ factor: 0.5 })).toThrow(/factor/);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
  });
  it('reads an HTTP date relative to now; a past date is 0', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', now)).toBe(0);
  });
  it('ignores absent and invalid values', () => {
    for (const value of [null, undefined, '', '-1', '1.5', 'soon', '12abc']) {
      expect(parseRetryAfter(value, now)).toBeUndefined();
    }
  });
});

describe('sleep', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  it('resolves after the delay and not before', async () => {
    let resolved = false;
    void sleep(1000).then(() => {
      resolved = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(resolved).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(resolved).toBe(true);
  });
  it('rejects with aborted when the signal aborts, and leaves no timer', async () => {
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'aborted' });
    expect(vi.getTimerCount()).toBe(0);
  });
  it('rejects at once on an already aborted signal', async () => {
    await expect(sleep(10, AbortSignal.abort())).rejects.toMatchObject({ code: 'aborted' });
    expect(vi.getTimerCount()).toBe(0);
  });
});
