#!/usr/bin/env node
/**
 * The `streamwell` command: `stream` (print a streamed reply, resuming after drops) and
 * `doctor` (the troubleshooting checklist against a live endpoint).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { runStreamCommand } from './stream.ts';

const USAGE = `Usage: streamwell <command> [options]

Commands:
  stream <url> [-m TEXT] [--json] [--raw] [--no-reconnect] [-H 'Name: value']...
                 print a streamed reply (or any SSE stream with --raw), resuming after drops
  doctor <url> [--origin O] [--ws URL] [-m TEXT] [--provider] [--json]
                 run the streaming checklist against a live endpoint

Options:
  -h, --help     show this help (also: streamwell <command> --help)
  -V, --version  show the version`;

function version(): string {
  // src/cli/main.ts and dist/cli/main.js both sit two levels below the package root.
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/** True when the doctor module itself is missing (not something it imports). */
function isMissingDoctor(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
  return (
    missing && typeof message === 'string' && /doctor[\\/]index\.[jt]s/.test(message.split(' imported from ')[0] ?? '')
  );
}

async function runDoctor(argv: string[]): Promise<number> {
  let doctor: { runDoctorCommand(argv: string[]): Promise<number> };
  try {
    doctor = await import('./doctor/index.ts');
  } catch (error) {
    if (!isMissingDoctor(error)) throw error;
    process.stderr.write('streamwell: doctor is not built yet.\n');
    return 1;
  }
  return doctor.runDoctorCommand(argv);
}

/**
 * Runs the command line.
 *
 * @param argv - the arguments after the program name
 * @returns the exit code
 */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    (command === undefined ? process.stderr : process.stdout).write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command === '-V' || command === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (command === 'stream') {
    const controller = new AbortController();
    // First Ctrl-C: stop the stream on the server and exit; a second one exits at once.
    const onInterrupt = (): void => {
      if (controller.signal.aborted) process.exit(130);
      controller.abort('interrupted');
    };
    // The reader of a pipe went away (`streamwell stream ... | head`): nobody reads the reply, so
    // stop it on the server and exit as a command killed by SIGPIPE does (128 + 13), without a
    // stack trace. Any other write error is a real failure and stays one.
    let stdoutClosed = false;
    const onStdoutError = (error: NodeJS.ErrnoException): void => {
      if (error.code !== 'EPIPE') throw error;
      if (stdoutClosed) return;
      stdoutClosed = true;
      controller.abort('stdout closed');
    };
    process.on('SIGINT', onInterrupt);
    process.stdout.on('error', onStdoutError);
    try {
      const code = await runStreamCommand(rest, {
        stdout: process.stdout,
        stderr: process.stderr,
        env: process.env,
        signal: controller.signal,
      });
      if (stdoutClosed) return 141;
      return controller.signal.aborted ? 130 : code;
    } finally {
      // `onStdoutError` stays: the reply's last bytes may still be flushing when this returns, and
      // an EPIPE then must not turn into an unhandled 'error' with a stack trace.
      process.off('SIGINT', onInterrupt);
    }
  }
  if (command === 'doctor') return runDoctor(rest);
  process.stderr.write(`streamwell: unknown command ${JSON.stringify(command)}\n\n${USAGE}\n`);
  return 2;
}

const code = await main(process.argv.slice(2));
// Exit once stdout is flushed (a pipe may still hold the reply), without waiting for idle
// keep-alive sockets.
process.stdout.write('', () => process.exit(code));
