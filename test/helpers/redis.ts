/**
 * Redis in tests: the system-part check (a real Redis on 127.0.0.1:6379 that answers PING), a
 * key prefix per suite or test so that suites never see each other's runs (other engineers and
 * parallel test files share the one Redis), and cleanup of exactly those keys.
 *
 * @example
 * const redis = redisPart();
 * describe.skipIf(!redis.available)('on Redis', () => {
 *   const prefix = createTestPrefix();
 *   afterAll(deleteTestKeys);
 * });
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { runKeys } from '../../packages/streamwell/src/server/redis/redis-keys.ts';
import { requireSystemPart, type SystemPart } from './system-part.ts';

/** The shared test Redis. */
export const REDIS_PORT = 6379;
/** `REDIS_URL` of the shared test Redis. */
export const REDIS_URL = `redis://127.0.0.1:${REDIS_PORT}`;

/** TCP connect and `PING` in a child process (the system-part probe is synchronous). */
const PING_PROBE = `
const socket = require('node:net').connect(${REDIS_PORT}, '127.0.0.1');
let reply = '';
socket.setTimeout(5000, () => process.exit(1));
socket.on('connect', () => socket.write('PING\\r\\n'));
socket.on('data', (chunk) => {
  reply += chunk;
  if (reply.includes('\\r\\n')) process.exit(reply.startsWith('+PONG') ? 0 : 1);
});
socket.on('error', () => process.exit(1));
`;

/** Redis answering on 127.0.0.1:6379 (skips loudly off CI, fails under `CI=true`). */
export const redisPart = (): SystemPart =>
  requireSystemPart(
    'Redis on 127.0.0.1:6379',
    () => {
      execFileSync(process.execPath, ['-e', PING_PROBE], { stdio: 'ignore', timeout: 20_000 });
      return true;
    },
    'sudo apt-get install -y redis-server (and start it: redis-server --daemonize yes)',
  );

const prefixes = new Set<string>();

/**
 * A fresh key prefix (`swtest:<random>:`), remembered for {@link deleteTestKeys}.
 *
 * @returns the prefix, for `REDIS_PREFIX` or a store's `prefix`
 */
export function createTestPrefix(): string {
  const prefix = `swtest:${randomBytes(6).toString('hex')}:`;
  prefixes.add(prefix);
  return prefix;
}

function createTestClient(url: string) {
  return createClient({ url, socket: { reconnectStrategy: false } });
}

/** A node-redis client for assertions (`sendCommand` answers arrays for the commands used here). */
export type TestRedis = ReturnType<typeof createTestClient>;

/**
 * Connects a client for assertions and cleanup.
 *
 * @param url - defaults to the shared test Redis
 * @returns the connected client; `close()` it
 */
export async function openRedis(url: string = REDIS_URL): Promise<TestRedis> {
  const client = createTestClient(url);
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Deletes every key under each prefix made by {@link createTestPrefix} in this file (SCAN + DEL). */
export async function deleteTestKeys(): Promise<void> {
  if (prefixes.size === 0) return;
  const client = await openRedis();
  try {
    for (const prefix of [...prefixes]) {
      let cursor = '0';
      do {
        const [next, keys] = (await client.sendCommand(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000'])) as [
          string,
          string[],
        ];
        cursor = next;
        if (keys.length > 0) await client.sendCommand(['DEL', ...keys]);
      } while (cursor !== '0');
      prefixes.delete(prefix);
    }
  } finally {
    await client.close();
  }
}

/** One entry of a run's Redis stream. */
export interface StoredEvent {
  readonly id: number;
  readonly event: string;
  readonly json: string;
}

/**
 * Reads a run's whole Redis stream (`XRANGE - +`), as the store wrote it.
 *
 * @param client - from {@link openRedis}
 * @param prefix - the instances' `REDIS_PREFIX`
 * @param streamId - the run
 * @returns its entries in order
 */
export async function readStoredEvents(client: TestRedis, prefix: string, streamId: string): Promise<StoredEvent[]> {
  const entries = (await client.sendCommand(['XRANGE', runKeys(prefix, streamId).events, '-', '+'])) as Array<
    [string, string[]]
  >;
  return entries.map(([entryId, fields]) => ({
    id: Number(entryId.slice(entryId.indexOf('-') + 1)),
    event: String(fields[1]),
    json: String(fields[3]),
  }));
}

/** Number of terminal events (`done`, `error`) among `events`. */
export function countTerminal(events: readonly { event: string }[]): number {
  return events.filter((event) => event.event === 'done' || event.event === 'error').length;
}

/**
 * Polls `condition` until it holds (for state with no event to wait on, such as a key's expiry).
 *
 * @param condition - checked every 20 ms
 * @param what - named in the error
 * @param timeoutMs - gives up after this long
 */
export async function pollUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
