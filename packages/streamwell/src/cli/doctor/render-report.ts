/**
 * Renders a diagnosis for people: one block per check (status, title, evidence, fix), then a
 * summary table. Colour only when asked (a TTY without NO_COLOR).
 *
 * @module
 */
import type { CheckResult, CheckStatus, DiagnosisReport } from '../../client/diagnose/check-result.ts';

/** Options of {@link renderReport}. */
export interface RenderOptions {
  readonly color: boolean;
  /** Wrap width. @defaultValue 100 */
  readonly width?: number;
  /** The request line shown at the top, e.g. `POST http://host/api/stream/message`. */
  readonly target?: string;
}

const ANSI = {
  reset: '\u001b[0m',
  bold: '\u001b[1m',
  dim: '\u001b[2m',
  red: '\u001b[31m',
  green: '\u001b[32m',
  yellow: '\u001b[33m',
};
const MARK: Readonly<Record<CheckStatus, string>> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' };
const COLOR: Readonly<Record<CheckStatus, string>> = { pass: ANSI.green, warn: ANSI.yellow, fail: ANSI.red };

/**
 * Whether to colour output: only on a TTY, never with `NO_COLOR` set (https://no-color.org),
 * always with `FORCE_COLOR` set (to anything but empty, 0 or false).
 *
 * @param stream - the output stream
 * @param env - the environment
 * @returns true to colour
 */
export function shouldUseColor(
  stream: { isTTY?: boolean },
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

function wrap(text: string, width: number, indent: string): string {
  const words = text.split(/\s+/).filter((word) => word.length > 0);
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line.length > 0 && indent.length + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line.length === 0 ? word : `${line} ${word}`;
    }
  }
  if (line.length > 0) lines.push(line);
  return lines.map((item) => `${indent}${item}`).join('\n');
}

function paint(text: string, code: string, color: boolean): string {
  return color ? `${code}${text}${ANSI.reset}` : text;
}

function renderCheck(check: CheckResult, options: RenderOptions): string {
  const width = options.width ?? 100;
  const head = `${paint(MARK[check.status], `${ANSI.bold}${COLOR[check.status]}`, options.color)}  ${paint(check.title, ANSI.bold, options.color)} ${paint(`[${check.id}]`, ANSI.dim, options.color)}`;
  const lines = [head, wrap(check.evidence, width, '      ')];
  if (check.fix.length > 0 && check.status !== 'pass') lines.push(wrap(`Fix: ${check.fix}`, width, '      '));
  return lines.join('\n');
}

function renderTable(checks: readonly CheckResult[], color: boolean): string {
  const idWidth = Math.max(5, ...checks.map((check) => check.id.length));
  const rows = [`${'STATUS'.padEnd(8)}${'CHECK'.padEnd(idWidth + 2)}TITLE`];
  for (const check of checks) {
    const status = paint(MARK[check.status].padEnd(8), COLOR[check.status], color);
    rows.push(`${status}${check.id.padEnd(idWidth + 2)}${check.title}`);
  }
  return rows.join('\n');
}

/**
 * Renders the report.
 *
 * @param report - the diagnosis
 * @param options - colour, width and the target line
 * @returns the text, ending with a newline
 */
export function renderReport(report: DiagnosisReport, options: RenderOptions): string {
  const counts = { pass: 0, warn: 0, fail: 0 };
  for (const check of report.checks) counts[check.status] += 1;
  const parts = [paint('streamwell doctor', ANSI.bold, options.color)];
  if (options.target !== undefined) parts[0] += `  ${options.target}`;
  parts.push('', ...report.checks.map((check) => `${renderCheck(check, options)}\n`));
  parts.push(paint('Summary', ANSI.bold, options.color), renderTable(report.checks, options.color), '');
  const verdict = report.ok
    ? paint('OK', `${ANSI.bold}${ANSI.green}`, options.color)
    : paint('PROBLEMS FOUND', `${ANSI.bold}${ANSI.red}`, options.color);
  parts.push(
    `${report.checks.length} checks: ${counts.pass} pass, ${counts.warn} warn, ${counts.fail} fail. ${verdict}`,
  );
  return `${parts.join('\n')}\n`;
}
