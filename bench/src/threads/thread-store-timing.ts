/**
 * What the thread store costs per turn and per checkpoint, on SQLite and PostgreSQL: the
 * numbers for judging checkpoint writes at 1,000 concurrent streams.
 *
 *   node --conditions=source --import tsx bench/src/threads/thread-store-timing.ts [--streams 1000] [--rounds 5]
 *
 * For each database: one call at a time (latency of `beginTurn` and `updateMessage`), then
 * 1,000 streams at once: a burst of 1,000 `beginTurn`, then rounds in which every stream
 * checkpoints through `createThreadRecorder` (one write in flight per message) and the round's
 * writes are drained, then 1,000 final writes. The event loop's delay is sampled throughout:
 * better-sqlite3 runs each statement synchronously on it. PostgreSQL needs the `postgres`
 * superuser on 127.0.0.1:5432 (`TEST_POSTGRES_URL` overrides); it is skipped when absent.
 *
 * Numbers depend on the machine and its load; they are printed, never asserted.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createSqlThreadStore, createThreadRecorder, type ThreadStore } from 'streamwell/server';

const { values } = parseArgs({
  options: { streams: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '5' } },
});
const STREAMS = Number(values.streams);
const ROUNDS = Number(values.rounds);
const SEQUENTIAL = 300;
/** ~50 tokens of ~5 characters: the text one checkpoint adds at CHECKPOINT_EVERY=50. */
const CHUNK = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do '.repeat(4);

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

function describe(label: string, samples: number[]): string {
  const sorted = [...samples].sort((left, right) => left - right);
  const format = (value: number): string => value.toFixed(3).padStart(8);
  return `${label.padEnd(34)} n=${String(sorted.length).padStart(5)}  p50 ${format(percentile(sorted, 0.5))} ms  p99 ${format(percentile(sorted, 0.99))} ms  max ${format(sorted.at(-1) ?? Number.NaN)} ms`;
}

/** CPU time (user + system) this process spent in `run`, in microseconds, and its result. */
async function cpuOf<T>(run: () => Promise<T>): Promise<{ micros: number; result: T }> {
  const before = process.cpuUsage();
  const result = await run();
  const spent = process.cpuUsage(before);
  return { micros: spent.user + spent.system, result };
}

async function timed<T>(samples: number[], run: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await run();
  samples.push(performance.now() - start);
  return result;
}

/**
 * Gaps between the ticks of a 1 ms interval: how long the event loop could not run a timer (a
 * socket write of an open stream waits just as long). `monitorEventLoopDelay` would miss the
 * worst case: it samples with a timer too, and reports nothing while the loop is stuck in a long
 * chain of microtasks.
 */
function watchEventLoop(): { stop(): number[] } {
  const gaps: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      gaps.push(performance.now() - last);
      return gaps;
    },
  };
}

async function measure(name: string, store: ThreadStore): Promise<void> {
  console.log(`\n== ${name}`);
  const owner = 'bench';
  // One call at a time.
  const begin: number[] = [];
  const update: number[] = [];
  const turn = await store.beginTurn({ threadId: 'seq', owner, message: 'first', streamId: 's' });
  for (let index = 0; index < SEQUENTIAL; index += 1) {
    const next = await timed(begin, () =>
      store.beginTurn({ threadId: 'seq', owner, message: `q${index}`, streamId: 's' }),
    );
    await timed(update, () =>
      store.updateMessage({ threadId: 'seq', messageId: next.assistantMessageId, content: CHUNK, status: 'complete' }),
    );
  }
  void turn;
  console.log(describe('beginTurn (a growing thread)', begin));
  console.log(describe('updateMessage (one at a time)', update));

  // 1,000 streams at once.
  const loop = watchEventLoop();
  const burst: number[] = [];
  const started = performance.now();
  const { micros: burstCpu, result: turns } = await cpuOf(() =>
    Promise.all(
      Array.from({ length: STREAMS }, (_, index) =>
        timed(burst, () =>
          store.beginTurn({ threadId: `c${index}`, owner, message: `hello ${index}`, streamId: `s${index}` }),
        ),
      ),
    ),
  );
  const burstMs = performance.now() - started;
  console.log(describe(`beginTurn, ${STREAMS} at once`, burst));
  console.log(
    ''.padEnd(34),
    ` all in ${burstMs.toFixed(0)} ms; CPU of this process ${(burstCpu / STREAMS).toFixed(0)} µs per beginTurn`,
  );

  const recorder = createThreadRecorder(store, { onError: (error) => console.error('write failed', error) });
  const rounds: number[] = [];
  let text = '';
  let checkpointCpu = 0;
  for (let round = 0; round < ROUNDS; round += 1) {
    text += CHUNK;
    const start = performance.now();
    checkpointCpu += (
      await cpuOf(async () => {
        for (const [index, started] of turns.entries())
          recorder.checkpoint(`c${index}`, started.assistantMessageId, text);
        await recorder.drain();
      })
    ).micros;
    rounds.push(performance.now() - start);
  }
  const perRound = [...rounds].sort((left, right) => left - right);
  const median = percentile(perRound, 0.5);
  console.log(
    `checkpoint round (${STREAMS} writes)`.padEnd(34),
    ` p50 ${median.toFixed(1)} ms per round = ${((STREAMS / median) * 1000).toFixed(0)} checkpoint writes/s; text ${text.length} chars at the end`,
  );
  console.log(
    ''.padEnd(34),
    ` CPU of this process ${(checkpointCpu / (STREAMS * ROUNDS)).toFixed(0)} µs per checkpoint write`,
  );
  const finals = performance.now();
  await Promise.all(
    turns.map((started, index) => recorder.finish(`c${index}`, started.assistantMessageId, 'complete', text)),
  );
  console.log(`final writes (${STREAMS})`.padEnd(34), ` all in ${(performance.now() - finals).toFixed(0)} ms`);
  console.log(describe('event loop: gap between 1 ms ticks', loop.stop()));
}

async function withPostgres(run: (url: string) => Promise<void>): Promise<void> {
  const adminUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const admin = new pg.Client({ connectionString: adminUrl });
  try {
    await admin.connect();
  } catch (error) {
    console.log(`\n== PostgreSQL: skipped (${(error as Error).message})`);
    return;
  }
  const name = `streamwell_bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE "${name}"`);
  try {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    await run(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

// What the machine's load alone does to a 1 ms timer, for comparison with the gaps below.
{
  const idle = watchEventLoop();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  console.log(describe('idle: gap between 1 ms ticks', idle.stop()));
}
const folder = mkdtempSync(path.join(tmpdir(), 'streamwell-store-bench-'));
try {
  const sqlite = await createSqlThreadStore({ url: `file:${path.join(folder, 'bench.db')}` });
  await measure('SQLite (better-sqlite3, WAL, synchronous=NORMAL)', sqlite);
  await sqlite.close();
} finally {
  rmSync(folder, { recursive: true, force: true });
}
await withPostgres(async (url) => {
  const postgres = await createSqlThreadStore({ url });
  await measure('PostgreSQL (pg Pool of 10, loopback)', postgres);
  await postgres.close();
});
