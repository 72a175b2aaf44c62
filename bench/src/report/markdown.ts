/**
 * Small formatting helpers of the report: numbers, Markdown tables and chart files.
 *
 * @module
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A number as measured, or `n/a`. */
export const n = (value: number | undefined): string =>
  value === undefined || !Number.isFinite(value) ? 'n/a' : String(value);

/** A difference with its sign, or `n/a`. */
export const signed = (value: number | undefined): string =>
  value === undefined || !Number.isFinite(value) ? 'n/a' : value > 0 ? `+${value}` : String(value);

/** `value / base` as `×1.2`, or `n/a`. */
export function times(value: number | undefined, base: number | undefined): string {
  if (value === undefined || base === undefined || !Number.isFinite(value) || !Number.isFinite(base) || base <= 0) {
    return 'n/a';
  }
  return `×${(value / base).toFixed(1)}`;
}

/** A Markdown table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Writes `docs/bench/<name>.svg` (recorded in `written`) and returns its Markdown image. */
export function chart(dir: string, name: string, svg: string, written: string[]): string {
  writeFileSync(join(dir, `${name}.svg`), svg);
  written.push(`docs/bench/${name}.svg`);
  return `![${name}](bench/${name}.svg)`;
}
