/**
 * The README as a newcomer follows it: a fresh `git clone` of this repository into a temporary
 * folder, then the README's own commands, read from README.md and run through `sh` as written
 * (only port 8000 is moved to a free port, through the `PORT` variable the README documents):
 * `npm install`, `npx streamwell --help`, `npm start` up to `/healthz`, the `curl -N` line, `npx
 * streamwell stream ... -m`, and `npx streamwell doctor` with the README's arguments.
 *
 * It needs the npm registry: off CI it is skipped loudly when the registry does not answer; under
 * `CI=true` an unreachable registry fails it. It clones the last commit (HEAD): uncommitted
 * changes are not part of a fresh clone. `.ci/run` runs it as its own step (vitest project
 * `fresh-clone`), after the other suites, so its install and build do not compete with them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/until.ts';
import { newcomerEnv, type RunningShell, runShell, startShell, tail } from './newcomer-shell.ts';
import { onPort, type ReadmeCommands, readReadmeCommands } from './readme-commands.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MINUTE = 60_000;

function registryReachable(): boolean {
  try {
    execFileSync('npm', ['ping'], { env: newcomerEnv({}), stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

const online = registryReachable();
if (!online) {
  const reason =
    'the npm registry does not answer (`npm ping`): the fresh-clone README test needs it for `npm install`';
  if (process.env.CI === 'true') throw new Error(`[registry unreachable under CI] ${reason}`);
  console.warn(`\n*** SKIPPING: ${reason} ***\n`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

describe.skipIf(!online)('the README, followed in a fresh clone', () => {
  const commands: ReadmeCommands = readReadmeCommands(join(ROOT, 'README.md'));
  let folder = '';
  let clone = '';
  let port = 0;
  let env: NodeJS.ProcessEnv = {};
  let server: RunningShell | undefined;

  beforeAll(async () => {
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (dirty.trim() !== '')
      console.warn('\n*** fresh clone: testing HEAD; uncommitted changes are not in the clone ***\n');
    folder = mkdtempSync(join(tmpdir(), 'streamwell-fresh-clone-'));
    clone = join(folder, 'streamwell');
    execFileSync('git', ['clone', '--quiet', ROOT, clone], { stdio: 'inherit' });
    port = await freePort();
    env = newcomerEnv({ PORT: String(port) });
  }, 5 * MINUTE);

  afterAll(async () => {
    await server?.stop();
    // Some 30,000 files: on a machine busy with other installs this alone has taken over a minute.
    if (folder !== '') await rm(folder, { recursive: true, force: true });
  }, 10 * MINUTE);

  const run = (line: string, timeoutMs = 2 * MINUTE) => runShell(onPort(line, port), { cwd: clone, env, timeoutMs });

  it(
    '`npm install` succeeds, warns of no install script, and leaves the clone unchanged',
    async () => {
      const outcome = await run(commands.install, 20 * MINUTE);
      expect(outcome.code, tail(outcome)).toBe(0);
      // npm 11 reports dependency install scripts that `allowScripts` does not cover.
      expect(`${outcome.stdout}${outcome.stderr}`).not.toMatch(/install-scripts|allowScripts/);
      const changed = execFileSync('git', ['status', '--porcelain'], { cwd: clone, encoding: 'utf8' });
      expect(changed, 'files the install changed or left behind outside .gitignore').toBe('');
    },
    21 * MINUTE,
  );

  it(
    '`npx streamwell --help` prints the usage',
    async () => {
      const outcome = await run(commands.help);
      expect(outcome.code, tail(outcome)).toBe(0);
      expect(outcome.stdout).toMatch(/^Usage: streamwell <command>/);
    },
    3 * MINUTE,
  );

  it(
    '`npm start` builds and serves /healthz',
    async () => {
      server = startShell(onPort(commands.start, port), { cwd: clone, env });
      const shell = server;
      // The first start builds the library, the server and the page before it listens.
      await until(
        async () => {
          if (shell.child.exitCode !== null) throw new Error(`npm start exited:\n${shell.output().slice(-3000)}`);
          const response = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
          return response?.status === 200;
        },
        `GET /healthz on port ${port} answering 200 after \`${commands.start}\``,
        { timeoutMs: 10 * MINUTE, intervalMs: 250 },
      );
    },
    11 * MINUTE,
  );

  it(
    "the README's `curl -N` line streams a reply to its terminal event",
    async () => {
      const outcome = await run(commands.curl);
      expect(outcome.code, tail(outcome)).toBe(0);
      expect(outcome.stdout).toMatch(/^event: start$/m);
      expect(outcome.stdout).toMatch(/^event: token$/m);
      expect(outcome.stdout).toMatch(/^event: done$/m);
    },
    3 * MINUTE,
  );

  it(
    '`npx streamwell stream ... -m` prints the reply',
    async () => {
      const outcome = await run(commands.stream);
      expect(outcome.code, tail(outcome)).toBe(0);
      expect(outcome.stdout.trim().length, tail(outcome)).toBeGreaterThan(0);
    },
    3 * MINUTE,
  );

  it(
    "`npx streamwell doctor` with the README's arguments finds no problem",
    async () => {
      const outcome = await run(commands.doctor);
      expect(outcome.code, tail(outcome)).toBe(0);
      expect(outcome.stdout).toMatch(/^\d+ checks: .*\b0 fail\. OK$/m);
    },
    3 * MINUTE,
  );
});
