/**
 * `WORKERS` > 1 that cannot work refuses to start, with exit status 1: without `REDIS_URL` (a
 * configuration error, before any worker is forked), and when a worker cannot start (Redis
 * unreachable): the primary stops the other worker rather than restarting them in a loop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnServer, stopServerProcesses } from '../helpers/server-process.ts';
import { within } from '../redis/helpers/instances.ts';

afterAll(stopServerProcesses);

describe('WORKERS: refusing to start', () => {
  it('refuses to start, naming both variables', async () => {
    const child = spawnServer({ WORKERS: '2', LOG_LEVEL: 'silent' });
    expect(await within(child.exited, 'the process to exit', 80_000)).toEqual({ code: 1, signal: null });
    expect(child.stderr()).toMatch(/WORKERS: is 2 but REDIS_URL is not set/);
    expect(child.stdout()).not.toMatch(/worker started/);
  }, 90_000);

  it('a worker that cannot start (Redis unreachable) stops the server with exit 1, without restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamwell-workers-fail-'));
    try {
      // Port 1 on loopback: nothing listens, so each worker's Redis connection is refused at start.
      const child = spawnServer({
        WORKERS: '2',
        REDIS_URL: 'redis://127.0.0.1:1',
        DATABASE_URL: `file:${join(dir, 'threads.db')}`,
      });
      // Bounded generously: two workers starting from sources on a loaded machine took 75 s here.
      expect(await within(child.exited, 'the primary to exit', 170_000)).toEqual({ code: 1, signal: null });
      expect(child.stderr()).toMatch(/REDIS_URL/);
      const primary = child
        .stdout()
        .split('\n')
        .filter((line) => line.includes('"role":"primary"'));
      expect(primary.some((line) => line.includes('a worker exited before it listened: stopping'))).toBe(true);
      expect(primary.filter((line) => line.includes('"msg":"worker started"'))).toHaveLength(2);
      expect(child.stdout()).not.toMatch(/replaced/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
