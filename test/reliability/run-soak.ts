/**
 * `npm run soak`: the reliability suites at their full sizes (`STREAMWELL_SOAK=1`), one file at a
 * time so that each measures the machine alone, with a summary of their figures at the end.
 *
 * 1. Checks the system parts the suites use (Redis, PostgreSQL, nginx on loopback, the descriptor
 *    limit) and says which are up; a missing one makes its suites skip loudly, or, under
 *    `CI=true`, fails here before minutes are spent.
 * 2. Runs `vitest run --project node --no-file-parallelism test/reliability` (or the files given:
 *    `npm run soak -- test/reliability/soak.test.ts`), printing the elapsed time every minute
 *    besides vitest's own output and the suites' progress lines.
 * 3. Gathers the figures the suites wrote to `test/reliability/.results/NAME.json` during this run
 *    into `test/reliability/.results/summary.json` and prints them. Exits with vitest's status.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { redisPart } from '../helpers/redis.ts';
import { nginxPart, postgresPart, type SystemPart } from '../helpers/system-part.ts';
import { RESULTS_DIR } from './helpers/soak-results.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** What the 1,000-stream soak needs in each of the client and the server (see soak.test.ts). */
const DESCRIPTORS_WANTED = 2500;

function say(line: string): void {
  process.stdout.write(`[npm run soak] ${line}\n`);
}

function descriptorLimit(): string {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  return /^Max open files\s+(\S+)/m.exec(limits)?.[1] ?? 'unknown';
}

/** Checks each part (each check may throw under CI=true: then this command fails at once). */
function checkParts(): void {
  const parts: Array<[string, () => SystemPart]> = [
    ['Redis 127.0.0.1:6379', redisPart],
    ['PostgreSQL 127.0.0.1:5432', postgresPart],
    ['nginx', nginxPart],
  ];
  for (const [name, check] of parts) {
    const part = check();
    say(`${name}: ${part.available ? 'up' : `MISSING, its suites skip (${part.reason})`}`);
  }
  const limit = descriptorLimit();
  const enough = limit === 'unlimited' || Number(limit) >= DESCRIPTORS_WANTED;
  if (!enough && process.env.CI === 'true') {
    throw new Error(`[system part missing under CI] open-files limit ${limit} < ${DESCRIPTORS_WANTED}: ulimit -n 4096`);
  }
  say(
    `open-files limit (ulimit -n): ${limit}${enough ? '' : ` — below ${DESCRIPTORS_WANTED}: the soak skips; run ulimit -n 4096 first`}`,
  );
}

function minutes(milliseconds: number): string {
  return `${(milliseconds / 60_000).toFixed(1)} min`;
}

async function main(): Promise<number> {
  const startedAt = new Date();
  say(`full sizes (STREAMWELL_SOAK=1), one file at a time; this takes a while (${startedAt.toISOString()})`);
  checkParts();
  const files = process.argv.slice(2);
  const args = [
    'vitest',
    'run',
    '--project',
    'node',
    '--no-file-parallelism',
    ...(files.length > 0 ? files : ['test/reliability']),
  ];
  say(`npx ${args.join(' ')}`);
  const child = spawn('npx', args, {
    cwd: REPO_ROOT,
    env: { ...process.env, STREAMWELL_SOAK: '1' },
    stdio: 'inherit',
  });
  const began = performance.now();
  const ticker = setInterval(() => say(`still running: ${minutes(performance.now() - began)} elapsed`), 60_000);
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => {
    child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal === null ? 1 : 128)));
  });
  clearInterval(ticker);

  // The figures of this run: full-mode files written since it started.
  mkdirSync(RESULTS_DIR, { recursive: true });
  const suites: Record<string, unknown> = {};
  for (const name of existsSync(RESULTS_DIR) ? readdirSync(RESULTS_DIR) : []) {
    if (!name.endsWith('.json') || name.endsWith('.quick.json') || name === 'summary.json') continue;
    const record = JSON.parse(readFileSync(`${RESULTS_DIR}${name}`, 'utf8')) as { finishedAt?: string };
    if (record.finishedAt !== undefined && record.finishedAt >= startedAt.toISOString()) {
      suites[name.slice(0, -'.json'.length)] = record;
    }
  }
  const summary = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    minutes: Math.round(((performance.now() - began) / 60_000) * 10) / 10,
    vitestExitCode: code,
    suites,
  };
  const path = `${RESULTS_DIR}summary.json`;
  writeFileSync(path, `${JSON.stringify(summary, null, 2)}\n`);
  say(`${code === 0 ? 'passed' : `FAILED (vitest exit ${code})`} in ${minutes(performance.now() - began)}`);
  say(`figures of ${Object.keys(suites).length} suite(s) in ${path}:`);
  for (const [name, record] of Object.entries(suites)) say(`  ${name}: ${JSON.stringify(record)}`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[npm run soak] ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
