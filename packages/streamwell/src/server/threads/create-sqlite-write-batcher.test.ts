import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createOperationGate } from './create-operation-gate.ts';
import { createSqliteWriteBatcher, DEFER_MS, type SqliteTransactions } from './create-sqlite-write-batcher.ts';

const open: Database.Database[] = [];

/** An in-memory SQLite database, and its transactions as the batcher sees them, counting BEGINs. */
function database(): { db: Database.Database; counted: SqliteTransactions; begins: () => number } {
  const db = new Database(':memory:');
  open.push(db);
  db.exec('create table rows (id integer primary key, value text not null)');
  let begins = 0;
  const counted: SqliteTransactions = {
    transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
      const wrapped = db.transaction(fn);
      return (...args: A) => {
        // Called outside a transaction, better-sqlite3 starts one with BEGIN (else a SAVEPOINT).
        if (!db.inTransaction) begins += 1;
        return wrapped(...args);
      };
    },
    get inTransaction() {
      return db.inTransaction;
    },
  };
  return { db, counted, begins: () => begins };
}

const rows = (db: Database.Database): unknown[] => db.prepare('select id, value from rows order by id').all();

afterEach(() => {
  vi.useRealTimers();
  for (const db of open.splice(0)) db.close();
});

describe('SQLite write batcher', () => {
  it('runs the writes of one loop turn in one transaction, each with its own result', async () => {
    const { db, counted, begins } = database();
    const batcher = createSqliteWriteBatcher(counted, createOperationGate(1, true));
    const insert = db.prepare('insert into rows (id, value) values (?, ?)');
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, id) =>
        batcher.run(() => {
          insert.run(id, `v${id}`);
          return id * 10;
        }),
      ),
    );
    expect(results).toEqual([0, 10, 20, 30, 40]);
    expect(begins()).toBe(1);
    expect(rows(db)).toEqual([0, 1, 2, 3, 4].map((id) => ({ id, value: `v${id}` })));
  });

  it('fails only the failing write of a batch, and commits the others', async () => {
    const { db } = database();
    const batcher = createSqliteWriteBatcher(db, createOperationGate(1, true));
    const insert = db.prepare('insert into rows (id, value) values (?, ?)');
    await batcher.run(() => insert.run(1, 'first'));
    const outcomes = await Promise.allSettled([
      batcher.run(() => insert.run(2, 'a')),
      // Two statements, the second failing (duplicate key): nothing of it may stay.
      batcher.run(() => {
        insert.run(3, 'half');
        insert.run(1, 'duplicate');
      }),
      batcher.run(() => {
        throw new Error('refused');
      }),
      batcher.run(() => insert.run(4, 'b')),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    expect((outcomes[2] as PromiseRejectedResult).reason).toEqual(new Error('refused'));
    expect(rows(db)).toEqual([
      { id: 1, value: 'first' },
      { id: 2, value: 'a' },
      { id: 4, value: 'b' },
    ]);
  });

  it('splits a long queue into transactions of at most 32 writes, in arrival order', async () => {
    const { db, counted, begins } = database();
    const batcher = createSqliteWriteBatcher(counted, createOperationGate(1, true));
    const insert = db.prepare('insert into rows (id, value) values (?, ?)');
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 70 }, (_, id) =>
        batcher.run(() => {
          order.push(id);
          insert.run(id, '');
        }),
      ),
    );
    expect(order).toEqual(Array.from({ length: 70 }, (_, id) => id));
    expect(begins()).toBe(3);
    expect(rows(db)).toHaveLength(70);
  });

  it('fails every write of the batch when the commit fails, and keeps none of them', async () => {
    const { db } = database();
    const batcher = createSqliteWriteBatcher(db, createOperationGate(1, true));
    const insert = db.prepare('insert into rows (id, value) values (?, ?)');
    // A deferred foreign key is checked at COMMIT: one bad row makes the whole commit fail.
    db.exec('pragma foreign_keys = on; create table parents (id integer primary key);');
    db.exec('create table children (parent integer references parents(id) deferrable initially deferred)');
    const orphan = db.prepare('insert into children (parent) values (?)');
    const outcomes = await Promise.allSettled([
      batcher.run(() => insert.run(1, 'a')),
      batcher.run(() => orphan.run(7)),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(rows(db)).toEqual([]);
  });

  it('holds a deferrable write back until another batch runs, and puts it first in that batch', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { db, counted, begins } = database();
    const batcher = createSqliteWriteBatcher(counted, createOperationGate(1, true));
    const insert = db.prepare('insert into rows (id, value) values (?, ?)');
    const order: string[] = [];
    let checkpointDone = false;
    const checkpoint = batcher
      .run(() => {
        order.push('checkpoint');
        insert.run(1, 'checkpoint');
      }, true)
      .then(() => {
        checkpointDone = true;
      });
    // Loop turns pass (setImmediate is real): nothing runs on its own before the window ends.
    for (let turn = 0; turn < 5; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(checkpointDone).toBe(false);
    expect(begins()).toBe(0);
    await batcher.run(() => {
      order.push('final');
      insert.run(2, 'final');
    });
    await checkpoint;
    expect(order).toEqual(['checkpoint', 'final']);
    expect(begins()).toBe(1);
    expect(rows(db)).toHaveLength(2);
    // The window's timer went with the write: it starts no empty transaction later.
    await vi.advanceTimersByTimeAsync(DEFER_MS * 2);
    expect(begins()).toBe(1);
  });

  it('commits a deferrable write alone once the window passes with no other write', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { db, counted, begins } = database();
    const batcher = createSqliteWriteBatcher(counted, createOperationGate(1, true));
    const insert = db.prepare('insert into rows (id, value) values (?, ?)');
    let done = false;
    const first = batcher.run(() => insert.run(1, 'a'), true);
    const second = batcher.run(() => insert.run(2, 'b'), true);
    void Promise.all([first, second]).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(DEFER_MS - 1);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all([first, second]);
    expect(begins()).toBe(1);
    expect(rows(db)).toHaveLength(2);
  });

  it('drain writes the deferred writes at once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { db, counted } = database();
    const batcher = createSqliteWriteBatcher(counted, createOperationGate(1, true));
    const insert = db.prepare('insert into rows (id, value) values (?, ?)');
    const write = batcher.run(() => insert.run(1, 'a'), true);
    await batcher.drain();
    await write;
    expect(rows(db)).toEqual([{ id: 1, value: 'a' }]);
  });

  it('fills a batch with deferred writes only up to its room, the rest wait their window', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { db, counted, begins } = database();
    const batcher = createSqliteWriteBatcher(counted, createOperationGate(1, true));
    const insert = db.prepare('insert into rows (id, value) values (?, ?)');
    const deferred = Array.from({ length: 40 }, (_, id) => batcher.run(() => insert.run(id, 'd'), true));
    await batcher.run(() => insert.run(100, 'now'));
    expect(begins()).toBe(1);
    expect(rows(db)).toHaveLength(32);
    await vi.advanceTimersByTimeAsync(DEFER_MS);
    await Promise.all(deferred);
    expect(begins()).toBe(2);
    expect(rows(db)).toHaveLength(41);
  });

  it('with deferMs 0, commits a deferrable write like any other', async () => {
    const { db, counted, begins } = database();
    const batcher = createSqliteWriteBatcher(counted, createOperationGate(1, true), { deferMs: 0 });
    const insert = db.prepare('insert into rows (id, value) values (?, ?)');
    await batcher.run(() => insert.run(1, 'a'), true);
    expect(begins()).toBe(1);
    expect(rows(db)).toEqual([{ id: 1, value: 'a' }]);
  });
});
