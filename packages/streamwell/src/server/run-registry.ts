/**
 * The run registry: starts runs, finds them by id for resume and cancel, enforces ownership,
 * idempotency, concurrency and retention limits, cancels abandoned runs after a grace period,
 * and drains on shutdown. Transport-free: HTTP and WebSocket adapters sit on top of it.
 *
 * @module
 */
import { StreamwellError } from '../errors/index.ts';
import { createMemoryRunEventLog } from './memory-run-event-log.ts';
import type { ChatMessage, Provider } from './provider.ts';
import { createRun, type RetentionCounter, type Run, type RunLimits, type RunObserver } from './run.ts';
import type { RunAttachment, RunLogReplica, RunSubscriber } from './run-event-log.ts';
import type { RunHandle } from './run-handle.ts';
import { createThreadStore, type ThreadStore } from './thread-store.ts';
import { DEFAULT_UPSTREAM_RETRY_POLICY } from './upstream-retry.ts';

/** Options of {@link createRunRegistry}. Every limit has a default. */
export interface RunRegistryOptions {
  readonly provider: Provider;
  /** @defaultValue 0 (disabled): the idle timeout covers a silent model after the first token */
  readonly firstTokenTimeoutMs?: number;
  /** @defaultValue 0 (disabled) */
  readonly idleTimeoutMs?: number;
  /** @defaultValue 120000 */
  readonly streamTimeoutMs?: number;
  /** @defaultValue 50 */
  readonly checkpointEvery?: number;
  /** How long a finished run stays resumable. @defaultValue 300000 */
  readonly retentionMs?: number;
  /** How long a running run with no subscriber keeps going before it is cancelled. @defaultValue 30000 */
  readonly disconnectGraceMs?: number;
  /** Most running runs at once; past it `start` throws `too_many_streams`. @defaultValue 1000 */
  readonly maxConcurrentStreams?: number;
  /**
   * Most running runs one owner (principal) may have at once in this registry; past it `start`
   * throws `too_many_principal_streams` (429). Runs without an owner are not counted. Keeps one
   * API key from taking every slot of {@link RunRegistryOptions.maxConcurrentStreams}. 0 disables.
   * @defaultValue 0 (disabled)
   */
  readonly maxStreamsPerOwner?: number;
  /**
   * Most upstream attempts per run. A failure before the first byte of the upstream's answer
   * (connection refused or reset, HTTP 408, 429, 502, 503) is retried with exponential backoff and
   * jitter (250 ms doubling, at most 4 s; the upstream's `Retry-After` when it sends one) while
   * nothing was relayed and the first-token budget allows. 1 disables retries.
   * @defaultValue 4
   */
  readonly maxUpstreamAttempts?: number;
  /** Most bytes one run retains. @defaultValue 8 MiB */
  readonly maxRunBytes?: number;
  /** Most bytes all runs retain together; finished runs are evicted oldest first past it. @defaultValue 256 MiB */
  readonly maxTotalBytes?: number;
  /** Thread store; an in-memory one by default. */
  readonly threads?: ThreadStore;
  /** Hooks for logs and metrics. */
  readonly observer?: RegistryObserver;
  /** Makes stream ids; 144 random bits by default. */
  readonly createId?: () => string;
  /** Maps a provider failure to a client-safe message. */
  readonly describeError?: (error: unknown) => string;
  /**
   * A shared store's copy of each run's log (several instances): called once per started run.
   * Used by store adapters such as `createRedisRunRegistry`; leave unset for one process.
   */
  readonly replicaFor?: (run: RunIdentity) => RunLogReplica | undefined;
  /**
   * Asked before a run nobody here follows is stopped as abandoned: resolve true when a reader
   * elsewhere (another instance) still follows it, and the grace period starts over.
   */
  readonly followedElsewhere?: (streamId: string) => Promise<boolean>;
}

/** Who a run is, before it starts. */
export interface RunIdentity {
  readonly id: string;
  readonly threadId: string;
  readonly owner: string | undefined;
}

