/**
 * Progress lines on stderr (stdout stays free for machine output); coloured on a TTY.
 *
 * @module
 */

const colour = process.stderr.isTTY && !process.env.NO_COLOR;
const paint = (code: string, text: string): string => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
const started = Date.now();

function stamp(): string {
  return paint('2', `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s]`);
}

/** A progress line. */
export function info(message: string): void {
  process.stderr.write(`${stamp()} ${message}\n`);
}

/** A scenario heading. */
export function heading(message: string): void {
  process.stderr.write(`${stamp()} ${paint('1;36', `== ${message}`)}\n`);
}

/** A good outcome. */
export function ok(message: string): void {
  process.stderr.write(`${stamp()} ${paint('32', message)}\n`);
}

/** A warning that does not stop the run. */
export function warn(message: string): void {
  process.stderr.write(`${stamp()} ${paint('33', `warning: ${message}`)}\n`);
}

/** A failure. */
export function fail(message: string): void {
  process.stderr.write(`${stamp()} ${paint('31', `error: ${message}`)}\n`);
}
