/**
 * What every section renderer of the report gets: the results, where its charts go and the list
 * of files written so far. A renderer is one function per scenario (`render-<scenario>.ts`), from
 * the results to Markdown lines (joined with newlines) plus the charts it writes; it returns no
 * lines when its scenario is absent from the run.
 *
 * @module
 */
import type { Results } from './results.ts';
import type { ScenarioResults } from './targets.ts';

/** The input of every section renderer. */
export interface ReportContext {
  readonly results: Results;
  /** `results.scenarios`, typed. */
  readonly scenarios: ScenarioResults & Record<string, unknown>;
  /** `docs/bench/` under the repository root: where `chart()` writes. */
  readonly chartDir: string;
  /** Repository-relative files written; `chart()` appends to it. */
  readonly written: string[];
}

/** One section of the report: Markdown lines, none when its scenario did not run. */
export type SectionRenderer = (report: ReportContext) => string[];

/** A peer's label as the run named it, or its id. */
export function peerLabel(results: Results, id: string): string {
  return results.peers[id]?.label ?? id;
}