/** Run hooks plus registry-level ones. */
export interface RegistryObserver extends RunObserver {
  onStart?(run: Run): void;
  /** A run was cancelled because nobody was attached for the grace period. */
  onAbandoned?(run: Run): void;
  /** The thread store failed to record a finished exchange; the run itself is unaffected. */
  onThreadStoreError?(run: Run, error: unknown): void;
}

/** What the caller asks for in {@link RunRegistry.start}. */
export interface StartRequest {
  readonly message: string;
  readonly threadId?: string | undefined;
  readonly owner?: string | undefined;
  readonly idempotencyKey?: string | undefined;
  /**
   * The messages to send to the model, ending with the new user message, when the caller keeps
   * the conversation itself (a durable thread store): the registry's own thread store is then
   * neither read nor written for this run.
   */
  readonly history?: readonly ChatMessage[] | Promise<readonly ChatMessage[]> | undefined;
  /**
   * A stream id made by the caller (a store adapter that claims it before the run starts).
   * @internal
   */
  readonly streamId?: string | undefined;
}

/** Result of {@link RunRegistry.start}. */
export interface StartResult<R extends RunHandle = RunHandle> {
  readonly run: R;
  /** False when an idempotency key matched an existing run (no second model call). */
  readonly created: boolean;
}

/**
 * The registry port that transports use: where runs start and where a stream id leads to its
 * run, in this process ({@link createRunRegistry}) or in a store shared by several instances
 * (`createRedisRunRegistry`). A call may answer synchronously or with a promise; transports
 * accept both.
 */
export interface RunRegistry {
  /**
   * Starts a run (or returns the run an idempotency key already started).
   *
   * @throws StreamwellError `too_many_streams` (429), `shutting_down` (503),
   *   `idempotency_conflict` (409), `not_found` (404, a thread of another principal),
   *   `store_unavailable` (503, a shared store)
   */
  start(request: StartRequest): StartResult | Promise<StartResult>;
  /**
   * The run with this id if it is retained and belongs to `owner`; otherwise undefined (a run of
   * another principal is reported as unknown, so ids cannot be probed).
   */
  get(streamId: string, owner: string | undefined): RunHandle | undefined | Promise<RunHandle | undefined>;
  /**
   * Attaches a subscriber to a run this registry returned, tracking it for the disconnect grace
   * period. Detach when the connection closes.
   */
  attach(run: RunHandle, after: number | undefined, subscriber: RunSubscriber): RunAttachment;
  /**
   * Cancels a run and its upstream call, wherever it is produced. Idempotent: a finished run is
   * left as it is.
   *
   * @returns the run after the call (its final status once known), or undefined for an unknown stream
   */
  cancel(streamId: string, owner: string | undefined): RunHandle | undefined | Promise<RunHandle | undefined>;
  /** Number of running runs. */
  readonly activeCount: number;
  /** Number of retained runs (running and finished). */
  readonly retainedCount: number;
  /** Bytes retained across runs. */
  readonly retainedBytes: number;
  /** True after {@link RunRegistry.shutdown} began. */
  readonly draining: boolean;
  /** The thread store. */
  readonly threads: ThreadStore;
  /**
   * Stops accepting runs, waits up to `deadlineMs` for running ones to finish, then ends the rest
   * with `server_shutdown`. Resolves when every run has ended.
   */
  shutdown(deadlineMs: number): Promise<void>;
  /** Evicts everything and clears timers (tests, process exit). */
  close(): void;
}

/** The in-process registry: every call answers synchronously, with the {@link Run} itself. */
export interface LocalRunRegistry extends RunRegistry {
  start(request: StartRequest): StartResult<Run>;
  get(streamId: string, owner: string | undefined): Run | undefined;
  cancel(streamId: string, owner: string | undefined): Run | undefined;
  /**
   * A retained run of this process by id, whoever owns it: for a store adapter acting on a
   * request that was authorized where it was made, or a check that a run is still running here.
   */
  getLocal(streamId: string): Run | undefined;
}

