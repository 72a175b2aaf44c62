/**
 * A child process for the concurrent-migration tests. It loads everything, prints `ready`, then
 * for each line `go <DATABASE_URL>` on stdin opens the SQL thread store there (which migrates
 * it), starts one turn, closes it and prints `{"applied": N}`: how many migrations it applied
 * itself. The parent sends `go` to every child at once, so that their migrations really race
 * (process start-up alone varies by seconds and would serialize them).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { createSqlThreadStore } from 'streamwell/server';

process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.startsWith('go ')) continue;
  let applied = 0;
  try {
    const store = await createSqlThreadStore({
      url: line.slice('go '.length),
      onMigrated: (names) => {
        applied = names.length;
      },
    });
    await store.beginTurn({ threadId: randomUUID(), owner: 'child', message: 'hello', streamId: 's' });
    await store.close();
    process.stdout.write(`${JSON.stringify({ applied })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: String((error as Error).message ?? error) })}\n`);
  }
}
