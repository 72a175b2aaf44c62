/**
 * Writes `docs/benchmarks.md` and one SVG chart per scenario under `docs/bench/` from a results
 * file. Each section has its renderer (`render-<scenario>.ts`, see `report-context.ts`); this
 * file puts them in order. The method and the profiling findings are prose kept next to this file
 * (`method.md`, `findings.md`); everything with a number comes from the results.
 *
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BulkResult } from '../scenarios/bulk.ts';
import { renderBulkSection } from './render-bulk.ts';
import { renderEnvironment } from './render-environment.ts';
import { renderFragmentation } from './render-fragmentation.ts';
import { renderIdle } from './render-idle.ts';
import { renderInstructions } from './render-instructions.ts';
import { renderMemory } from './render-memory.ts';
import { renderOverview } from './render-overview.ts';
import { renderParser } from './render-parser.ts';
import { renderResume } from './render-resume.ts';
import { renderSaturation } from './render-saturation.ts';
import { renderSlowClients } from './render-slow-clients.ts';
import { renderStore } from './render-store.ts';
import { renderSweep } from './render-sweep.ts';
import { renderTtft } from './render-ttft.ts';
import { renderWorkers } from './render-workers.ts';
import type { ReportContext, SectionRenderer } from './report-context.ts';
import type { Results } from './results.ts';
import type { ScenarioResults } from './targets.ts';

export type { Results } from './results.ts';

/** A prose file kept next to this one, as a section. */
const prose =
  (name: string): SectionRenderer =>
  () => [readFileSync(fileURLToPath(new URL(name, import.meta.url)), 'utf8').trim(), ''];

/** The bulk scenario's section (many events per upstream read). */
const renderBulk: SectionRenderer = (report) =>
  renderBulkSection(report.results, report.scenarios.bulk as BulkResult | undefined, report.chartDir, report.written);

/** The report's sections in order; a scenario's renderer goes where its section belongs. */
const SECTIONS: readonly SectionRenderer[] = [
  renderOverview,
  prose('method.md'),
  renderEnvironment,
  renderTtft,
  renderSweep,
  renderMemory,
  renderSaturation,
  renderWorkers,
  renderBulk,
  renderIdle,
  renderResume,
  renderStore,
  renderSlowClients,
  renderFragmentation,
  renderParser,
  renderInstructions,
  prose('findings.md'),
];

/** Writes the report under `root`; returns the files written (repository-relative). */
export function writeReport(results: Results, root: string): string[] {
  const chartDir = join(root, 'docs/bench');
  mkdirSync(chartDir, { recursive: true });
  const report: ReportContext = {
    results,
    scenarios: results.scenarios as ScenarioResults & Record<string, unknown>,
    chartDir,
    written: [],
  };
  const out = SECTIONS.flatMap((render) => render(report));
  writeFileSync(join(root, 'docs/benchmarks.md'), `${out.join('\n')}\n`);
  report.written.unshift('docs/benchmarks.md');
  return report.written;
}

/**
 * `node --import tsx bench/src/report/write-report.ts [results.json] [root]`: re-renders the docs
 * (under `root`, the repository by default; another directory leaves the committed docs alone).
 */
if (import.meta.url === `file://${process.argv[1]}`) {
  const repo = fileURLToPath(new URL('../../../', import.meta.url));
  const file = process.argv[2] ?? join(repo, 'bench/results/latest.json');
  const written = writeReport(JSON.parse(readFileSync(file, 'utf8')) as Results, process.argv[3] ?? repo);
  process.stderr.write(`wrote ${written.join(', ')}\n`);
}
