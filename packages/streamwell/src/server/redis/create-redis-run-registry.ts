/**
 * The run registry of several instances sharing Redis: runs started here are produced by this
 * process's {@link LocalRunRegistry} and replicated to Redis; a stream id this process does not
 * produce leads to the run in Redis, produced by another instance (a {@link RemoteRun}).
 *
 * Through any instance: resume from any cursor (the same ids, names and data), cancel (sent to
 * the producer's control stream; its upstream request is aborted as on a local cancel), the same
 * `Idempotency-Key` gives the same stream, and ownership holds. A producer that dies leaves its
 * readers the events it produced and then one `error` event `producer_lost`, once its lease
 * lapses. docs/scaling.md describes the topology and each failure.
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';
import type { Run, RunStatus } from '../run.ts';
import type { RunAttachment, RunSubscriber } from '../run-event-log.ts';
import type { RunHandle } from '../run-handle.ts';
import {
  createRunRegistry,
  createStreamId,
  type LocalRunRegistry,
  type RunRegistry,
  type RunRegistryOptions,
  type StartRequest,
  type StartResult,
} from '../run-registry.ts';
import type { RedisRunStore, RemoteRunSnapshot } from './create-redis-run-store.ts';

/** Options of {@link createRedisRunRegistry}: the local registry's, plus the store. */
export interface RedisRunRegistryOptions extends Omit<RunRegistryOptions, 'replicaFor' | 'followedElsewhere'> {
  /** The connected store ({@link createRedisRunStore}). */
  readonly store: RedisRunStore;
  /** How long a remote cancel waits for the producer's terminal event. @defaultValue 3000 */
  readonly cancelWaitMs?: number;
}

/** The registry of several instances. */
export interface RedisRunRegistry extends RunRegistry {
  /** The runs this process produces. */
  readonly local: LocalRunRegistry;
  /** The shared store. */
  readonly store: RedisRunStore;
}

/** A run produced by another instance, as read from Redis. */
export class RemoteRun implements RunHandle {
  readonly local = false;
  readonly id: string;
  readonly threadId: string;
  readonly owner: string | undefined;
  readonly status: RunStatus;
  readonly outcome: string;
  readonly tokens: number;
  readonly lastEventId: number;
  readonly textLength: number;
  /** The producing instance. */
  readonly instance: string;

  /** @param snapshot - the run as read from Redis */
  constructor(snapshot: RemoteRunSnapshot) {
    this.id = snapshot.id;
    this.threadId = snapshot.threadId;
    this.owner = snapshot.owner;
    this.status = snapshot.status;
    this.outcome = snapshot.outcome;
    this.tokens = snapshot.tokens;
    this.lastEventId = snapshot.lastEventId;
    this.textLength = snapshot.textLength;
    this.instance = snapshot.instance;
  }
}

/**
 * Creates the registry of an instance that shares runs through Redis.
 *
 * @param options - the local registry's options and the store
 * @returns the registry
 * @example
 * const store = await createRedisRunStore({ url: process.env.REDIS_URL });
 * const registry = createRedisRunRegistry({ provider, store });
 * const handler = createStreamHandler({ registry });
 */
