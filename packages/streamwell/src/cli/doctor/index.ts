/**
 * `streamwell doctor`: the troubleshooting guide's checklists, run against a live endpoint.
 * The CLI entry (`cli/main.ts`) calls {@link runDoctorCommand}.
 *
 * @module
 */
import { isStreamwellError } from '../../errors/index.ts';
import { createProgress } from './create-progress.ts';
import { DOCTOR_USAGE, parseDoctorArgs } from './parse-doctor-args.ts';
import { renderReport, shouldUseColor } from './render-report.ts';
import { runDoctor } from './run-doctor.ts';

export { type DoctorArguments, parseDoctorArgs } from './parse-doctor-args.ts';
export { type DoctorOptions, type DoctorProgress, type DoctorReport, runDoctor } from './run-doctor.ts';

/** Wrap width: the terminal's, within reason (a pseudo-terminal may report 0 columns). */
function reportWidth(columns: number | undefined): number {
  return columns !== undefined && columns >= 60 ? Math.min(columns, 120) : 100;
}

/** Where the command writes; `process.stdout`/`process.stderr` by default. */
export interface DoctorIo {
  readonly stdout: { isTTY?: boolean; write(text: string): unknown };
  readonly stderr: { isTTY?: boolean; write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * Runs `streamwell doctor ...`.
 *
 * @param argv - the arguments after `doctor`
 * @param io - output streams and environment (tests pass their own)
 * @returns the exit code: 0 when no check failed, 1 when one did, 2 for a usage error
 */
export async function runDoctorCommand(
  argv: string[],
  io: DoctorIo = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  let parsed: ReturnType<typeof parseDoctorArgs>;
  try {
    parsed = parseDoctorArgs(argv);
  } catch (error) {
    if (!isStreamwellError(error)) throw error;
    io.stderr.write(`streamwell doctor: ${error.message}\n\n${DOCTOR_USAGE}\n`);
    return 2;
  }
  if (parsed.help) {
    io.stdout.write(`${DOCTOR_USAGE}\n`);
    return 0;
  }
  const progress = createProgress(io.stderr, { quiet: parsed.quiet });
  const options = { ...parsed.options, env: io.env };
  let report: Awaited<ReturnType<typeof runDoctor>>;
  try {
    report = await runDoctor(options, progress);
  } finally {
    progress.stop();
  }
  if (parsed.json) {
    io.stdout.write(`${JSON.stringify({ ok: report.ok, checks: report.checks })}\n`);
  } else {
    const request = report.request;
    const probed = request?.probed === true ? ' (probe message: GET answered 405)' : '';
    io.stdout.write(
      renderReport(report, {
        color: shouldUseColor(io.stdout, io.env),
        width: reportWidth((io.stdout as { columns?: number }).columns),
        ...(request === undefined ? {} : { target: `${request.method} ${request.url}${probed}` }),
      }),
    );
  }
  return report.ok ? 0 : 1;
}
