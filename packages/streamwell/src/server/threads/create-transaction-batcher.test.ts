import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createOperationGate } from './create-operation-gate.ts';
import { createTransactionBatcher } from './create-transaction-batcher.ts';

interface Schema {
  rows: { id: number; value: string };
}

const open: Kysely<Schema>[] = [];

/** An in-memory SQLite database that counts the transactions begun on it. */
async function database(): Promise<{ db: Kysely<Schema>; begins: () => number }> {
  const raw = new Database(':memory:');
  let begins = 0;
  const counting = {
    prepare(source: string) {
      if (/^begin/i.test(source)) begins += 1;
      return raw.prepare(source);
    },
    close: () => raw.close(),
  };
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: counting }) });
  open.push(db);
  await sql`create table rows (id integer primary key, value text not null)`.execute(db);
  return { db, begins: () => begins };
}

afterEach(async () => {
  for (const db of open.splice(0)) await db.destroy();
});

describe('transaction batcher', () => {
  it('runs the writes of one loop turn in one transaction, each with its own result', async () => {
    const { db, begins } = await database();
    const batcher = createTransactionBatcher(db, createOperationGate(1, true));
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, id) =>
        batcher.run(async (trx) => {
          await trx
            .insertInto('rows')
            .values({ id, value: `v${id}` })
            .execute();
          return id * 10;
        }),
      ),
    );
    expect(results).toEqual([0, 10, 20, 30, 40]);
    expect(begins()).toBe(1);
    expect(await db.selectFrom('rows').select('id').orderBy('id').execute()).toEqual(
      [0, 1, 2, 3, 4].map((id) => ({ id })),
    );
  });

  it('fails only the failing write of a batch, and commits the others', async () => {
    const { db } = await database();
    const batcher = createTransactionBatcher(db, createOperationGate(1, true));
    await batcher.run((trx) => trx.insertInto('rows').values({ id: 1, value: 'first' }).execute());
    const outcomes = await Promise.allSettled([
      batcher.run((trx) => trx.insertInto('rows').values({ id: 2, value: 'a' }).execute()),
      // Two statements, the second failing (duplicate key): nothing of it may stay.
      batcher.run(async (trx) => {
        await trx.insertInto('rows').values({ id: 3, value: 'half' }).execute();
        await trx.insertInto('rows').values({ id: 1, value: 'duplicate' }).execute();
      }),
      batcher.run(async () => {
        throw new Error('refused');
      }),
      batcher.run((trx) => trx.insertInto('rows').values({ id: 4, value: 'b' }).execute()),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((outcomes[2] as PromiseRejectedResult).reason).toEqual(new Error('refused'));
    expect(await db.selectFrom('rows').selectAll().orderBy('id').execute()).toEqual([
      { id: 1, value: 'first' },
      { id: 2, value: 'a' },
      { id: 4, value: 'b' },
    ]);
  });

  it('splits a long queue into several transactions, in arrival order', async () => {
    const { db, begins } = await database();
    const batcher = createTransactionBatcher(db, createOperationGate(1, true));
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 70 }, (_, id) =>
        batcher.run(async (trx) => {
          order.push(id);
          await trx.insertInto('rows').values({ id, value: '' }).execute();
        }),
      ),
    );
    expect(order).toEqual(Array.from({ length: 70 }, (_, id) => id));
    expect(begins()).toBe(3);
  });
});
