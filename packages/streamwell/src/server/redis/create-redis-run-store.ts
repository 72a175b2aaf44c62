/**
 * The Redis Streams run store: the shared copy of every run's events that lets several instances
 * serve one stream (resume, cancel and idempotency through any instance).
 *
 * Layout (docs/scaling.md): one Redis stream per run with entry ids `0-<eventId>` (SSE ids and
 * Redis ids are the same), a metadata hash, and a lease the producer refreshes. The producer
 * writes through {@link RedisRunStore.replicaFor}: appends are queued and sent once per
 * event-loop turn as one script call per run (node-redis pipelines the calls of one turn), never
 * one round trip per token. Readers on other instances follow runs through ONE blocking `XREAD`
 * loop per instance that multiplexes every followed run and this instance's control stream
 * (cancel requests), each from an explicit cursor, so no event is skipped or repeated.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import type { RedisClientType } from 'redis';
import { StreamwellError } from '../../errors/index.ts';
import type { StreamEventName } from '../../protocol/index.ts';
import type { RunStatus } from '../run.ts';
import {
  type RunEvent,
  RunEventBatch,
  type RunLogReplica,
  type RunLogSummary,
  type RunSubscriber,
} from '../run-event-log.ts';
import { controlKey, idempotencyKey, type RunKeys, runKeys } from './redis-keys.ts';
import { APPEND_SCRIPT, CREATE_SCRIPT, FINALIZE_SCRIPT, REFRESH_SCRIPT } from './redis-scripts.ts';

/** Options of {@link createRedisRunStore}. */
export interface RedisRunStoreOptions {
  /** `redis://[user:password@]host:port[/db]` (`REDIS_URL`). */
  readonly url: string;
  /** Prefix of every key (`REDIS_PREFIX`). @defaultValue `streamwell:` */
  readonly prefix?: string;
  /**
   * How long a producer's lease lasts without a refresh (`RUN_LEASE_MS`); a run whose producer
   * died is ended with `producer_lost` at most about this long after the death. @defaultValue 10000
   */
  readonly leaseMs?: number;
  /** How long a finished run stays resumable (`STREAM_RETENTION_MS`). @defaultValue 300000 */
  readonly retentionMs?: number;
  /** Upper bound of a run's duration, for the keys' safety expiry. @defaultValue 3600000 */
  readonly maxRunMs?: number;
  /** This instance's id. @defaultValue 96 random bits */
  readonly instanceId?: string;
  /**
   * How long one blocking read of the reader loop waits for new events. The loop is woken early
   * when a reader is added, so this bounds only how often an idle loop asks. @defaultValue 1000
   */
  readonly readBlockMs?: number;
  /** Something went wrong talking to Redis (logs). Never throws into the store. */
  readonly onError?: (error: unknown, context: string) => void;
}

/** A run as read from Redis. */
export interface RemoteRunSnapshot {
  readonly id: string;
  readonly threadId: string;
  readonly owner: string | undefined;
  /** The instance producing (or that produced) the run. */
  readonly instance: string;
  readonly status: RunStatus;
  readonly outcome: string;
  readonly tokens: number;
  readonly textLength: number;
  /** The newest event id in Redis when read. */
  readonly lastEventId: number;
  /** Whether the producer's lease was alive when read. */
  readonly leaseAlive: boolean;
}

/** Why a producer's replica gave up: its run must end with this code. */
export type ReplicaFailure = 'producer_lost' | 'store_unavailable';

