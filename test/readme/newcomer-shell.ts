/**
 * Runs README commands the way a newcomer's terminal would: through `sh`, in the clone, with an
 * environment that carries nothing of the test run (no `npm_*` variables of the outer `npm test`,
 * no `node_modules/.bin` of the outer checkout on `PATH`, no provider keys).
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';

/** What a command printed and how it exited. */
export interface ShellOutcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Variables a newcomer's shell has that matter here; everything else is left out. */
const KEPT = [
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LC_ALL',
  'TMPDIR',
  'CI',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
];

/**
 * The environment of a fresh terminal: the outer checkout's bins are off `PATH`, so a command
 * that only works there (say, a `streamwell` linked in the outer checkout) fails here as it would
 * for a newcomer.
 *
 * @param extra - variables to add (the test's `PORT`)
 * @returns the environment
 */
export function newcomerEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of KEPT) if (process.env[name] !== undefined) env[name] = process.env[name];
  env.PATH = (process.env.PATH ?? '')
    .split(':')
    .filter((entry) => entry !== '' && !entry.includes('node_modules'))
    .join(':');
  return { ...env, NO_COLOR: '1', ...extra };
}

/** A command started with {@link startShell}: its output so far, and how to stop it and its children. */
export interface RunningShell {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<ShellOutcome>;
  /** SIGTERM to the command's whole process group, then SIGKILL if it is still there. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts a command line under `sh -c` in its own process group.
 *
 * @param line - the command, as written
 * @param options - working directory and environment
 * @returns the running command
 */
export function startShell(line: string, options: { cwd: string; env: NodeJS.ProcessEnv }): RunningShell {
  const child = spawn('sh', ['-c', line], {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  // 'close' comes once every process holding the output pipes is gone: the whole tree.
  let closed = false;
  const exited = new Promise<ShellOutcome>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      closed = true;
      resolve({ code, stdout, stderr });
    });
  });
  const signalGroup = (signal: NodeJS.Signals): void => {
    if (closed) return;
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // The group is gone already.
    }
  };
  return {
    child,
    output: () => `${stdout}${stderr}`,
    exited,
    async stop(graceMs = 15_000) {
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      await exited.catch(() => undefined);
      clearTimeout(timer);
    },
  };
}

/**
 * Runs a command line to its end.
 *
 * @param line - the command, as written
 * @param options - working directory, environment, and when to give up
 * @returns exit code and output
 */
export async function runShell(
  line: string,
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<ShellOutcome> {
  const running = startShell(line, options);
  const timer = setTimeout(() => void running.stop(1_000), options.timeoutMs);
  try {
    return await running.exited;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The end of a command's output, for an assertion message.
 *
 * @param outcome - what the command printed
 * @returns its last 3000 characters, stdout then stderr
 */
export function tail(outcome: ShellOutcome): string {
  return `exit ${outcome.code}\n${outcome.stdout}${outcome.stderr}`.slice(-3000);
}
