/**
 * The thread store contract against SQLite (a file of its own per test), and what is SQLite's
 * own: the file and its folder are created, several processes may migrate one file at once.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSqlThreadStore } from 'streamwell/server';
import { afterEach, describe, expect, it } from 'vitest';
import { startMigrationRacers } from './helpers/race-migrations.ts';
import { describeThreadStoreContract } from './thread-store-contract.ts';

describe('SQLite thread store', () => {
  let folder: string | undefined;
  const file = (): string => {
    folder ??= mkdtempSync(path.join(tmpdir(), 'streamwell-sqlite-'));
    return path.join(folder, 'nested', 'threads.db');
  };

  afterEach(() => {
    if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
    folder = undefined;
  });

  describeThreadStoreContract({
    durable: true,
    open: (options) => createSqlThreadStore({ url: `file:${file()}`, ...options }),
  });

  it('creates the default file ./data/streamwell.db under the working directory', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'streamwell-cwd-'));
    try {
      const store = await createSqlThreadStore({ cwd });
      expect(store.kind).toBe('sqlite');
      await store.close();
      expect(existsSync(path.join(cwd, 'data', 'streamwell.db'))).toBe(true);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('migrates fresh files from three processes starting at once: one applies, all then work', async () => {
    const racers = await startMigrationRacers(3);
    try {
      for (let round = 0; round < 5; round += 1) {
        const url = `file:${path.join(file(), `..`, `race-${round}.db`)}`;
        const outcomes = await racers.race(url);
        expect(outcomes.map((outcome) => ('applied' in outcome ? outcome.applied : outcome.error)).sort()).toEqual([
          0, 0, 1,
        ]);
        const store = await createSqlThreadStore({ url });
        expect((await store.listThreads('child')).threads).toHaveLength(3);
        await store.close();
      }
    } finally {
      racers.close();
    }
  }, 60_000);
});
