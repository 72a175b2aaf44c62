/**
 * Several processes migrating one fresh database at the same moment (see open-store-child.ts).
 *
 * @module
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./open-store-child.ts', import.meta.url));

/** What one child answered for one database. */
export type MigrationOutcome = { readonly applied: number } | { readonly error: string };

/** A group of children. */
export interface MigrationRacers {
  /** Every child opens `url` at once; resolves with each child's outcome. */
  race(url: string): Promise<MigrationOutcome[]>;
  close(): void;
}

/**
 * Starts `count` children and waits until each is ready.
 *
 * @param count - how many processes
 * @returns the racers
 */
export async function startMigrationRacers(count: number): Promise<MigrationRacers> {
  const children: { process: ChildProcessWithoutNullStreams; lines: AsyncIterator<string>; reader: Interface }[] = [];
  for (let index = 0; index < count; index += 1) {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CHILD], { cwd: REPO });
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    const reader = createInterface({ input: child.stdout });
    const lines = reader[Symbol.asyncIterator]();
    children.push({ process: child, lines, reader });
    void child.once('exit', (code) => {
      if (code !== 0 && code !== null) console.error(`migration child exited ${code}: ${errors}`);
    });
  }
  for (const child of children) {
    const first = await child.lines.next();
    if (first.value !== 'ready') throw new Error(`migration child did not start: ${String(first.value)}`);
  }
  return {
    async race(url) {
      for (const child of children) child.process.stdin.write(`go ${url}\n`);
      return Promise.all(
        children.map(async (child) => JSON.parse(String((await child.lines.next()).value)) as MigrationOutcome),
      );
    },
    close() {
      for (const child of children) {
        child.reader.close();
        child.process.kill();
      }
    },
  };
}
