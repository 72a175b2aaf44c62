/**
 * Deterministic cost: instructions the library executes per relayed token, counted by
 * `valgrind --tool=callgrind` (perf-anchors G13). Times swing ±10 % between runs on a shared VM;
 * an instruction count of the same build, input and Node repeats to ~0.3 %, so it can tell a 3 %
 * change from noise and guard against regressions.
 *
 * What is counted: `bench/src/instructions/core-loop.mjs` on the built package — the HTTP core,
 * the registry and run, the OpenAI-compatible provider's batch path (behind a stand-in undici
 * dispatcher that hands it real Chat Completions chunks, one per event-loop turn) and the SSE
 * connection — with V8 made repeatable (`--predictable`, fixed hash and random seeds). The
 * whole-server variant (the reference server under callgrind, fed over loopback) was tried
 * first: identical windows of 180 tokens ranged from 51 to 204 million instructions (collections
 * and JIT tier-ups of a live server land anywhere), which is useless at 5 %. Start-up and a
 * warm-up of 200 streams run with instrumentation off; `callgrind_control` switches it on for the
 * measured loop of 100 streams of 60 tokens, which ends with a full collection, so its garbage is
 * paid for inside the count. The figure is that count per relayed token: per-token work plus the
 * per-stream work and collections that a 60-token reply carries. (Splitting it into a per-token
 * and a per-stream part from loops of other sizes was tried and dropped: the collector's work
 * does not scale linearly with loop size, so the parts came out inconsistent.)
 *
 * `npm run bench -- --only instructions` runs it; CI (`--quick`) compares the result with
 * `bench/callgrind-baseline.json` and fails on more than 5 % growth, when the Node version matches
 * the baseline's (another V8 executes other code).
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, trackProcess } from '../lib/child.ts';
import { heading, info, warn } from '../lib/log.ts';
import type { BenchContext } from './context.ts';

/** One callgrind run. */
export interface InstructionRun {
  readonly streams: number;
  readonly tokensPerStream: number;
  /** Instructions executed (Ir), whole process. */
  readonly instructions: number;
  readonly seconds: number;
}

/** Result of the scenario. */
export interface InstructionsResult {
  readonly available: boolean;
  /** Why it did not run (valgrind or the build missing). */
  readonly reason?: string;
  readonly node: string;
  /** Instructions per relayed token of 60-token replies, per-stream work and collections included. */
  readonly perTokenAt60?: number;
  readonly runs: InstructionRun[];
  /** The committed baseline, when the Node version matches it. */
  readonly baseline?: InstructionBaseline;
  /** perTokenAt60 ÷ the baseline's (1.05 = 5 % more instructions). */
  readonly ratioToBaseline?: number;
}

/** `bench/callgrind-baseline.json`. */
export interface InstructionBaseline {
  readonly node: string;
  readonly perTokenAt60: number;
  /** The commit whose build was measured. */
  readonly commit: string;
  readonly date: string;
}

/** Most growth of instructions per token over the baseline before the run fails (G13). */
export const REGRESSION_BUDGET = 1.05;

const LOOP = 'bench/src/instructions/core-loop.mjs';
/** The measured loop: 100 streams of 60 tokens (about 12 s under callgrind). */
const STREAMS = 100;
const TOKENS = 60;
const BUILT = 'packages/streamwell/dist/server/index.js';

/** Where the baseline lives (the same loop runs in quick and full mode). */
export const BASELINE_FILE = 'bench/callgrind-baseline.json';

/**
 * Reads the committed baseline, if it was made with the running Node version.
 *
 * @returns the baseline, or undefined
 */
