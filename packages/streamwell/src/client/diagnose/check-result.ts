/**
 * The result shape every diagnosis check returns, shared by `streamwell doctor` (CLI) and the
 * browser's {@link diagnoseEndpoint}. `--json` prints exactly these fields.
 *
 * @module
 */

/** A check's verdict. `warn` does not fail the run; `fail` does. */
export type CheckStatus = 'pass' | 'warn' | 'fail';

/** One check of the troubleshooting checklist, with what it measured and how to fix it. */
export interface CheckResult {
  /** Stable id, e.g. `content-type`, `buffering`, `cors`. */
  readonly id: string;
  /** A short human title. */
  readonly title: string;
  readonly status: CheckStatus;
  /** What was measured or seen, in one or two sentences with numbers. */
  readonly evidence: string;
  /** What to change; empty when the check passed and nothing needs doing. */
  readonly fix: string;
}

/** A whole diagnosis: `ok` is true when no check failed (warnings allowed). */
export interface DiagnosisReport {
  readonly ok: boolean;
  readonly checks: readonly CheckResult[];
}

/**
 * Builds a check result; `fix` defaults to an empty string.
 *
 * @param id - the stable check id
 * @param title - the human title
 * @param status - the verdict
 * @param evidence - what was measured
 * @param fix - how to fix it
 * @returns the result
 *
 * @internal
 */
export function createCheckResult(
  id: string,
  title: string,
  status: CheckStatus,
  evidence: string,
  fix = '',
): CheckResult {
  return { id, title, status, evidence, fix };
}

/**
 * Wraps checks in a report whose `ok` is true when none failed.
 *
 * @param checks - the results, in display order
 * @returns the report
 *
 * @internal
 */
export function createDiagnosisReport(checks: readonly CheckResult[]): DiagnosisReport {
  return { ok: checks.every((check) => check.status !== 'fail'), checks };
}

/**
 * Formats milliseconds for evidence text: `850 ms`, `12.3 s`.
 *
 * @param milliseconds - a duration
 * @returns the text
 *
 * @internal
 */
export function formatMs(milliseconds: number): string {
  if (milliseconds < 10_000) return `${Math.round(milliseconds)} ms`;
  return `${(milliseconds / 1000).toFixed(1)} s`;
}
