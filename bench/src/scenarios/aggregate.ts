/**
 * From cells to report rows: medians over repetitions, and "added" numbers as the peer minus
 * the direct floor of the same repetition (then the median of those differences).
 *
 * @module
 */
import { summarize } from '../lib/histogram.ts';
import { median, round3, type StreamsCell } from './context.ts';

/** One row of a streams table. */
export interface StreamsRow {
  readonly reps: number;
  readonly tokensPerSecond: number;
  readonly ttftP50: number;
  readonly ttftP99: number;
  readonly delayP50: number;
  readonly delayP99: number;
  readonly delayP999: number;
  readonly gapP50: number;
  readonly gapP99: number;
  /** vs direct in the same repetition; undefined without a direct floor. */
  readonly addedTtftP50?: number;
  readonly addedTtftP99?: number;
  readonly addedDelayP50?: number;
  readonly addedDelayP99?: number;
  /** Gateway CPU per 1,000 delivered tokens, ms. */
  readonly cpuPer1kTokensMs: number;
  /** With a store (Redis): the store server's CPU per 1,000 delivered tokens, ms (its idle rate taken out). */
  readonly storeCpuPer1kTokensMs?: number;
  /** With a store: the store server's idle CPU measured before each cell, % of one core (median). */
  readonly storeIdlePct?: number;
  readonly gatewayCpuPct: number;
  readonly harnessCpuPct: number;
  /** (median RSS in the window − RSS after warm-up) / streams, kB (1,000 bytes). */
  readonly rssPerStreamKb: number;
  /** (RSS after a full collection, streams still open − RSS after warm-up) / streams, kB; only with `collectAtEnd`. */
  readonly rssCollectedPerStreamKb?: number;
  readonly rssMaxMb: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly errors: number;
}

const MB = 1024 * 1024;

function perRep(cells: readonly StreamsCell[], pick: (cell: StreamsCell) => number): number[] {
  return cells.map(pick);
}

function added(
  cells: readonly StreamsCell[],
  direct: readonly StreamsCell[] | undefined,
  pick: (cell: StreamsCell) => number,
): number | undefined {
  if (!direct || direct.length === 0) return undefined;
  const differences = cells.map((cell, index) => {
    const floor = direct[index] ?? direct[0];
    return floor ? pick(cell) - pick(floor) : Number.NaN;
  });
  return round3(median(differences));
}

/**
 * Fewest streams for which RSS per stream is shown. Below it the process's own drift between the
 * baseline and the window (megabytes: heap growth and shrinking, allocator caches) swamps what the
 * streams hold: the 10-stream sweep once read −8,343 kB per stream.
 */
export const MIN_RSS_STREAMS = 500;

/** Aggregates a peer's cells of one variant. */
export function aggregateCells(
  cells: readonly StreamsCell[],
  direct: readonly StreamsCell[] | undefined,
  streams: number,
  baselineRss: number,
): StreamsRow {
  const ttft50 = (cell: StreamsCell) => summarize(cell.main.ttft).p50;
  const ttft99 = (cell: StreamsCell) => summarize(cell.main.ttft).p99;
  const delay50 = (cell: StreamsCell) => summarize(cell.main.delay).p50;
  const delay99 = (cell: StreamsCell) => summarize(cell.main.delay).p99;
  const tokens = (cell: StreamsCell) => cell.main.tokens + cell.slow.tokens;
  const row: StreamsRow = {
    reps: cells.length,
    tokensPerSecond: Math.round(median(perRep(cells, (cell) => (tokens(cell) / cell.resources.windowMs) * 1000))),
    ttftP50: round3(median(perRep(cells, ttft50))),
    ttftP99: round3(median(perRep(cells, ttft99))),
    delayP50: round3(median(perRep(cells, delay50))),
    delayP99: round3(median(perRep(cells, delay99))),
    delayP999: round3(median(perRep(cells, (cell) => summarize(cell.main.delay).p999))),
    gapP50: round3(median(perRep(cells, (cell) => summarize(cell.main.gap).p50))),
    gapP99: round3(median(perRep(cells, (cell) => summarize(cell.main.gap).p99))),
    cpuPer1kTokensMs: round3(
      median(
        perRep(cells, (cell) => (tokens(cell) > 0 ? (cell.resources.gatewayCpuMs / tokens(cell)) * 1000 : Number.NaN)),
      ),
    ),
    gatewayCpuPct: Math.round(median(perRep(cells, (cell) => cell.resources.gatewayCpuPct)) * 10) / 10,
    harnessCpuPct: Math.round(median(perRep(cells, (cell) => cell.resources.harnessCpuPct)) * 10) / 10,
    rssPerStreamKb:
      baselineRss > 0
        ? Math.round(
            median(perRep(cells, (cell) => (cell.resources.gatewayRssMedianBytes - baselineRss) / streams / 1000)) * 10,
          ) / 10
        : Number.NaN,
    ...collectedRss(cells, baselineRss, streams),
    ...storeCpu(cells, tokens),
    rssMaxMb: Math.round((Math.max(...cells.map((cell) => cell.resources.gatewayRssMaxBytes)) / MB) * 10) / 10,
    lost: cells.reduce((sum, cell) => sum + cell.main.lost + cell.slow.lost, 0),
    duplicated: cells.reduce((sum, cell) => sum + cell.main.duplicated + cell.slow.duplicated, 0),
    errors: cells.reduce((sum, cell) => sum + cell.main.errors + cell.slow.errors, 0),
  };
  const extra: Partial<StreamsRow> = {};
  const a = {
    addedTtftP50: added(cells, direct, ttft50),
    addedTtftP99: added(cells, direct, ttft99),
    addedDelayP50: added(cells, direct, delay50),
    addedDelayP99: added(cells, direct, delay99),
  };
  for (const [key, value] of Object.entries(a)) if (value !== undefined) (extra as Record<string, number>)[key] = value;
  return { ...row, ...extra };
}

function storeCpu(
  cells: readonly StreamsCell[],
  tokens: (cell: StreamsCell) => number,
): { storeCpuPer1kTokensMs?: number; storeIdlePct?: number } {
  const measured = cells.filter((cell) => cell.resources.store !== undefined && tokens(cell) > 0);
  if (measured.length === 0) return {};
  return {
    storeCpuPer1kTokensMs: round3(
      median(measured.map((cell) => ((cell.resources.store?.cpuMs ?? 0) / tokens(cell)) * 1000)),
    ),
    storeIdlePct: Math.round(median(measured.map((cell) => cell.resources.store?.idlePct ?? 0)) * 10) / 10,
  };
}

function collectedRss(
  cells: readonly StreamsCell[],
  baselineRss: number,
  streams: number,
): { rssCollectedPerStreamKb?: number } {
  const values = cells.flatMap((cell) =>
    cell.resources.gatewayRssCollectedBytes === undefined || baselineRss <= 0
      ? []
      : [(cell.resources.gatewayRssCollectedBytes - baselineRss) / streams / 1000],
  );
  return values.length === 0 ? {} : { rssCollectedPerStreamKb: Math.round(median(values) * 10) / 10 };
}