/** The store. */
export interface RedisRunStore {
  /** This instance's id. */
  readonly instanceId: string;
  /** Key prefix in use. */
  readonly prefix: string;
  /** Registers a new run (metadata and lease). Rejects with `store_unavailable`. */
  createRun(run: { id: string; threadId: string; owner: string | undefined }): Promise<void>;
  /**
   * The replica a local run writes through.
   *
   * @param onFailure - called once when the run can no longer be replicated (lease lost, Redis down)
   */
  replicaFor(streamId: string, onFailure: (failure: ReplicaFailure) => void): RunLogReplica;
  /** Reads a run's metadata and newest id; undefined when unknown or expired. */
  lookup(streamId: string): Promise<RemoteRunSnapshot | undefined>;
  /**
   * Follows a run from a cursor: the events after it, then live ones, delivered to `subscriber`
   * in order until the terminal event.
   *
   * @returns detach
   */
  follow(streamId: string, after: number | undefined, subscriber: RunSubscriber): () => void;
  /** Ends a run whose producer's lease lapsed with `producer_lost`; false when it has a live producer or has ended. */
  takeOver(streamId: string): Promise<boolean>;
  /** Asks the producing instance to cancel a run. */
  requestCancel(instance: string, streamId: string): Promise<void>;
  /**
   * Claims an idempotency key for a new stream, or returns the stream that already has it.
   *
   * @returns undefined when claimed; else the existing stream id and the hash of its message
   */
  claimIdempotencyKey(
    owner: string | undefined,
    key: string,
    streamId: string,
    message: string,
  ): Promise<{ streamId: string; sameMessage: boolean } | undefined>;
  /** Whether a reader on any instance follows the run (the disconnect grace). */
  isFollowed(streamId: string): Promise<boolean>;
  /** Called with each cancel request for a run this instance produces. */
  onCancelRequest: ((streamId: string) => void) | undefined;
  /**
   * Sends one command on the store's connection, for companions that keep their own keys under
   * {@link RedisRunStore.prefix} (the chat index). Rejects while Redis is unreachable.
   */
  sendCommand(args: readonly string[]): Promise<unknown>;
  /** Stops the loops and closes both connections. */
  close(): Promise<void>;
}

const TERMINAL = new Set(['done', 'error']);
const STATUSES: ReadonlySet<string> = new Set(['running', 'complete', 'cancelled', 'error', 'timeout']);

/** The message of the `producer_lost` terminal event. */
export const PRODUCER_LOST_MESSAGE =
  'The server instance producing this reply stopped; the text so far is kept. Send the message again to retry.';

/**
 * Hides a password in a Redis URL for messages and logs.
 *
 * @param url - a Redis URL
 * @returns the URL with any password replaced by `***`
 */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/**
 * The `503 store_unavailable` error of a failed Redis command. @internal
 *
 * @param cause - the command's failure
 * @returns the error
 */
export function storeUnavailable(cause: unknown): StreamwellError {
  return new StreamwellError('store_unavailable', 'The run store (Redis) is unavailable; retry shortly.', {
    status: 503,
    retryable: true,
    cause,
  });
}

function encodeOwner(owner: string | undefined): string {
  return owner === undefined ? '' : `=${owner}`;
}

function decodeOwner(value: string): string | undefined {
  return value === '' ? undefined : value.slice(1);
}

/** `0-<n>` → n. */
function eventIdOf(entryId: string): number {
  return Number(entryId.slice(entryId.indexOf('-') + 1));
}

type RawEntry = [string, string[]];

function toRunEvent(entry: RawEntry): RunEvent {
  const fields = entry[1];
  return { id: eventIdOf(entry[0]), event: fields[1] as StreamEventName, json: fields[3] as string };
}

/** One reader of a followed run, with its own cursor (readers join at different cursors). */
interface Follower {
  readonly subscriber: RunSubscriber;
  lastId: number;
  done: boolean;
}

interface Follow {
  readonly streamId: string;
  readonly keys: RunKeys;
  /** The cursor the loop reads from: the lowest of its followers'. */
  cursor: number;
  readonly followers: Set<Follower>;
  /** `performance.now()` when the loop last delivered an event of this run. */
  lastEventAt: number;
}

/**
 * Connects to Redis and starts the reader loop.
 *
 * @param options - URL, prefix, lease and retention
 * @returns the store
 * @throws StreamwellError `store_unavailable` when Redis cannot be reached at start (the message names the URL)
 */
