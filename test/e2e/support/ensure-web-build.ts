/**
 * Makes sure `apps/web/dist` holds a build of the current page sources: the e2e suite tests the
 * page the reference server really serves, so a stale build would test old code.
 *
 * @module
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

/** The directory the reference server serves at `/`. */
export const WEB_DIST = join(repo, 'apps/web/dist');

/** Everything the page build depends on. */
const INPUTS = [
  'apps/web/src',
  'apps/web/index.html',
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
export async function ensureWebBuild(): Promise<boolean> {
  const index = join(WEB_DIST, 'index.html');
  const built = existsSync(index) ? statSync(index).mtimeMs : 0;
  const newest = Math.max(...INPUTS.map(newestMtime));
  if (built > newest) return false;
  const { build } = await import('vite');
  await build({
    root: join(repo, 'apps/web'),
    configFile: join(repo, 'apps/web/vite.config.ts'),
    logLevel: 'warn',
  });
  return true;
}
