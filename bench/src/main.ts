/**
 * `npm run bench [-- --quick] [--only a,b] [--peers a,b] [--out file] [--profile] [--no-docs] [--update-baseline]`
 * `npm run bench -- --report [file]`
 *
 * Runs streamwell side by side with its peers against one mock upstream: the mock and the load
 * generator on core 0, each gateway pinned to core 1. Writes the results as JSON
 * (`bench/results/latest.json`; `latest-quick.json` with `--quick`; `partial.json` when `--only`
 * or `--peers` picks a subset) and, for a full run, `docs/benchmarks.md` with one SVG chart per
 * scenario under `docs/bench/`. It first brings the build up to date (`tsc -b`): streamwell runs
 * as built JavaScript, as `npm start` runs it. The `streamwell-redis` peer uses the Redis server
 * at `BENCH_REDIS_URL` (default `redis://127.0.0.1:6379`) under a key prefix of its own, deleted
 * afterwards; without one it is left out (under `CI=true` the run fails). Progress goes to
 * stderr. Exits 1 when any sequence check failed (a lost or duplicated token) or a stream erred;
 * timings never fail the run.
 *
 * `--report` measures nothing: it renders `docs/benchmarks.md` and its charts again from a results
 * file (`bench/results/latest.json` unless one is named), for a change to the report's wording or
 * verdicts; the numbers stay those of the run that made the file.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { checkSharedClock } from './lib/check-shared-clock.ts';
import { canPin, killAllChildren, REPO_ROOT, startChild } from './lib/child.ts';
import { fail, heading, info, ok, warn } from './lib/log.ts';
import { type BenchRedis, connectBenchRedis, DEFAULT_BENCH_REDIS_URL } from './peers/bench-redis.ts';
import { nginxVersion } from './peers/nginx.ts';
import { PEER_IDS, PEERS, type PeerId } from './peers/peers.ts';
import { type Results, writeReport } from './report/write-report.ts';
import { runBulk } from './scenarios/bulk.ts';
import { type BenchContext, type BenchOptions, routeMarks } from './scenarios/context.ts';
import { runCrossResume } from './scenarios/cross-resume.ts';
import { runFragmentation } from './scenarios/fragmentation.ts';
import { runIdle } from './scenarios/idle.ts';
import {
  type InstructionsResult,
  REGRESSION_BUDGET,
  runInstructions,
  writeBaseline,
} from './scenarios/instructions.ts';
import { runMemory } from './scenarios/memory.ts';
import { runParser } from './scenarios/parser.ts';
import { runResume } from './scenarios/resume.ts';
import { runSaturation } from './scenarios/saturation.ts';
import { runSlowClients } from './scenarios/slow-clients.ts';
import { runSweep } from './scenarios/sweep.ts';
import { runTtft } from './scenarios/ttft.ts';
import { runWorkers } from './scenarios/workers.ts';

const SCENARIOS = {
  ttft: runTtft,
  sweep: runSweep,
  memory: runMemory,
  saturation: runSaturation,
  workers: runWorkers,
  bulk: runBulk,
  idle: runIdle,
  resume: runResume,
  'cross-resume': runCrossResume,
  'slow-clients': runSlowClients,
  fragmentation: runFragmentation,
  parser: runParser,
  instructions: runInstructions,
} as const;
type ScenarioId = keyof typeof SCENARIOS;

interface Args {
  quick: boolean;
  only: ScenarioId[];
  peers: PeerId[];
  out: string;
  profile: boolean;
  docs: boolean;
  /** Write the instruction counts of this run as the committed baseline of its mode. */
  updateBaseline: boolean;
}

/** Where a run writes its results unless `--out` says otherwise. */
function resultsFile(quick: boolean, partial: boolean): string {
  return join(REPO_ROOT, 'bench/results', quick ? 'latest-quick.json' : partial ? 'partial.json' : 'latest.json');
}