/**
 * Makes an unguessable stream id: 144 random bits, base64url (24 characters).
 *
 * @returns a new id
 *
 * @internal
 */
export function createStreamId(): string {
  if (idPoolOffset + ID_BYTES > idPool.length) {
    crypto.getRandomValues(idPool);
    idPoolOffset = 0;
  }
  // 18 bytes are six 3-byte groups: 24 base64url characters, no padding.
  let id = '';
  for (let index = idPoolOffset; index < idPoolOffset + ID_BYTES; index += 3) {
    const group =
      ((idPool[index] as number) << 16) | ((idPool[index + 1] as number) << 8) | (idPool[index + 2] as number);
    id +=
      (BASE64URL[group >>> 18] as string) +
      (BASE64URL[(group >>> 12) & 63] as string) +
      (BASE64URL[(group >>> 6) & 63] as string) +
      (BASE64URL[group & 63] as string);
  }
  // Each byte of the pool is handed out once.
  idPoolOffset += ID_BYTES;
  return id;
}

/** 144 bits per id. */
const ID_BYTES = 18;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/**
 * Random bytes for 256 ids, refilled when used up: one `getRandomValues` call per 256 ids
 * instead of one per id (each call costs a syscall-backed CSPRNG round; Node's own
 * `crypto.randomUUID` pools the same way). Two ids per stream made this a visible share of the
 * per-stream cost in the benchmark's profile.
 */
const idPool = new Uint8Array(ID_BYTES * 256);
let idPoolOffset = idPool.length;