export function createRedisRunRegistry(options: RedisRunRegistryOptions): RedisRunRegistry {
  const { store, cancelWaitMs = 3000, ...localOptions } = options;
  const local: LocalRunRegistry = createRunRegistry({
    ...localOptions,
    replicaFor: (run) =>
      store.replicaFor(run.id, (failure) => {
        const produced = local.getLocal(run.id);
        if (failure === 'producer_lost') {
          produced?.fail(
            'producer_lost',
            'This server instance lost its lease on the reply (it was paused or cut off from Redis).',
          );
        } else {
          produced?.fail('store_unavailable', 'The run store (Redis) became unavailable, so the reply was stopped.');
        }
      }),
    followedElsewhere: (streamId) => store.isFollowed(streamId),
  });
  // Cancels sent by other instances for runs produced here.
  store.onCancelRequest = (streamId) => {
    local.getLocal(streamId)?.cancel();
  };

  /** The run in Redis; a lapsed producer is ended first, so the reader sees `producer_lost` at once. */
  async function lookupRemote(streamId: string, owner: string | undefined): Promise<RemoteRun | undefined> {
    let snapshot = await store.lookup(streamId);
    if (snapshot === undefined || snapshot.owner !== owner) return undefined;
    if (snapshot.status === 'running' && !snapshot.leaseAlive && (await store.takeOver(streamId))) {
      snapshot = await store.lookup(streamId);
      if (snapshot === undefined) return undefined;
    }
    return new RemoteRun(snapshot);
  }

  /** Resolves once the remote run has ended (or after `ms`). */
  function waitForEnd(run: RemoteRun, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let detach = (): void => {};
      const timer = setTimeout(() => {
        detach();
        resolve();
      }, ms);
      timer.unref();
      const done = (): void => {
        clearTimeout(timer);
        detach();
        resolve();
      };
      detach = store.follow(run.id, run.lastEventId, {
        onEvent: (event) => {
          if (event.event === 'done' || event.event === 'error') done();
        },
        onEvents: (batch) => {
          const last = batch.events[batch.events.length - 1];
          if (last !== undefined && (last.event === 'done' || last.event === 'error')) done();
        },
        onEvicted: done,
      });
    });
  }

  return {
    local,
    store,
    async start(request: StartRequest): Promise<StartResult> {
      if (local.draining) return local.start(request);
      const streamId = request.streamId ?? createStreamId();
      const threadId = request.threadId ?? createStreamId();
      if (request.idempotencyKey !== undefined) {
        const claimed = await store.claimIdempotencyKey(
          request.owner,
          request.idempotencyKey,
          streamId,
          request.message,
        );
        if (claimed !== undefined) {
          if (!claimed.sameMessage) {
            throw new StreamwellError(
              'idempotency_conflict',
              'This Idempotency-Key was already used with a different message.',
              { status: 409 },
            );
          }
          const existing =
            local.get(claimed.streamId, request.owner) ?? (await lookupRemote(claimed.streamId, request.owner));
          if (existing !== undefined) return { run: existing, created: false };
          throw new StreamwellError('not_found', 'The stream of this Idempotency-Key has expired.', { status: 404 });
        }
      }
      // The metadata and lease go out before the run's first append (same connection, in order);
      // the model request starts meanwhile.
      const created = store.createRun({ id: streamId, threadId, owner: request.owner });
      let result: StartResult<Run>;
      try {
        result = local.start({ ...request, idempotencyKey: undefined, streamId, threadId });
      } catch (error) {
        created.catch(() => {});
        throw error;
      }
      try {
        await created;
      } catch (error) {
        result.run.fail('store_unavailable', 'The run store (Redis) is unavailable.');
        throw error;
      }
      return result;
    },

    async get(streamId, owner) {
      const run = local.getLocal(streamId);
      if (run !== undefined) return local.get(streamId, owner);
      return lookupRemote(streamId, owner);
    },

    attach(run: RunHandle, after: number | undefined, subscriber: RunSubscriber): RunAttachment {
      if (run.local) return local.attach(run, after, subscriber);
      // An ended run read at its terminal event has nothing more to deliver (as a local run): a
      // follow from there would wait for an entry that never comes.
      if (run.status !== 'running' && after !== undefined && after >= run.lastEventId) {
        return { backlog: [], live: false, detach: () => {} };
      }
      // The backlog is read by the loop and delivered to the subscriber, followed by live events.
      const detach = store.follow(run.id, after, subscriber);
      return { backlog: [], live: true, detach };
    },

    async cancel(streamId, owner) {
      if (local.getLocal(streamId) !== undefined) return local.cancel(streamId, owner);
      const run = await lookupRemote(streamId, owner);
      if (run === undefined || run.status !== 'running') return run;
      await store.requestCancel(run.instance, streamId);
      await waitForEnd(run, cancelWaitMs);
      return (await lookupRemote(streamId, owner)) ?? run;
    },

    get activeCount() {
      return local.activeCount;
    },
    get retainedCount() {
      return local.retainedCount;
    },
    get retainedBytes() {
      return local.retainedBytes;
    },
    get draining() {
      return local.draining;
    },
    get threads() {
      return local.threads;
    },
    shutdown: (deadlineMs) => local.shutdown(deadlineMs),
    close: () => local.close(),
  };
}