function parseArgs(argv: readonly string[]): Args {
  const value = (name: string): string | undefined => {
    const index = argv.findIndex((arg) => arg === `--${name}` || arg.startsWith(`--${name}=`));
    if (index < 0) return undefined;
    const arg = argv[index] as string;
    return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[index + 1];
  };
  const quick = argv.includes('--quick');
  const only = (value('only')?.split(',') ?? Object.keys(SCENARIOS)) as ScenarioId[];
  for (const id of only)
    if (!(id in SCENARIOS)) throw new Error(`unknown scenario "${id}"; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const peers = (value('peers')?.split(',') ?? [...PEER_IDS]) as PeerId[];
  for (const id of peers)
    if (!PEER_IDS.includes(id)) throw new Error(`unknown peer "${id}"; known: ${PEER_IDS.join(', ')}`);
  if (!peers.includes('direct')) peers.unshift('direct');
  // A run of some scenarios or some peers must not overwrite the full run's results and report.
  const partial = value('only') !== undefined || value('peers') !== undefined;
  const out = resolve(value('out') ?? resultsFile(quick, partial));
  return {
    quick,
    only,
    peers,
    out,
    profile: argv.includes('--profile'),
    docs: !argv.includes('--no-docs') && !quick && !partial,
    updateBaseline: argv.includes('--update-baseline'),
  };
}

function nginxUsable(): string | undefined {
  const version = nginxVersion();
  if (version) return version;
  let aptDone = false;
  try {
    aptDone = readFileSync('/tmp/apt.log', 'utf8').includes('apt exit 0');
  } catch {
    // no apt log: a laptop
  }
  const hint = 'install it with: sudo apt-get install -y nginx';
  if (process.env.CI === 'true') throw new Error(`nginx is missing under CI (${hint})`);
  warn(
    `nginx not found at /usr/sbin/nginx${aptDone ? '' : ' (apt may still be installing it)'}: skipping the nginx peer; ${hint}`,
  );
  return undefined;
}

/** The Redis server of the `streamwell-redis` peer, or undefined (then the peer is left out). */
async function redisUsable(): Promise<BenchRedis | undefined> {
  const url = process.env.BENCH_REDIS_URL ?? DEFAULT_BENCH_REDIS_URL;
  const redis = await connectBenchRedis(url);
  if (redis) return redis;
  const hint = 'start one (redis-server --port 6379 --save "") or name it with BENCH_REDIS_URL';
  if (process.env.CI === 'true') throw new Error(`no Redis server answers at ${url} under CI (${hint})`);
  warn(`no Redis server answers at ${url}: skipping the streamwell-redis peer; ${hint}`);
  return undefined;
}

function environment(args: Args, nginx: string | undefined, redis: BenchRedis | undefined) {
  const cpu = cpus()[0]?.model ?? 'unknown';
  let kernel = 'unknown';
  try {
    kernel = execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim();
  } catch {
    // not fatal
  }
  return {
    node: process.version,
    cpu,
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    kernel,
    pinned: canPin() && cpus().length >= 2,
    nginx: nginx ?? 'absent',
    redis: redis?.info ?? 'absent',
    mode: args.quick ? 'quick' : 'full',
  };
}

/** `--report [file]`: renders the docs from a results file; returns the exit code. */
function renderOnly(argv: readonly string[]): number {
  const next = argv[argv.indexOf('--report') + 1];
  const file = resolve(next !== undefined && !next.startsWith('--') ? next : resultsFile(false, false));
  const results = JSON.parse(readFileSync(file, 'utf8')) as Results;
  info(`report from ${file} (measured ${results.startedAt}); nothing is measured`);
  info(`report: ${writeReport(results, REPO_ROOT).join(', ')}`);
  return 0;
}

async function main(): Promise<number> {
  if (process.argv.includes('--report')) return renderOnly(process.argv.slice(2));
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  // streamwell is measured as built (apps/server/dist and the package's dist): bring them up to
  // date first, so that a run never measures yesterday's code. Incremental: ~1 s when current.
  info('building the library and the reference server (tsc -b)');
  execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const nginx = args.peers.includes('nginx') ? nginxUsable() : undefined;
  const redis = args.peers.includes('streamwell-redis') ? await redisUsable() : undefined;
  const peers = args.peers.filter(
    (id) => (id !== 'nginx' || nginx !== undefined) && (id !== 'streamwell-redis' || redis !== undefined),
  );
  const missing = args.peers.filter((id) => !peers.includes(id));
  if (missing.length > 0 && args.out === resultsFile(false, false)) {
    // The report compares every peer; a run without the C floor or the Redis store must not replace it.
    args.out = resultsFile(false, true);
    args.docs = false;
    warn(
      `without ${missing.join(' and ')} this full run is written as a partial run (bench/results/partial.json); the report is left alone`,
    );
  }
  const pinned = canPin() && cpus().length >= 2;
  if (!pinned) warn('taskset or a second core is missing: processes are not pinned; numbers are indicative only');
  if (redis)
    info(`Redis ${redis.info.version} at ${redis.url}, on cores ${redis.info.cores}; keys under ${redis.info.prefix}`);
  if (pinned) execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  const env = environment(args, nginx, redis);
  heading(
    `streamwell bench (${env.mode}): ${env.cores} cores, ${env.cpu}, Node ${env.node}, peers ${peers.join(', ')}`,
  );
  const options: BenchOptions = {
    quick: args.quick,
    peers,
    gatewayCore: pinned ? 1 : undefined,
    harnessCore: pinned ? 0 : undefined,
    profileDir: args.profile ? join(REPO_ROOT, 'bench/results/profiles') : undefined,
  };
  const mock = await startChild({ name: 'mock', script: 'bench/src/mock/mock-upstream.ts', core: options.harnessCore });
  const loadgen = await startChild({
    name: 'loadgen',
    script: 'bench/src/loadgen/loadgen.ts',
    core: options.harnessCore,
  });
  routeMarks(loadgen);
  const clock = await checkSharedClock(mock);
  if (!clock.ok)
    throw new Error('the mock and the orchestrator do not share CLOCK_MONOTONIC: per-token delays would be wrong');
  info(`shared CLOCK_MONOTONIC verified (${clock.samples} samples, round trip ≤ ${clock.maxRoundTripUs} µs)`);
  const context: BenchContext = {
    options,
    mock,
    loadgen,
    integrity: { lost: 0, duplicated: 0, errors: 0, tokens: 0, notes: [] },
    redis,
  };
  const scenarios: Record<string, unknown> = {};
  try {
    for (const id of args.only) {
      try {
        scenarios[id] = await SCENARIOS[id](context);
      } catch (error) {
        fail(`scenario ${id} failed: ${error instanceof Error ? error.stack : String(error)}`);
        context.integrity.errors += 1;
        context.integrity.notes.push(
          `scenario ${id} failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  } finally {
    await Promise.all([mock.stop(), loadgen.stop()]);
    // Each streamwell-redis peer deletes its keys when it stops; this catches a peer that crashed.
    if (redis) await redis.clear(redis.info.prefix).then(() => redis.close());
  }
  const results = {
    version: 1,
    startedAt: new Date(started).toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    environment: { ...env, clock },
    peers: Object.fromEntries(peers.map((id) => [id, PEERS[id]])),
    integrity: context.integrity,
    scenarios,
  };
  const measured = scenarios.instructions as InstructionsResult | undefined;
  if (args.updateBaseline && measured?.available === true) {
    const file = writeBaseline(measured);
    info(`baseline: ${file}`);
  }
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(results, null, 1)}\n`);
  info(`results: ${args.out}`);
  if (args.docs) {
    const written = writeReport(results, REPO_ROOT);
    info(`report: ${written.join(', ')}`);
  }
  const integrity = context.integrity;
  heading(`done in ${results.durationSeconds} s: ${integrity.tokens} tokens checked`);
  if (integrity.lost + integrity.duplicated + integrity.errors > 0) {
    fail(`integrity: lost ${integrity.lost}, duplicated ${integrity.duplicated}, errors ${integrity.errors}`);
    for (const note of integrity.notes) fail(`  ${note}`);
    return 1;
  }
  ok('integrity: no lost or duplicated token, no stream error');
  // G13: the one deterministic number may fail the run; wall-clock numbers never do.
  const instructions = scenarios.instructions as { ratioToBaseline?: number } | undefined;
  if (
    !args.updateBaseline &&
    instructions?.ratioToBaseline !== undefined &&
    instructions.ratioToBaseline > REGRESSION_BUDGET
  ) {
    fail(
      `instructions per relayed token are ${instructions.ratioToBaseline}× the committed baseline (budget ${REGRESSION_BUDGET}×): a hot-path regression, or refresh bench/callgrind-baseline.json with npm run bench -- --only instructions --update-baseline if it is intended`,
    );
    return 1;
  }
  return 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

main().then(
  (code) => {
    killAllChildren();
    process.exitCode = code;
  },
  (error: unknown) => {
    fail(error instanceof Error ? (error.stack ?? error.message) : String(error));
    killAllChildren();
    process.exitCode = 1;
  },
);
