/**
 * What every route module of the reference server gets: configuration, the run registry, the
 * HTTP stream core, the thread store, logger, metrics, and the same auth and origin checks the stream endpoints
 * use (so that a new transport, like the WebSocket route, cannot drift from them).
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type {
  ChatHandler,
  ChatKitHandler,
  ConnectionLimiter,
  Conversations,
  LocalRunRegistry,
  Provider,
  RedisRunStore,
  RunRegistry,
  StreamHandler,
  ThreadStore,
} from 'streamwell/server';
import type { ServerConfig } from './config.ts';
import type { ServerMetrics } from './create-server-metrics.ts';

/** Shared state of one app. */
export interface AppContext {
  readonly config: ServerConfig;
  readonly provider: Provider;
  /** Where streams start and are found: the in-process registry, or the Redis one (`REDIS_URL`). */
  readonly registry: RunRegistry;
  /** The runs this process produces (the same object as `registry` without `REDIS_URL`). */
  readonly localRuns: LocalRunRegistry;
  /** The Redis run store, with `REDIS_URL`. */
  readonly runStore: RedisRunStore | undefined;
  /** The framework-agnostic HTTP core serving `/api/stream/message` and `/api/streams/*`. */
  readonly streams: StreamHandler;
  /** The self-hosted ChatKit backend (`/chatkit`), on the same registry and thread store. */
  readonly chatkit: ChatKitHandler;
  /** Durable conversations (`DATABASE_URL`: SQLite by default, or PostgreSQL), migrated at start. */
  readonly threads: ThreadStore;
  /** Writes each message and reply to `threads` around the runs. */
  readonly conversations: Conversations;
  /** The AI SDK chat endpoints (`/api/chat`, `/api/chat/*`), on the same runs and writer. */
  readonly chat: ChatHandler;
  /** Open event streams and WebSocket sockets, against their caps (shared by every route). */
  readonly connections: ConnectionLimiter;
  readonly log: Logger;
  readonly metrics: ServerMetrics;
  /** This process's worker id with `WORKERS` > 1, else undefined. */
  readonly worker: number | undefined;
  /** The `/metrics` text: this process's registry, or with workers every worker's, aggregated. */
  metricsText(): Promise<string>;
  /**
   * The principal for a bearer credential (the `API_KEYS` id), or undefined when auth is off.
   *
   * @throws StreamwellError `unauthorized` (401)
   */
  authenticate(credential: string | undefined, request?: IncomingMessage): string | undefined;
  /** Whether a request from `origin` may proceed (own origin or `CORS_ORIGINS`). */
  isOriginAllowed(origin: string, request: IncomingMessage): boolean;
  /** Whether the request's `Host` is one this server answers to (`HOST` and `ALLOWED_HOSTS`). */
  isHostAllowed(request: IncomingMessage): boolean;
}
