/**
 * The report is a pure function of a results file: rendering the committed
 * `bench/results/latest.json` into a scratch directory gives, byte for byte, the committed
 * `docs/benchmarks.md` and every chart it links. It proved the split of the report into one
 * renderer per scenario changed no byte, and it fails on a hand edit of the generated docs (lost
 * at the next full run) or a renderer change committed without re-rendering.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type Results, writeReport } from '../../bench/src/report/write-report.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'streamwell-report-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('writeReport', () => {
  it('renders the committed results into the committed docs, byte for byte', () => {
    const results = JSON.parse(readFileSync(join(root, 'bench/results/latest.json'), 'utf8')) as Results;
    const written = writeReport(results, scratch);
    expect(written[0]).toBe('docs/benchmarks.md');
    expect(written.length).toBeGreaterThan(5);
    for (const file of written) {
      expect(readFileSync(join(scratch, file), 'utf8'), file).toBe(readFileSync(join(root, file), 'utf8'));
    }
    // Every chart the Markdown links was written by this rendering.
    const linked = [
      ...readFileSync(join(scratch, 'docs/benchmarks.md'), 'utf8').matchAll(/\]\((bench\/[^)]+\.svg)\)/g),
    ];
    expect(linked.map((match) => `docs/${match[1]}`).sort()).toEqual(written.slice(1).sort());
  });
});
