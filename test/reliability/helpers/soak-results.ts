/**
 * Machine-readable figures of the reliability suites, for docs/reliability.md and the README to
 * quote: one JSON file per suite in `test/reliability/.results/` (gitignored), `NAME.json` from
 * the full run (`npm run soak`) and `NAME.quick.json` from `npm test`, so that a quick run never
 * overwrites the figures of the last full one. `npm run soak` gathers them into `summary.json`.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SOAK } from './soak-mode.ts';

/** The folder of the result files. */
export const RESULTS_DIR: string = fileURLToPath(new URL('../.results/', import.meta.url));

/**
 * Writes one suite's figures (with the mode and the time of the run).
 *
 * @param name - the suite, e.g. `soak`
 * @param figures - JSON-serializable figures
 * @returns the path written
 */
export function writeSoakResult(name: string, figures: Record<string, unknown>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = `${RESULTS_DIR}${name}${SOAK ? '' : '.quick'}.json`;
  const record = { suite: name, mode: SOAK ? 'full' : 'quick', finishedAt: new Date().toISOString(), ...figures };
  writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`);
  return path;
}
