/**
 * The Redis server behind the `streamwell-redis` peer: the harness does not start it, it uses the
 * one the machine runs (`BENCH_REDIS_URL`, default `redis://127.0.0.1:6379`; CI starts it), with a
 * key prefix of its own per peer so that it never touches anyone else's keys, and deletes those
 * keys when the peer stops.
 *
 * A fair comparison with the memory store counts the store's CPU too, so this module reads the
 * Redis server's CPU time: from `/proc/<pid>/task/<tid>/schedstat` when its process is visible
 * (the pid of `INFO server` is a `redis-server` here), else from `INFO cpu` (`used_cpu_sys` +
 * `used_cpu_user`, microseconds). Either way it is the whole server's CPU, every client's work:
 * the caller measures what Redis burns with no load of ours and subtracts it.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { createClient } from 'redis';
import { readProc } from '../lib/proc-sampler.ts';

/** The Redis URL the benchmark uses unless `BENCH_REDIS_URL` names another. */
export const DEFAULT_BENCH_REDIS_URL = 'redis://127.0.0.1:6379';

/** What the report says about the Redis server. */
export interface BenchRedisInfo {
  readonly url: string;
  readonly version: string;
  /** The cores the server may run on (`Cpus_allowed_list`), or `unknown`. */
  readonly cores: string;
  /** Where its CPU time is read from. */
  readonly cpuSource: 'proc' | 'info';
  /** The prefix every key of this run starts with. */
  readonly prefix: string;
}

/** A connection to the benchmark's Redis server. */
export interface BenchRedis {
  readonly url: string;
  readonly info: BenchRedisInfo;
  /** A prefix no other peer of this run uses (a pair of instances that share runs shares one). */
  nextPrefix(): string;
  /** CPU time the server has used so far, ns (all clients). Read when called, resolved later for `INFO`. */
  cpuNs(): Promise<number>;
  /** Deletes every key under `prefix`; resolves with how many. */
  clear(prefix: string): Promise<number>;
  close(): Promise<void>;
}

function field(info: string, name: string): string | undefined {
  const match = new RegExp(`^${name}:(.*)$`, 'm').exec(info);
  return match?.[1]?.trim();
}

/** The server's pid when this process can see it in /proc, else undefined (another pid namespace). */
function visiblePid(info: string): number | undefined {
  const pid = Number(field(info, 'process_id'));
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('redis-server') ? pid : undefined;
  } catch {
    return undefined;
  }
}

function allowedCores(pid: number | undefined): string {
  if (pid === undefined) return 'unknown';
  try {
    return /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Connects to the benchmark's Redis server.
 *
 * @param url - a Redis URL
 * @returns the connection, or undefined when no server answers there
 */
export async function connectBenchRedis(url: string): Promise<BenchRedis | undefined> {
  const client = createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch {
    return undefined;
  }
  const server = await client.info('server');
  const pid = visiblePid(server);
  // Only letters, digits and dashes: the prefix goes into a SCAN pattern unescaped.
  const runPrefix = `streamwell-bench-${process.pid}-${Date.now().toString(36)}`;
  let next = 0;
  const cpuNs = async (): Promise<number> => {
    if (pid !== undefined) return readProc(pid).cpuNs;
    const cpu = await client.info('cpu');
    return (Number(field(cpu, 'used_cpu_sys')) + Number(field(cpu, 'used_cpu_user'))) * 1e9;
  };
  return {
    url,
    info: {
      url,
      version: field(server, 'redis_version') ?? 'unknown',
      cores: allowedCores(pid),
      cpuSource: pid === undefined ? 'info' : 'proc',
      prefix: `${runPrefix}-`,
    },
    nextPrefix: () => `${runPrefix}-${++next}:`,
    // A /proc read happens now, synchronously, so the caller gets the value at the instant it asked.
    cpuNs: pid === undefined ? cpuNs : () => Promise.resolve(readProc(pid).cpuNs),
    async clear(prefix) {
      let deleted = 0;
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
        if (keys.length > 0) deleted += await client.unlink(keys);
      }
      return deleted;
    },
    async close() {
      await client.close();
    },
  };
}
