/**
 * System parts (Chromium, nginx, Redis) in tests: on a developer's laptop a missing part skips its
 * suite loudly with the install command; under `CI=true` a missing part fails the run, never skips.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Result of {@link requireSystemPart}: whether the suite may run. */
export interface SystemPart {
  readonly available: boolean;
  /** Why it is missing, with the install command. */
  readonly reason: string;
}

/**
 * Checks a system part and decides: run, skip loudly, or (under CI) throw.
 *
 * @param name - what it is, e.g. "Chromium"
 * @param probe - returns true when the part is usable
 * @param installHint - the command that installs it, e.g. "apt-get install -y chromium"
 * @returns whether the suite may run
 * @throws Error under `CI=true` when the part is missing
 */
export function requireSystemPart(name: string, probe: () => boolean, installHint: string): SystemPart {
  let available = false;
  try {
    available = probe();
  } catch {
    available = false;
  }
  const reason = `${name} is not available. Install it with: ${installHint}`;
  if (!available) {
    if (process.env.CI === 'true') {
      throw new Error(`[system part missing under CI] ${reason}`);
    }
    console.warn(`\n*** SKIPPING: ${reason} ***\n`);
  }
  return { available, reason };
}

/** True when `file` exists and runs with `args` (exit code 0). */
export function canRun(file: string, args: readonly string[]): boolean {
  if (!existsSync(file)) return false;
  try {
    execFileSync(file, [...args], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/** Chromium from Debian (`/usr/bin/chromium`). */
export const chromiumPart = (): SystemPart =>
  requireSystemPart('Chromium', () => canRun('/usr/bin/chromium', ['--version']), 'sudo apt-get install -y chromium');

/** nginx from Debian (`/usr/sbin/nginx`). */
export const nginxPart = (): SystemPart =>
  requireSystemPart('nginx', () => canRun('/usr/sbin/nginx', ['-v']), 'sudo apt-get install -y nginx-light');

/** The Redis of the suites that share runs between instances (`REDIS_URL`, default loopback). */
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A Redis server that answers `PING` at {@link TEST_REDIS_URL}. */
export const redisPart = (): SystemPart =>
  requireSystemPart(
    `Redis at ${TEST_REDIS_URL}`,
    () => canRun('/usr/bin/redis-cli', ['-u', TEST_REDIS_URL, 'ping']),
    'sudo apt-get install -y redis-server (and start it, or set REDIS_URL)',
  );