export function readBaseline(): InstructionBaseline | undefined {
  try {
    const baseline = JSON.parse(readFileSync(join(REPO_ROOT, BASELINE_FILE), 'utf8')) as InstructionBaseline;
    return baseline.node === process.version ? baseline : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stores a run's counts as the baseline (`--update-baseline`).
 *
 * @param result - a run with counts
 * @returns the file written
 */
export function writeBaseline(result: InstructionsResult): string {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  } catch {
    // not a checkout
  }
  const baseline: InstructionBaseline = {
    node: result.node,
    perTokenAt60: Math.round(result.perTokenAt60 ?? 0),
    commit,
    date: new Date().toISOString().slice(0, 10),
  };
  writeFileSync(join(REPO_ROOT, BASELINE_FILE), `${JSON.stringify(baseline, null, 2)}\n`);
  return BASELINE_FILE;
}

/** True when valgrind can be run. */
function hasValgrind(): boolean {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs the scenario.
 *
 * @param context - the run (its mock upstream and options)
 * @returns instruction counts, or `available: false` with the reason
 */
export async function runInstructions(context: BenchContext): Promise<InstructionsResult> {
  heading('instructions per relayed token (callgrind)');
  const node = process.version;
  if (!hasValgrind()) {
    const reason = 'valgrind is not installed (sudo apt-get install -y valgrind)';
    if (process.env.CI === 'true') throw new Error(`${reason}: required under CI`);
    warn(`${reason}: skipping`);
    return { available: false, reason, node, runs: [] };
  }
  if (!existsSync(join(REPO_ROOT, BUILT))) {
    const reason = `${BUILT} is missing (npm run build)`;
    if (process.env.CI === 'true') throw new Error(reason);
    warn(`${reason}: skipping`);
    return { available: false, reason, node, runs: [] };
  }
  const run = await measure(STREAMS, TOKENS);
  context.integrity.tokens += STREAMS * TOKENS;
  const perTokenAt60 = run.instructions / (STREAMS * TOKENS);
  info(
    `  ${STREAMS} streams × ${TOKENS} tokens: ${run.instructions.toLocaleString('en-US')} instructions (${run.seconds.toFixed(1)} s under callgrind): ${Math.round(perTokenAt60).toLocaleString('en-US')} per relayed token`,
  );
  const runs = [run];
  const baseline = readBaseline();
  if (baseline === undefined) {
    info(`  no baseline for Node ${node} in ${BASELINE_FILE}`);
    return { available: true, node, perTokenAt60, runs };
  }
  const ratioToBaseline = Math.round((perTokenAt60 / baseline.perTokenAt60) * 1000) / 1000;
  info(`  ${ratioToBaseline}× the baseline of ${baseline.commit} (budget ${REGRESSION_BUDGET}×)`);
  return { available: true, node, perTokenAt60, runs, baseline, ratioToBaseline };
}

/** Runs one measured loop under callgrind and returns its instruction count. */
async function measure(streams: number, tokens: number): Promise<InstructionRun> {
  const started = performance.now();
  // callgrind_control finds the process through files named after USER and HOST: both sides
  // must see the same environment.
  const env = { ...process.env };
  delete env.HOST;
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      `--callgrind-out-file=${join(tmpdir(), `streamwell-callgrind-${process.pid}.out`)}`,
      process.execPath,
      '--predictable',
      '--hash-seed=1',
      '--random-seed=1',
      '--expose-gc',
      LOOP,
      String(streams),
      String(tokens),
      '--wait',
    ],
    { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  trackProcess(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const lines = readLines(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const ready = await lines.next(120_000);
    if (ready !== 'ready') throw new Error(`the loop did not start: ${ready ?? ''} ${stderr}`);
    control(env, child.pid, ['-i', 'on']);
    control(env, child.pid, ['-z']);
    child.stdin?.write('go\n');
    const done = await lines.next(300_000);
    const match = /^done (\d+)$/.exec(done ?? '');
    if (!match) throw new Error(`the loop failed: ${done ?? ''} ${stderr}`);
    const expected = streams * expectedBytesPerStream(tokens);
    if (Number(match[1]) < expected) throw new Error(`the loop wrote ${match[1]} bytes, expected ≥ ${expected}`);
    const counters = control(env, child.pid, ['-e', 'Ir']);
    const instructions = [...counters.matchAll(/Th \d+\s+([\d,]+)/g)].reduce(
      (sum, entry) => sum + Number((entry[1] as string).replaceAll(',', '')),
      0,
    );
    if (instructions === 0) throw new Error(`callgrind_control reported no counters: ${counters}`);
    return { streams, tokensPerStream: tokens, instructions, seconds: (performance.now() - started) / 1000 };
  } finally {
    child.stdin?.end('end\n');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    rmSync(join(tmpdir(), `streamwell-callgrind-${process.pid}.out`), { force: true });
  }
}

/** Every token frame is at least this long; a loop that wrote less lost frames. */
function expectedBytesPerStream(tokens: number): number {
  return tokens * 'id: 1\nevent: token\ndata: {"token":" ~0:1000000000~"}\n\n'.length;
}

function control(env: NodeJS.ProcessEnv, pid: number | undefined, args: readonly string[]): string {
  return execFileSync('callgrind_control', [...args, String(pid)], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}

/** Lines of a child's stdout, one at a time. */
function readLines(child: ChildProcess): { next(timeoutMs: number): Promise<string | undefined> } {
  const queue: string[] = [];
  let waiting: ((line: string | undefined) => void) | undefined;
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let end = buffer.indexOf('\n');
    while (end !== -1) {
      const line = buffer.slice(0, end).trim();
      buffer = buffer.slice(end + 1);
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        resolve(line);
      } else {
        queue.push(line);
      }
      end = buffer.indexOf('\n');
    }
  });
  child.once('exit', () => waiting?.(undefined));
  return {
    next(timeoutMs) {
      const line = queue.shift();
      if (line !== undefined) return Promise.resolve(line);
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(undefined), timeoutMs);
        waiting = (value) => {
          clearTimeout(timer);
          resolve(value);
        };
      });
    },
  };
}
