/**
 * Target T5 (RSS per active stream) is judged on the larger of its two readings: a process that
 * reuses heap pages its warm-up made resident reads low in the window (the 2026-12-07 run read
 * 1.2 kB there and 12.9 kB after a full collection), so neither reading alone may pass it.
 */
import { describe, expect, it } from 'vitest';
import { conservativeRss } from '../../bench/src/report/targets.ts';
import type { StreamsRow } from '../../bench/src/scenarios/aggregate.ts';

const row = (rssPerStreamKb: number, rssCollectedPerStreamKb?: number): StreamsRow =>
  ({
    rssPerStreamKb,
    ...(rssCollectedPerStreamKb === undefined ? {} : { rssCollectedPerStreamKb }),
  }) as StreamsRow;

describe('conservativeRss', () => {
  it('takes the reading after the collection when the window reads lower', () => {
    expect(conservativeRss(row(1.2, 12.9))).toBe(12.9);
  });

  it('takes the window when the collection reads lower', () => {
    expect(conservativeRss(row(41.1, 40.3))).toBe(41.1);
  });

  it('uses the one reading there is, and none without a row or a number', () => {
    expect(conservativeRss(row(18.1))).toBe(18.1);
    expect(conservativeRss(row(Number.NaN, 7))).toBe(7);
    expect(conservativeRss(row(Number.NaN))).toBeUndefined();
    expect(conservativeRss(undefined)).toBeUndefined();
  });
});
