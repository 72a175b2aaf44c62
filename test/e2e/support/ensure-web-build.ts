/**
 * Makes sure `apps/web/dist` holds a build of the current page sources: the e2e suite tests the
 * page the reference server really serves, so a stale build would test old code.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

/** The directory the reference server serves at `/`. */
export const WEB_DIST = join(repo, 'apps/web/dist');

/** Everything the page build depends on. */
const INPUTS = [
  'apps/web/src',
  'apps/web/index.html',
  'apps/web/ai-sdk.html',
  'apps/web/vite.config.ts',
  'packages/streamwell/src/client',
  'packages/streamwell/src/react',
  'packages/streamwell/src/protocol',
  'packages/streamwell/src/errors',
].map((path) => join(repo, path));

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/**
 * Builds the page with Vite when `apps/web/dist` is missing or older than its sources.
 *
 * @returns whether a build ran
 */
export function ensureWebBuild(): boolean {
  const index = join(WEB_DIST, 'index.html');
  const built = existsSync(index) ? statSync(index).mtimeMs : 0;
  const newest = Math.max(...INPUTS.map(newestMtime));
  if (built > newest) return false;
  // A child process, not Vite's API in this process: Vitest sets NODE_ENV=test, which would make
  // Vite bundle React's development build into the page the server serves.
  const vitePackage = createRequire(join(repo, 'apps/web/package.json')).resolve('vite/package.json');
  const vite = join(dirname(vitePackage), 'bin/vite.js');
  execFileSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
    cwd: join(repo, 'apps/web'),
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: 'inherit',
    timeout: 170_000,
  });
  return true;
}