export async function createRedisRunStore(options: RedisRunStoreOptions): Promise<RedisRunStore> {
  let redis: typeof import('redis');
  try {
    redis = await import('redis');
  } catch (cause) {
    throw new StreamwellError(
      'invalid_config',
      'REDIS_URL is set but the `redis` package is not installed: npm install redis@6',
      {
        cause,
      },
    );
  }
  const prefix = options.prefix ?? 'streamwell:';
  const leaseMs = options.leaseMs ?? 10_000;
  const retentionMs = options.retentionMs ?? 300_000;
  const maxRunMs = options.maxRunMs ?? 3_600_000;
  const instanceId = options.instanceId ?? randomBytes(12).toString('base64url');
  const onError = options.onError ?? (() => {});
  const readBlockMs = String(options.readBlockMs ?? 1000);
  // Keys of a run that nobody finalizes (every instance gone) still expire.
  const safetyTtlMs = maxRunMs + retentionMs + leaseMs;
  let connectedOnce = false;
  const client = redis.createClient({
    url: options.url,
    // Commands fail at once while disconnected (runs end with store_unavailable) instead of
    // queueing without bound.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 5000,
      // At start a failure is final (the server exits naming REDIS_URL); later, reconnect with
      // capped backoff for as long as it takes.
      reconnectStrategy: (retries: number, cause: Error) => (connectedOnce ? Math.min(50 * 2 ** retries, 2000) : cause),
    },
  }) as unknown as RedisClientType;
  client.on('error', (error: unknown) => onError(error, 'redis connection'));
  try {
    await client.connect();
  } catch (cause) {
    throw new StreamwellError(
      'store_unavailable',
      `Cannot connect to Redis at REDIS_URL=${redactRedisUrl(options.url)}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { status: 503, cause },
    );
  }
  connectedOnce = true;
  // Blocking reads hold their connection (a command behind `XREAD BLOCK` waits for it), so the
  // loop has its own.
  const blocking = client.duplicate() as RedisClientType;
  blocking.on('error', (error: unknown) => onError(error, 'redis reader connection'));
  let blockingId: string | undefined;
  blocking.on('ready', () => {
    blockingId = undefined;
  });
  await blocking.connect();

  const scripts = new Map<string, string>();
  async function evalScript(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    let sha = scripts.get(script);
    if (sha === undefined) {
      sha = createHash('sha1').update(script).digest('hex');
      scripts.set(script, sha);
    }
    try {
      return await client.sendCommand(['EVALSHA', sha, String(keys.length), ...keys, ...args]);
    } catch (error) {
      // After a Redis restart its script cache is empty.
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return client.sendCommand(['EVAL', script, String(keys.length), ...keys, ...args]);
      }
      throw error;
    }
  }

  const ctlKey = controlKey(prefix, instanceId);
  let ctlCursor = '0-0';
  const follows = new Map<string, Follow>();
  /** Local runs being produced, for lease refreshes. */
  const producing = new Map<string, ProducerReplica>();
  let closed = false;
  let blocked = false;
  let unblockSent = false;
  /** Counts the loop's reads, so that a late wake-up retry knows whether its read is still pending. */
  let readNumber = 0;
  const store: RedisRunStore = {
    instanceId,
    prefix,
    onCancelRequest: undefined,
    sendCommand: (args) => client.sendCommand([...args]),
    async createRun(run) {
      const keys = runKeys(prefix, run.id);
      try {
        await evalScript(
          CREATE_SCRIPT,
          [keys.meta, keys.lease],
          [instanceId, String(leaseMs), String(safetyTtlMs), encodeOwner(run.owner), run.threadId, String(Date.now())],
        );
      } catch (error) {
        throw storeUnavailable(error);
      }
    },
    replicaFor(streamId, onFailure) {
      const replica = new ProducerReplica(streamId, runKeys(prefix, streamId), onFailure);
      producing.set(streamId, replica);
      return replica;
    },
    async lookup(streamId) {
      const keys = runKeys(prefix, streamId);
      let meta: Record<string, string>;
      let top: RawEntry[] | null;
      let lease: string | null;
      try {
        [meta, top, lease] = (await Promise.all([
          client.sendCommand(['HGETALL', keys.meta]).then(pairsToRecord),
          client.sendCommand(['XREVRANGE', keys.events, '+', '-', 'COUNT', '1']),
          client.sendCommand(['GET', keys.lease]),
        ])) as unknown as [Record<string, string>, RawEntry[] | null, string | null];
      } catch (error) {
        throw storeUnavailable(error);
      }
      if (meta.status === undefined || !STATUSES.has(meta.status)) return undefined;
      const newest = top?.[0];
      return {
        id: streamId,
        threadId: meta.thread ?? '',
        owner: decodeOwner(meta.owner ?? ''),
        instance: meta.instance ?? '',
        status: meta.status as RunStatus,
        outcome: meta.outcome ?? '',
        tokens: Number(meta.tokens ?? 0),
        textLength: Number(meta.textLength ?? 0),
        lastEventId: meta.last === undefined ? (newest === undefined ? 0 : eventIdOf(newest[0])) : Number(meta.last),
        leaseAlive: lease !== null,
      };
    },
    follow(streamId, after, subscriber) {
      const follower: Follower = { subscriber, lastId: Math.max(0, after ?? 0), done: false };
      let follow = follows.get(streamId);
      if (follow === undefined) {
        follow = {
          streamId,
          keys: runKeys(prefix, streamId),
          cursor: follower.lastId,
          followers: new Set(),
          lastEventAt: 0,
        };
        follows.set(streamId, follow);
        touchReaders(follow);
      }
      follow.followers.add(follower);
      if (follower.lastId < follow.cursor) follow.cursor = follower.lastId;
      wakeLoop();
      const current = follow;
      return () => {
        follower.done = true;
        current.followers.delete(follower);
        if (current.followers.size === 0 && follows.get(streamId) === current) follows.delete(streamId);
      };
    },
    async takeOver(streamId) {
      const keys = runKeys(prefix, streamId);
      const json = JSON.stringify({ error: PRODUCER_LOST_MESSAGE, code: 'producer_lost' });
      try {
        const reply = (await evalScript(
          FINALIZE_SCRIPT,
          [keys.events, keys.meta, keys.lease],
          [instanceId, 'error', json, String(retentionMs), 'error', 'producer_lost', '0', '0', ''],
        )) as [number, unknown];
        return Number(reply[0]) === 1;
      } catch (error) {
        throw storeUnavailable(error);
      }
    },
    async requestCancel(instance, streamId) {
      const key = controlKey(prefix, instance);
      try {
        await client.sendCommand(['XADD', key, 'MAXLEN', '~', '1000', '*', 'c', streamId]);
        await client.sendCommand(['PEXPIRE', key, String(Math.max(60_000, leaseMs * 6))]);
      } catch (error) {
        throw storeUnavailable(error);
      }
    },
    async claimIdempotencyKey(owner, key, streamId, message) {
      const scope = createHash('sha256')
        .update(`${owner ?? ''}\u0000${key}`)
        .digest('base64url');
      const digest = createHash('sha256').update(message).digest('base64url');
      const redisKey = idempotencyKey(prefix, scope);
      try {
        const set = await client.sendCommand([
          'SET',
          redisKey,
          `${streamId} ${digest}`,
          'NX',
          'PX',
          String(safetyTtlMs),
          'GET',
        ]);
        if (set === null) return undefined;
        const [existing = '', existingDigest = ''] = String(set).split(' ');
        return { streamId: existing, sameMessage: existingDigest === digest };
      } catch (error) {
        throw storeUnavailable(error);
      }
    },
    async isFollowed(streamId) {
      const reply = await client.sendCommand(['EXISTS', runKeys(prefix, streamId).readers]);
      return Number(reply) === 1;
    },
    async close() {
      closed = true;
      clearInterval(maintenance);
      for (const replica of producing.values()) replica.cancelRetries();
      wakeLoop();
      await Promise.allSettled([loopDone]);
      await Promise.allSettled([blocking.close(), client.close()]);
    },
  };

  /** Restarts the blocking read so that it reads the new key set (CLIENT UNBLOCK: well under 0.1 s). */
  function wakeLoop(): void {
    if (!blocked || unblockSent || blockingId === undefined) return;
    unblockSent = true;
    const read = readNumber;
    let attempts = 0;
    const unblock = (): void => {
      // While the reader connection reconnects its read is queued, not blocked: asking again
      // then only spins (the read restarts with the new key set once the connection is back).
      attempts += 1;
      if (blockingId === undefined || !blocking.isReady || attempts > 100) return;
      client.sendCommand(['CLIENT', 'UNBLOCK', blockingId]).then(
        (reply) => {
          // 0: nothing was blocked. The read went out on the other connection and may not have
          // reached Redis yet (the two connections are not ordered): while that same read is
          // still pending, ask again, or it would block with the old key set for readBlockMs.
          if (Number(reply) === 0 && blocked && readNumber === read) setTimeout(unblock, 1).unref();
        },
        (error: unknown) => onError(error, 'unblock'),
      );
    };
    unblock();
  }

  function touchReaders(follow: Follow): void {
    client
      .sendCommand(['SET', follow.keys.readers, '1', 'PX', String(Math.max(3000, leaseMs))])
      .catch((error: unknown) => onError(error, 'readers'));
  }

  /** Hands `entries` (the run's entries after `readFrom`, in order) to each follower they continue. */
  function deliver(follow: Follow, entries: readonly RawEntry[], readFrom: number): void {
    const events = entries.map(toRunEvent);
    const newest = events[events.length - 1];
    if (newest === undefined) return;
    const batch = new RunEventBatch(events);
    const ended = TERMINAL.has(newest.event);
    follow.lastEventAt = performance.now();
    for (const follower of [...follow.followers]) {
      if (follower.done) continue;
      // A reader that joined behind this read's cursor (while it was under way) would miss the
      // events in between: it waits for the next read, which starts at its own cursor.
      if (follower.lastId < readFrom) continue;
      // A reader that joined at a later cursor skips what it had already.
      const fresh = follower.lastId < (events[0] as RunEvent).id ? batch : freshPart(events, follower.lastId);
      if (fresh === undefined) continue;
      follower.lastId = newest.id;
      try {
        if (fresh.events.length === 1) follower.subscriber.onEvent(fresh.events[0] as RunEvent, fresh);
        else if (follower.subscriber.onEvents !== undefined) follower.subscriber.onEvents(fresh);
        else for (const event of fresh.events) follower.subscriber.onEvent(event, new RunEventBatch([event]));
      } catch {
        // A throwing subscriber must not stop the loop (as in the memory log).
      }
      if (ended) follower.done = true;
    }
    // The lowest cursor of those still reading: a reader that joined during this read may be behind.
    let cursor = newest.id;
    for (const follower of follow.followers) if (!follower.done && follower.lastId < cursor) cursor = follower.lastId;
    follow.cursor = cursor;
    if (ended) {
      // Only the readers that got the end are done: one that joined behind this read still needs
      // the events in between and the end, from the next read at its own cursor.
      for (const follower of [...follow.followers]) if (follower.done) follow.followers.delete(follower);
      if (follow.followers.size === 0 && follows.get(follow.streamId) === follow) follows.delete(follow.streamId);
    }
  }

  async function loop(): Promise<void> {
    let failures = 0;
    while (!closed) {
      // Before the key set is taken: a reader added during this round trip is then in it (it
      // could not unblock a read that has no client id yet).
      if (blockingId === undefined) {
        try {
          blockingId = String(await blocking.sendCommand(['CLIENT', 'ID']));
        } catch (error) {
          if (closed) break;
          onError(error, 'reader loop');
          await new Promise((resolve) => setTimeout(resolve, 250).unref());
          continue;
        }
      }
      const keys = [ctlKey];
      const ids = [ctlCursor];
      // The cursor each run is read from: a reader that joins while the read is under way may
      // be behind it (see deliver).
      const readFrom = new Map<string, number>();
      for (const follow of follows.values()) {
        keys.push(follow.keys.events);
        ids.push(`0-${follow.cursor}`);
        readFrom.set(follow.streamId, follow.cursor);
      }
      let reply: unknown;
      try {
        blocked = true;
        unblockSent = false;
        readNumber += 1;
        reply = await blocking.sendCommand(['XREAD', 'COUNT', '512', 'BLOCK', readBlockMs, 'STREAMS', ...keys, ...ids]);
        blocked = false;
        failures = 0;
      } catch (error) {
        blocked = false;
        if (closed) break;
        onError(error, 'reader loop');
        failures += 1;
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** failures, 2000)).unref());
        continue;
      }
      if (reply === null || reply === undefined) continue;
      // RESP3 (node-redis' default) answers a map, RESP2 an array of [key, entries] pairs.
      const streams = (Array.isArray(reply) ? reply : Object.entries(reply as object)) as [string, RawEntry[]][];
      for (const [key, entries] of streams) {
        if (key === ctlKey) {
          for (const entry of entries) {
            ctlCursor = entry[0];
            const streamId = entry[1][1];
            if (streamId !== undefined) store.onCancelRequest?.(streamId);
          }
          continue;
        }
        const streamId = key.slice(key.indexOf('{') + 1, key.lastIndexOf('}'));
        const follow = follows.get(streamId);
        const from = readFrom.get(streamId);
        if (follow !== undefined && from !== undefined) deliver(follow, entries, from);
      }
    }
  }

  /** Lease refreshes for local runs; reader presence, lapsed leases and expiry for followed ones. */
  async function maintain(): Promise<void> {
    for (const replica of producing.values()) replica.refresh();
    const now = performance.now();
    for (const follow of [...follows.values()]) {
      touchReaders(follow);
      // A run whose events arrived within a lease is alive and not expired: no lookup (three
      // commands) per followed run and second while it streams.
      if (now - follow.lastEventAt < leaseMs) continue;
      try {
        const snapshot = await store.lookup(follow.streamId);
        if (snapshot === undefined) {
          // Expired while followed: tell the readers, as the memory log does on eviction.
          follows.delete(follow.streamId);
          for (const follower of follow.followers) follower.subscriber.onEvicted?.();
        } else if (snapshot.status === 'running' && !snapshot.leaseAlive) {
          // The producer died (or was cut off) and its lease lapsed: end the run for everyone.
          // The terminal event reaches the readers through the loop, like any other.
          await store.takeOver(follow.streamId);
        }
      } catch (error) {
        onError(error, 'follow maintenance');
      }
    }
  }

  /** The producer side of one run: queued appends, one script call per turn, lease refreshes. */
  class ProducerReplica implements RunLogReplica {
    readonly #streamId: string;
    readonly #keys: RunKeys;
    readonly #onFailure: (failure: ReplicaFailure) => void;
    #queue: string[] = [];
    #scheduled = false;
    #failed = false;
    #retry: ReturnType<typeof setTimeout> | undefined;

    constructor(streamId: string, keys: RunKeys, onFailure: (failure: ReplicaFailure) => void) {
      this.#streamId = streamId;
      this.#keys = keys;
      this.#onFailure = onFailure;
    }

    append(id: number, event: StreamEventName, json: string): void {
      if (this.#failed) return;
      this.#queue.push(String(id), event, json);
      if (!this.#scheduled) {
        this.#scheduled = true;
        // Everything one upstream read produced is appended in this turn: one call for all.
        queueMicrotask(() => this.#flush());
      }
    }

    finalize(id: number, event: 'done' | 'error', json: string, summary: RunLogSummary): void {
      producing.delete(this.#streamId);
      // Appends still queued go first, on the same connection, so they land before the end.
      this.#flush();
      const args = [
        instanceId,
        event,
        json,
        String(retentionMs),
        summary.status,
        summary.outcome,
        String(summary.tokens),
        String(summary.textLength),
        String(id),
      ];
      this.#finalize(args, 0);
    }

    refresh(): void {
      evalScript(REFRESH_SCRIPT, [this.#keys.lease], [instanceId, String(leaseMs)]).then(
        (held) => {
          if (Number(held) !== 1) this.#fail('producer_lost');
        },
        (error: unknown) => {
          onError(error, 'lease refresh');
          this.#fail('store_unavailable');
        },
      );
    }

    cancelRetries(): void {
      if (this.#retry !== undefined) clearTimeout(this.#retry);
    }

    #flush(): void {
      this.#scheduled = false;
      if (this.#queue.length === 0 || this.#failed) return;
      const args = this.#queue;
      this.#queue = [];
      evalScript(APPEND_SCRIPT, [this.#keys.events, this.#keys.lease], [instanceId, String(safetyTtlMs), ...args]).then(
        (held) => {
          if (Number(held) !== 1) this.#fail('producer_lost');
        },
        (error: unknown) => {
          onError(error, 'append');
          this.#fail(String(error).includes('equal or smaller') ? 'producer_lost' : 'store_unavailable');
        },
      );
    }

    /** Writes the terminal event; while Redis is away, retries a few times (a later resume then sees the real end). */
    #finalize(args: readonly string[], attempt: number): void {
      evalScript(FINALIZE_SCRIPT, [this.#keys.events, this.#keys.meta, this.#keys.lease], args).catch(
        (error: unknown) => {
          onError(error, 'finalize');
          if (closed || attempt >= 5) return;
          this.#retry = setTimeout(() => this.#finalize(args, attempt + 1), Math.min(500 * 2 ** attempt, 5000));
          this.#retry.unref();
        },
      );
    }

    #fail(failure: ReplicaFailure): void {
      if (this.#failed) return;
      this.#failed = true;
      this.#queue = [];
      // The run ends itself with this code; its finalize then tries to write that terminal event
      // (refused if another instance already ended the run: one terminal event in Redis).
      this.#onFailure(failure);
    }
  }

  const maintenance = setInterval(
    () => {
      void maintain();
    },
    Math.max(100, Math.min(1000, Math.floor(leaseMs / 3))),
  );
  maintenance.unref();
  const loopDone = loop();
  return store;
}

function pairsToRecord(reply: unknown): Record<string, string> {
  const record: Record<string, string> = {};
  if (Array.isArray(reply)) {
    for (let index = 0; index + 1 < reply.length; index += 2) record[String(reply[index])] = String(reply[index + 1]);
  } else if (reply !== null && typeof reply === 'object') {
    for (const [key, value] of Object.entries(reply)) record[key] = String(value);
  }
  return record;
}

/** The events of `events` after `lastId`, as a batch; undefined when none. */
function freshPart(events: readonly RunEvent[], lastId: number): RunEventBatch | undefined {
  const fresh = events.filter((event) => event.id > lastId);
  return fresh.length === 0 ? undefined : new RunEventBatch(fresh);
}
