/**
 * The troubleshooting guide's backend as a real Python process (`test/fixtures/guide-backend.py`,
 * standard library only): started on 127.0.0.1 port 0, it reports its port and everything it
 * sees (requests, disconnects, completions) as JSON lines on stdout, which tests wait on.
 *
 * @module
 */
import { type ChildProcessByStdio, execFileSync, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { ServerConfig } from '../../apps/server/src/config.ts';
import { startTestServer, type TestServer } from '../server/helpers/test-server.ts';
import { requireSystemPart, type SystemPart } from './system-part.ts';

/** One line the backend reported. */
export interface UpstreamRecord {
  readonly event: 'listening' | 'request' | 'first-token' | 'disconnect' | 'run-stopped' | 'complete' | 'cut';
  /** The request's number, from 1, for everything but `listening`. */
  readonly n: number;
  readonly [field: string]: unknown;
}

/** A `request` record. */
export interface UpstreamRequestRecord extends UpstreamRecord {
  readonly path: string;
  readonly query: string;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string>>;
}

/** A running backend. */
export interface PythonUpstream {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  /** Everything reported so far, in order. */
  readonly records: readonly UpstreamRecord[];
  /**
   * Resolves with the first record (already seen or still to come) that matches.
   *
   * @param match - the condition
   * @param timeoutMs - a generous bound, so that a missing record fails the test instead of hanging it
   */
  waitFor(match: (record: UpstreamRecord) => boolean, timeoutMs?: number): Promise<UpstreamRecord>;
  /** The `request` records whose JSON body carries this message. */
  requestsFor(message: string): UpstreamRequestRecord[];
  close(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('../fixtures/guide-backend.py', import.meta.url));

/** Python 3 on the PATH: needed by the suites that front the guide's backend. */
export const pythonPart = (): SystemPart =>
  requireSystemPart(
    'python3',
    () => {
      execFileSync('python3', ['--version'], { stdio: 'ignore', timeout: 20_000 });
      return true;
    },
    'sudo apt-get install -y python3',
  );

/**
 * Starts the backend and waits for its port.
 *
 * @returns the running backend
 */
export async function startPythonUpstream(): Promise<PythonUpstream> {
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn('python3', ['-u', SCRIPT], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const records: UpstreamRecord[] = [];
  const waiters = new Set<{ match: (record: UpstreamRecord) => boolean; resolve: (record: UpstreamRecord) => void }>();
  let stderr = '';
  let pending = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = `${stderr}${chunk.toString('utf8')}`.slice(-4000);
  });
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const record = JSON.parse(pending.slice(0, newline)) as UpstreamRecord;
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
      records.push(record);
      for (const waiter of waiters) {
        if (waiter.match(record)) {
          waiters.delete(waiter);
          waiter.resolve(record);
        }
      }
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const waitFor = (match: (record: UpstreamRecord) => boolean, timeoutMs = 15_000): Promise<UpstreamRecord> => {
    const seen = records.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (record: UpstreamRecord) => {
          clearTimeout(timer);
          resolve(record);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(
          new Error(
            `the Python backend did not report the awaited record in ${timeoutMs} ms; it reported:\n${records
              .map((record) => JSON.stringify(record).slice(0, 200))
              .join('\n')}\nstderr: ${stderr}`,
          ),
        );
      }, timeoutMs);
      waiters.add(waiter);
    });
  };

  const listening = await Promise.race([
    waitFor((record) => record.event === 'listening', 20_000),
    exited.then(() => {
      throw new Error(`the Python backend exited before listening: ${stderr}`);
    }),
  ]);
  return {
    origin: `http://127.0.0.1:${String(listening.port)}`,
    records,
    waitFor,
    requestsFor: (message) =>
      records.filter(
        (record): record is UpstreamRequestRecord =>
          record.event === 'request' &&
          (record as UpstreamRequestRecord).body !== null &&
          ((record as UpstreamRequestRecord).body as { message?: unknown }).message === message,
      ),
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * For a suite: starts the backend before all tests (handing it to `use`), closes it after them,
 * and gives each test reference servers with the `sse` provider, closed after the test.
 *
 * @param use - receives the running backend
 * @returns `gateway(upstreamUrl, config)`: the reference server (`createApp`, 127.0.0.1:0) in
 *   front of `upstreamUrl`
 */
export function usePythonBackend(use: (upstream: PythonUpstream) => void): {
  gateway(upstreamUrl: string, config?: Partial<ServerConfig>): Promise<TestServer>;
} {
  let upstream: PythonUpstream | undefined;
  const servers: TestServer[] = [];
  beforeAll(async () => {
    upstream = await startPythonUpstream();
    use(upstream);
  });
  afterAll(async () => {
    await upstream?.close();
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });
  return {
    async gateway(upstreamUrl, config = {}) {
      const server = await startTestServer({ config: { provider: 'sse', upstreamUrl, ...config } });
      servers.push(server);
      return server;
    },
  };
}
