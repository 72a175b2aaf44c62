/**
 * System parts (Chromium, nginx, Redis, PostgreSQL) in tests: on a developer's laptop a missing part skips its
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

/** PostgreSQL on 127.0.0.1:5432 (Debian's `postgresql`; the `postgres` superuser, trust auth on loopback). */
export const postgresPart = (): SystemPart =>
  requireSystemPart(
    'PostgreSQL on 127.0.0.1:5432',
    () => canRun('/usr/bin/pg_isready', ['-q', '-h', '127.0.0.1', '-p', '5432']),
    'sudo apt-get install -y postgresql && sudo pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  );
