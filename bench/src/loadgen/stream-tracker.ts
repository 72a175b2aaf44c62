/**
 * Per-stream bookkeeping shared by the load-generator jobs: sequence checks on the token
 * markers (no loss, no duplicate), time to first token, per-token delay and inter-token gaps.
 *
 * @module
 */
import { createHistogram, type Histogram, type HistogramData } from '../lib/histogram.ts';
import { scanMarkers } from '../mock/token-marker.ts';

/** Counters and histograms of a group of streams. */
export interface GroupStats {
  streamsStarted: number;
  streamsCompleted: number;
  streamsCut: number;
  errors: number;
  errorSamples: string[];
  tokens: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  bytes: number;
  readonly ttft: Histogram;
  readonly delay: Histogram;
  readonly gap: Histogram;
}

/** Serializable form of {@link GroupStats}. */
export interface GroupResult {
  readonly streamsStarted: number;
  readonly streamsCompleted: number;
  readonly streamsCut: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  readonly tokens: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly outOfOrder: number;
  readonly bytes: number;
  readonly ttft: HistogramData;
  readonly delay: HistogramData;
  readonly gap: HistogramData;
}

/** A fresh group. */
export function createGroup(): GroupStats {
  return {
    streamsStarted: 0,
    streamsCompleted: 0,
    streamsCut: 0,
    errors: 0,
    errorSamples: [],
    tokens: 0,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    bytes: 0,
    ttft: createHistogram(),
    delay: createHistogram(),
    gap: createHistogram(),
  };
}

/** The group as plain data. */
export function groupResult(group: GroupStats): GroupResult {
  return {
    ...group,
    errorSamples: group.errorSamples.slice(0, 5),
    ttft: group.ttft.toData(),
    delay: group.delay.toData(),
    gap: group.gap.toData(),
  };
}

/** Records an error (keeps a few samples for the report). */
export function recordError(group: GroupStats, message: string): void {
  group.errors += 1;
  if (group.errorSamples.length < 5) group.errorSamples.push(message);
}

/** Tracks the token sequence of one logical stream (across reconnects, for resume). */
export class SequenceTracker {
  /** Next expected token seq. */
  expected = 0;
  firstTokenNs: number | undefined;
  lastTokenNs: number | undefined;
  /** The mock's send time of the latest token (its embedded marker). */
  lastSendNs: number | undefined;
  readonly #group: GroupStats;
  readonly #startNs: number;
  /** Only samples with a receive time inside [from, to) are recorded. */
  readonly #window: { from: number; to: number };

  constructor(group: GroupStats, startNs: number, window: { from: number; to: number }) {
    this.#group = group;
    this.#startNs = startNs;
    this.#window = window;
  }

  /** Scans one event's data for markers. */
  onData(data: string, recvNs: number): void {
    scanMarkers(data, (seq, sendNs) => this.#onToken(seq, sendNs, recvNs));
  }

  #onToken(seq: number, sendNs: number, recvNs: number): void {
    const group = this.#group;
    const inWindow = recvNs >= this.#window.from && recvNs < this.#window.to;
    if (seq < this.expected) {
      group.duplicated += 1;
      return;
    }
    if (seq > this.expected) {
      group.lost += seq - this.expected;
      group.outOfOrder += 1;
    }
    this.expected = seq + 1;
    this.lastSendNs = sendNs;
    if (this.firstTokenNs === undefined) {
      this.firstTokenNs = recvNs;
      if (inWindow && this.#startNs >= this.#window.from) group.ttft.record(recvNs - this.#startNs);
    } else if (inWindow && this.lastTokenNs !== undefined) {
      group.gap.record(recvNs - this.lastTokenNs);
    }
    this.lastTokenNs = recvNs;
    if (inWindow) {
      group.tokens += 1;
      group.delay.record(recvNs - sendNs);
    }
  }
}