interface Entry {
  readonly run: Run;
  readonly idempotencyKey: string | undefined;
  /** The prompt, kept only with an idempotency key (to refuse a reuse with another message). */
  readonly message: string | undefined;
  subscribers: number;
  graceTimer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Creates a run registry.
 *
 * @param options - provider and limits
 * @returns the registry
 */
export function createRunRegistry(options: RunRegistryOptions): LocalRunRegistry {
  const limits: RunLimits = {
    firstTokenTimeoutMs: options.firstTokenTimeoutMs ?? 0,
    idleTimeoutMs: options.idleTimeoutMs ?? 0,
    streamTimeoutMs: options.streamTimeoutMs ?? 120_000,
    checkpointEvery: options.checkpointEvery ?? 50,
    maxRunBytes: options.maxRunBytes ?? 8 * 1024 * 1024,
    maxUpstreamAttempts: Math.max(1, options.maxUpstreamAttempts ?? DEFAULT_UPSTREAM_RETRY_POLICY.maxAttempts),
  };
  const retentionMs = options.retentionMs ?? 300_000;
  const graceMs = options.disconnectGraceMs ?? 30_000;
  const maxConcurrent = options.maxConcurrentStreams ?? 1000;
  const maxPerOwner = options.maxStreamsPerOwner ?? 0;
  // Running runs per owner; an owner leaves the map when its last run ends.
  const activeByOwner = new Map<string, number>();
  const maxTotalBytes = options.maxTotalBytes ?? 256 * 1024 * 1024;
  const threads = options.threads ?? createThreadStore();
  const createId = options.createId ?? createStreamId;
  const observer = options.observer;

  // Insertion order = start order, which the eviction below relies on.
  const entries = new Map<string, Entry>();
  const byIdempotencyKey = new Map<string, string>();
  // Every run adds to it and an evicted run takes its share back: the total without a walk.
  const retention: RetentionCounter = { bytes: 0 };
  let active = 0;
  let draining = false;
  let sweepTimer: ReturnType<typeof setInterval> | undefined;

  function idempotencyScope(owner: string | undefined, key: string): string {
    return `${owner ?? ''}\u0000${key}`;
  }

  function remove(entry: Entry): void {
    entries.delete(entry.run.id);
    if (entry.idempotencyKey !== undefined) {
      byIdempotencyKey.delete(idempotencyScope(entry.run.owner, entry.idempotencyKey));
    }
    if (entry.graceTimer !== undefined) clearTimeout(entry.graceTimer);
    entry.run.evict();
  }

  /** Drops finished runs past retention, then the oldest finished ones while over the byte cap. */
  function sweep(): void {
    const now = performance.now();
    for (const entry of entries.values()) {
      const endedAt = entry.run.endedAt;
      if (endedAt !== undefined && now - endedAt >= retentionMs) remove(entry);
    }
    for (const entry of entries.values()) {
      if (retention.bytes <= maxTotalBytes) break;
      if (entry.run.status !== 'running') remove(entry);
    }
  }

  function ensureSweeper(): void {
    if (sweepTimer !== undefined) return;
    sweepTimer = setInterval(sweep, Math.max(250, Math.min(retentionMs, 10_000)));
    sweepTimer.unref?.();
  }

  function startGrace(entry: Entry): void {
    if (entry.run.status !== 'running' || entry.graceTimer !== undefined) return;
    entry.graceTimer = setTimeout(() => {
      entry.graceTimer = undefined;
      if (entry.subscribers > 0 || entry.run.status !== 'running') return;
      if (options.followedElsewhere === undefined) abandon(entry);
      else {
        options.followedElsewhere(entry.run.id).then(
          (followed) => {
            if (followed) startGrace(entry);
            else if (entry.subscribers === 0) abandon(entry);
          },
          // The store cannot say: keep the run (its own lease and timeouts still bound it).
          () => startGrace(entry),
        );
      }
    }, graceMs);
    entry.graceTimer.unref?.();
  }

  function abandon(entry: Entry): void {
    if (entry.run.status !== 'running') return;
    observer?.onAbandoned?.(entry.run);
    entry.run.fail('abandoned', `No client was connected for ${graceMs} ms, so the run was stopped.`);
  }

  const registry: LocalRunRegistry = {
    start(request) {
      if (draining) {
        throw new StreamwellError('shutting_down', 'The server is shutting down; retry on another instance.', {
          status: 503,
          retryable: true,
        });
      }
      if (request.idempotencyKey !== undefined) {
        const existingId = byIdempotencyKey.get(idempotencyScope(request.owner, request.idempotencyKey));
        const existing = existingId === undefined ? undefined : entries.get(existingId);
        if (existing !== undefined) {
          if (existing.message !== request.message) {
            throw new StreamwellError(
              'idempotency_conflict',
              'This Idempotency-Key was already used with a different message.',
              { status: 409 },
            );
          }
          return { run: existing.run, created: false };
        }
      }
      if (active >= maxConcurrent) {
        throw new StreamwellError('too_many_streams', `At most ${maxConcurrent} streams may run at once.`, {
          status: 429,
          retryable: true,
        });
      }
      const owner = request.owner;
      if (maxPerOwner > 0 && owner !== undefined && (activeByOwner.get(owner) ?? 0) >= maxPerOwner) {
        throw new StreamwellError(
          'too_many_principal_streams',
          `At most ${maxPerOwner} streams of one principal may run at once; retry when one has ended.`,
          { status: 429, retryable: true },
        );
      }
      // Expiry is the interval's job (and `get` checks it exactly); a start only pays for a walk
      // when the byte cap is actually reached.
      if (retention.bytes > maxTotalBytes) sweep();
      if (retention.bytes > maxTotalBytes) {
        throw new StreamwellError('too_many_streams', 'The server is holding too many replies; retry shortly.', {
          status: 429,
          retryable: true,
        });
      }
      const threadId = request.threadId ?? createId();
      const history = request.history;
      const messages = history ?? threads.prepare(threadId, request.owner, request.message);
      const id = request.streamId ?? createId();
      const replica = options.replicaFor?.({ id, threadId, owner: request.owner });
      const run = createRun({
        id,
        threadId,
        owner: request.owner,
        provider: options.provider,
        messages,
        limits,
        retention,
        ...(replica === undefined ? {} : { log: createMemoryRunEventLog(replica) }),
        ...(observer === undefined ? {} : { observer }),
        ...(options.describeError === undefined ? {} : { describeError: options.describeError }),
      });
      const entry: Entry = {
        run,
        idempotencyKey: request.idempotencyKey,
        // Not kept otherwise: retained runs outlive their request by STREAM_RETENTION_MS, and the
        // prompt is not counted in the retention caps.
        message: request.idempotencyKey === undefined ? undefined : request.message,
        subscribers: 0,
        graceTimer: undefined,
      };
      entries.set(run.id, entry);
      if (request.idempotencyKey !== undefined) {
        byIdempotencyKey.set(idempotencyScope(request.owner, request.idempotencyKey), run.id);
      }
      active += 1;
      if (maxPerOwner > 0 && owner !== undefined) activeByOwner.set(owner, (activeByOwner.get(owner) ?? 0) + 1);
      observer?.onStart?.(run);
      ensureSweeper();
      // Until someone attaches, the run counts as abandoned-in-waiting.
      startGrace(entry);
      void run.finished.then(() => {
        active -= 1;
        if (maxPerOwner > 0 && owner !== undefined) {
          const left = (activeByOwner.get(owner) ?? 1) - 1;
          if (left > 0) activeByOwner.set(owner, left);
          else activeByOwner.delete(owner);
        }
        if (entry.graceTimer !== undefined) clearTimeout(entry.graceTimer);
        entry.graceTimer = undefined;
        // The caller keeps the conversation (a durable store, written from the observer).
        if (history !== undefined) return;
        // A custom store that throws must not become an unhandled rejection (which ends the
        // process) or cost the concurrency slot released above.
        try {
          threads.append(threadId, request.owner, request.message, run.text);
        } catch (error) {
          observer?.onThreadStoreError?.(run, error);
        }
      });
      return { run, created: true };
    },

    get(streamId, owner) {
      const entry = entries.get(streamId);
      if (entry === undefined || entry.run.owner !== owner) return undefined;
      const endedAt = entry.run.endedAt;
      if (endedAt !== undefined && performance.now() - endedAt >= retentionMs) {
        remove(entry);
        return undefined;
      }
      return entry.run;
    },

    getLocal(streamId) {
      return entries.get(streamId)?.run;
    },

    attach(handle, after, subscriber) {
      const entry = entries.get(handle.id);
      if (entry === undefined) {
        // Evicted between `get` and `attach`, or not a run of this registry: nothing to follow.
        return { backlog: [], live: false, detach: () => {} };
      }
      const run = entry.run;
      const attachment = run.attach(after, subscriber);
      if (!attachment.live) return attachment;
      entry.subscribers += 1;
      if (entry.graceTimer !== undefined) {
        clearTimeout(entry.graceTimer);
        entry.graceTimer = undefined;
      }
      let detached = false;
      return {
        backlog: attachment.backlog,
        live: attachment.live,
        detach() {
          if (detached) return;
          detached = true;
          attachment.detach();
          entry.subscribers -= 1;
          if (entry.subscribers === 0) startGrace(entry);
        },
      };
    },

    cancel(streamId, owner) {
      const run = registry.get(streamId, owner);
      run?.cancel();
      return run;
    },

    get activeCount() {
      return active;
    },
    get retainedCount() {
      return entries.size;
    },
    get retainedBytes() {
      return retention.bytes;
    },
    get draining() {
      return draining;
    },
    threads,

    async shutdown(deadlineMs) {
      draining = true;
      const running = [...entries.values()].map((entry) => entry.run).filter((run) => run.status === 'running');
      if (running.length === 0) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, deadlineMs);
      });
      await Promise.race([Promise.all(running.map((run) => run.finished)), deadline]);
      if (timer !== undefined) clearTimeout(timer);
      for (const run of running) run.fail('server_shutdown', 'The server is shutting down.');
      await Promise.all(running.map((run) => run.finished));
    },

    close() {
      if (sweepTimer !== undefined) clearInterval(sweepTimer);
      sweepTimer = undefined;
      for (const entry of [...entries.values()]) {
        entry.run.cancel();
        remove(entry);
      }
    },
  };
  return registry;
}
