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

/** The store's migrations (0001, 0002): one store applies them all, the others find nothing left to do. */
const MIGRATION_COUNT = 2;

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

  it("holds a checkpoint back to share the next write's commit, or commits it at once with checkpointCommitDelayMs 0", async () => {
    const turns = (n: number) => Array.from({ length: n }, (_, index) => index);
    const loopTurns = async (n: number): Promise<void> => {
      for (const _ of turns(n)) await new Promise((resolve) => setImmediate(resolve));
    };
    for (const delay of [undefined, 0]) {
      const store = await createSqlThreadStore({
        url: `file:${path.join(file(), '..', `delay-${delay}.db`)}`,
        ...(delay === undefined ? {} : { checkpointCommitDelayMs: delay }),
      });
      try {
        const first = await store.beginTurn({ threadId: 'a', owner: 'u', message: 'hi', streamId: 's1' });
        let written = false;
        const checkpoint = store
          .updateMessage({ threadId: 'a', messageId: first.assistantMessageId, content: 'par', status: 'streaming' })
          .then((changed) => {
            written = changed;
          });
        await loopTurns(10);
        expect(written).toBe(delay === 0);
        // Another run's turn starts: the checkpoint goes into its transaction.
        await store.beginTurn({ threadId: 'b', owner: 'u', message: 'hello', streamId: 's2' });
        await checkpoint;
        expect(written).toBe(true);
        const thread = await store.getThread('a', 'u');
        expect(thread?.messages.map((message) => [message.content, message.status])).toEqual([
          ['hi', 'complete'],
          ['par', 'streaming'],
        ]);
      } finally {
        await store.close();
      }
    }
  });

  it('close() writes a checkpoint still waiting for a commit', async () => {
    const url = `file:${path.join(file(), '..', 'close.db')}`;
    const store = await createSqlThreadStore({ url });
    const turn = await store.beginTurn({ threadId: 'a', owner: 'u', message: 'hi', streamId: 's1' });
    const checkpoint = store.updateMessage({
      threadId: 'a',
      messageId: turn.assistantMessageId,
      content: 'partial',
      status: 'streaming',
    });
    await store.close();
    expect(await checkpoint).toBe(true);
    const reopened = await createSqlThreadStore({ url });
    try {
      expect((await reopened.getThread('a', 'u'))?.messages[1]?.content).toBe('partial');
    } finally {
      await reopened.close();
    }
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
          0,
          0,
          MIGRATION_COUNT,
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
