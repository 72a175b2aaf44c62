/**
 * The reference server as a factory: `createApp(config, deps)` builds a Fastify app with every
 * endpoint of the brief, used by `main.ts` and by the tests (which inject a provider and listen
 * on port 0).
 *
 * Route modules register in {@link createApp} below, each with the shared {@link AppContext}.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  type ChatKitHandler,
  type Conversations,
  createApiKeyAuth,
  createChatHandler,
  createConnectionLimiter,
  createConversations,
  createCorsPolicy,
  createHostAllowlist,
  createHostNotAllowedError,
  createMemoryChatRunIndex,
  createOriginNotAllowedError,
  createProviderFromConfig,
  createRedisChatRunIndex,
  createRedisRunRegistry,
  createRedisRunStore,
  createRunRegistry,
  createSqlThreadStore,
  createStreamHandler,
  describeDatabase,
  type LocalRunRegistry,
  type Provider,
  parseDatabaseUrl,
  type RedisRunStore,
  type RegistryObserver,
  type RunRegistry,
  type RunRegistryOptions,
  redactRedisUrl,
  type StreamHandler,
  type ThreadStore,
} from 'streamwell/server';
import type { AppContext } from './app-context.ts';
import { registerChatKitRoutes } from './chatkit-routes.ts';
import { type ServerConfig, workerShare } from './config.ts';
import { createChatKitBackend } from './create-chatkit-backend.ts';
import { createLogger } from './create-logger.ts';
import { createRunObserver } from './create-run-observer.ts';
import { createServerFactory } from './create-server-factory.ts';
import { createServerMetrics } from './create-server-metrics.ts';
import { handleClientError, handleFrameworkError, installErrorHandlers, sendError } from './json-errors.ts';
import { registerOpsRoutes } from './ops-routes.ts';
import { registerStreamRoutes } from './stream-routes.ts';
import { registerThreadRoutes } from './thread-routes.ts';
import { registerWebRoutes } from './web-routes.ts';
import { registerWebSocketRoute } from './websocket-route.ts';

/** What tests (and embedders) may inject. */
export interface AppDeps {
  /** The model provider; by default the one the configuration selects (demo without keys). */
  readonly provider?: Provider;
  /** A pino logger; by default one at `LOG_LEVEL` writing JSON lines to stdout. */
  readonly logger?: Logger;
  /** Where the default logger writes (tests capture lines here). */
  readonly logDestination?: DestinationStream;
  /** The built web page's folder. @defaultValue `apps/web/dist` */
  readonly webRoot?: string;
  /**
   * The thread store; by default the one `DATABASE_URL` names, opened and migrated here and
   * closed at shutdown. An injected store belongs to whoever injected it (not closed here).
   */
  readonly threads?: ThreadStore;
  /**
   * Set in a worker of `WORKERS` > 1 (main.ts): its id goes on every log line (`worker`) and in
   * `/healthz`, and `/metrics` answers with every worker's metrics through `shareMetrics`.
   */
  readonly worker?: {
    readonly id: number;
    /** Makes `register` collectable by the primary; returns what `/metrics` serves. */
    readonly shareMetrics: (register: Registry) => () => Promise<string>;
  };
}

/** One registered route of {@link ServerApp.routes}. */
export interface AppRoute {
  /** Upper-case methods, e.g. `['GET', 'HEAD']`. */
  readonly methods: readonly string[];
  /** The URL pattern, e.g. `/api/threads/:threadId` or `/api/streams/*`. */
  readonly url: string;
}

/** A built app. */
export interface ServerApp {
  /** The Fastify instance (`listen`, `inject`, `server`). */
  readonly fastify: FastifyInstance;
  /** Shared state: registry, stream core, config, logger, metrics. */
  readonly context: AppContext;
  /**
   * Every HTTP route registered on Fastify (method and URL pattern, as `onRoute` saw them), for
   * audits: the security suite fails when a route appears that its auth matrix does not list.
   * The WebSocket endpoint (`GET /ws/stream`, an `upgrade` listener) is not among them.
   */
  readonly routes: readonly AppRoute[];
  /**
   * Graceful drain: refuse new streams (503 `shutting_down`), stop accepting connections, let
   * running streams finish for up to `deadlineMs`, then end the rest with `server_shutdown` and
   * close every response so clients reconnect elsewhere. Idempotent.
   *
   * @param deadlineMs - how long running streams may take @defaultValue config.shutdownDeadlineMs
   */
  shutdown(deadlineMs?: number): Promise<void>;
}

function hostOf(request: IncomingMessage): string | undefined {
  return request.headers.host;
}

/** The route of each kind of opened stream, for the debug log. */
const OPEN_PATHS = {
  start: 'POST /api/stream/message',
  resume: 'GET /api/streams/:id',
  chat: 'POST /api/chat',
  'chat-resume': 'GET /api/chat/:id/stream',
} as const;

/** Opens the store `DATABASE_URL` names (migrations run here), logging which database it is. */
async function openThreadStore(config: ServerConfig, log: Logger): Promise<ThreadStore> {
  const target = parseDatabaseUrl(config.databaseUrl);
  const threads = await createSqlThreadStore({
    url: config.databaseUrl,
    // A checkpoint may wait up to 100 ms to share a commit, never longer than the interval the
    // operator chose between two checkpoint writes (0: every checkpoint is committed at once).
    checkpointCommitDelayMs: Math.min(100, config.checkpointWriteIntervalMs),
    // An idle connection that broke (PostgreSQL restarted): the pool replaces it by itself.
    onError: (error) => log.warn({ err: error }, 'thread database connection lost; reconnecting on next use'),
    onMigrated: (applied) => {
      if (applied.length > 0) log.info({ migrations: applied }, 'thread database migrated');
    },
  });
  log.info({ database: describeDatabase(target) }, 'thread store ready');
  return threads;
}

async function createContext(
  config: ServerConfig,
  deps: AppDeps,
  log: Logger,
  threads: ThreadStore,
): Promise<AppContext> {
  const provider =
    deps.provider ??
    createProviderFromConfig({
      provider: config.provider,
      openaiApiKey: config.openaiApiKey,
      openaiBaseUrl: config.openaiBaseUrl,
      llmBaseUrl: config.llmBaseUrl,
      llmApiKey: config.llmApiKey,
      llmModel: config.llmModel,
      upstreamUrl: config.upstreamUrl,
      upstreamHeaders: config.upstreamHeaders,
    });
  let localRuns: LocalRunRegistry | undefined;
  let streams: StreamHandler | undefined;
  let chatkit: ChatKitHandler | undefined;
  // One limiter for every stream endpoint and the WebSocket route, so the caps hold server-wide.
  const connections = createConnectionLimiter({
    maxEventStreams: config.maxOpenEventStreams,
    maxWebSockets: config.maxOpenWebSockets,
    maxConnectionsPerPrincipal: config.maxConnectionsPerPrincipal,
    onRefused: (kind, code) => metrics.connectionRefused(kind, code),
  });
  const metrics = createServerMetrics({
    activeRuns: () => localRuns?.activeCount ?? 0,
    openStreams: () => (streams?.openStreams ?? 0) + (chatkit?.openStreams ?? 0),
    retainedBytes: () => localRuns?.retainedBytes ?? 0,
    openConnections: (kind) => connections.open(kind),
  });
  // Conversations: each message is stored before the model is called, the reply at every
  // checkpoint and at its end (docs/scaling.md, "The database's part").
  const conversations = createConversations({
    store: threads,
    onError: (error, context) => log.warn({ err: error, context }, 'thread store write failed'),
    minCheckpointIntervalMs: config.checkpointWriteIntervalMs,
  });
  const registryOptions: RunRegistryOptions = {
    provider,
    streamTimeoutMs: config.streamTimeoutMs,
    firstTokenTimeoutMs: config.firstTokenTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
    checkpointEvery: config.checkpointEvery,
    retentionMs: config.streamRetentionMs,
    disconnectGraceMs: config.disconnectGraceMs,
    // The limit is the server's: with several workers each admits its share (connections are
    // handed to the workers in turn, so their loads stay close).
    maxConcurrentStreams: workerShare(config.maxConcurrentStreams, config.workers),
    maxStreamsPerOwner: config.maxStreamsPerPrincipal,
    maxUpstreamAttempts: config.upstreamMaxAttempts,
    observer: withConversations(createRunObserver(log, metrics, config.checkpointEvery), conversations.observer),
  };
  let registry: RunRegistry;
  let runStore: RedisRunStore | undefined;
  if (config.redisUrl === undefined) {
    localRuns = createRunRegistry(registryOptions);
    registry = localRuns;
  } else {
    runStore = await createRedisRunStore({
      url: config.redisUrl,
      prefix: config.redisPrefix,
      leaseMs: config.runLeaseMs,
      retentionMs: config.streamRetentionMs,
      ...(config.streamTimeoutMs > 0 ? { maxRunMs: config.streamTimeoutMs } : {}),
      onError: createThrottledRedisLog(log),
    });
    const shared = createRedisRunRegistry({ ...registryOptions, store: runStore });
    localRuns = shared.local;
    registry = shared;
    log.info(
      { redis: redactRedisUrl(config.redisUrl), prefix: config.redisPrefix, instance: runStore.instanceId },
      'runs shared through Redis',
    );
  }
  registry = conversations.wrap(registry);
  // A message still `streaming` whose run is gone (this process restarted; or, with Redis, its
  // producer died) is `interrupted`, with the text of its last checkpoint.
  const shared = runStore;
  const recovered = await conversations.recover(async (streamId) => {
    if (localRuns?.getLocal(streamId)?.status === 'running') return true;
    if (shared === undefined) return false;
    const snapshot = await shared.lookup(streamId);
    return snapshot !== undefined && snapshot.status === 'running' && snapshot.leaseAlive;
  });
  if (recovered > 0) log.info({ messages: recovered }, 'marked replies of lost runs as interrupted');
  // DNS rebinding: on a loopback HOST, a request addressed to any other name is refused (421)
  // before any work; the CORS policy no longer takes such a Host for the server's own origin.
  const hosts = createHostAllowlist({ listenHost: config.host, hosts: config.allowedHosts });
  if (!hosts.enforced && !config.allowedHosts.includes('*')) {
    log.info({ host: config.host }, 'HOST is not loopback: any Host name is answered (set ALLOWED_HOSTS to restrict)');
  }
  const cors = createCorsPolicy({ origins: config.corsOrigins, hosts });
  const auth = createApiKeyAuth(config.apiKeys);
  const debug = log.isLevelEnabled('debug');
  streams = createStreamHandler({
    registry,
    cors,
    auth,
    heartbeatMs: config.heartbeatMs,
    maxBodyBytes: config.maxBodyBytes,
    maxMessageChars: config.maxMessageChars,
    connections,
    onStreamOpen(info) {
      if (debug) {
        const path = OPEN_PATHS[info.endpoint];
        log.debug(
          {
            streamId: info.run.id,
            endpoint: path,
            after: info.after,
            created: info.created,
            principal: info.principal,
          },
          'endpoint hit',
        );
      }
    },
    onStreamClose(run, reason) {
      metrics.streamClosed(reason);
      if (reason === 'slow_consumer') {
        log.warn({ streamId: run.id }, 'stream response dropped: the client stopped reading (it can resume)');
      } else if (debug) {
        log.debug({ streamId: run.id, reason }, 'stream response closed');
      }
    },
    onRequestError(error, endpoint) {
      metrics.refused(error.code);
      if ((error.status ?? 500) >= 500) log.error({ err: error.cause ?? error, endpoint }, 'stream request failed');
      else if (debug) log.debug({ code: error.code, endpoint }, 'stream request refused');
    },
  });
  // A chat's latest run must outlive the run itself by its retention (cancel and resume by chat id).
  const chatTtlMs = config.streamTimeoutMs + config.streamRetentionMs;
  const chat = createChatHandler({
    streams,
    chatRuns:
      runStore === undefined
        ? createMemoryChatRunIndex({ ttlMs: chatTtlMs })
        : createRedisChatRunIndex({ store: runStore, ttlMs: chatTtlMs }),
  });
  chatkit = createChatKitBackend({ config, registry, threads, cors, auth, log, metrics, connections });
  return {
    config,
    provider,
    registry,
    localRuns,
    runStore,
    streams,
    chatkit,
    threads,
    conversations,
    chat,
    connections,
    log,
    metrics,
    worker: deps.worker?.id,
    metricsText: deps.worker?.shareMetrics(metrics.register) ?? (() => metrics.register.metrics()),
    authenticate: (credential) => auth.authenticate(credential),
    isOriginAllowed: (origin, request) => cors.isAllowed(origin, hostOf(request)),
    isHostAllowed: (request) => hosts.isAllowed(hostOf(request)),
  };
}

/**
 * Builds the reference server (not listening yet).
 *
 * @param config - validated configuration (see `loadConfig`)
 * @param deps - injected provider, logger, web root
 * @returns the app
 * @throws StreamwellError `invalid_config` when the provider settings cannot work or the
 *   database driver is missing; `store_unavailable` when the database cannot be reached
 * @example
 * const app = await createApp(loadConfig(), {});
 * await app.fastify.listen({ port: 8000, host: '127.0.0.1' });
 */
export async function createApp(config: ServerConfig, deps: AppDeps = {}): Promise<ServerApp> {
  const log =
    deps.logger ??
    createLogger(config, {
      ...(deps.logDestination === undefined ? {} : { destination: deps.logDestination }),
      ...(deps.worker === undefined ? {} : { fields: { worker: deps.worker.id } }),
    });
  const threads = deps.threads ?? (await openThreadStore(config, log));
  let context: AppContext;
  try {
    context = await createContext(config, deps, log, threads);
  } catch (error) {
    // Redis unreachable at start: the store opened above would otherwise hold the process open.
    if (deps.threads === undefined) await threads.close();
    throw error;
  }
  const fastify = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // Request logs come from the stream core's hooks, with the stream id; Fastify's per-request
    // info lines would double every stream's log volume.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxBodyBytes,
    // Thread ids in paths (`/api/threads/:threadId`) may be 200 characters, percent-encoded in
    // the URL; Fastify's default of 100 would answer 414 to ids the stream endpoint accepts.
    routerOptions: { maxParamLength: 1024 },
    clientErrorHandler: handleClientError,
    frameworkErrors: handleFrameworkError,
    // Slow or stuck uploads are cut (408); long-lived *responses* are not affected by this
    // timeout. The headers' own, shorter timeout is set in the server factory.
    requestTimeout: config.requestTimeoutMs,
    // Longer than the 60 s idle timeout of common proxies (nginx upstream keepalive, AWS ALB),
    // so the server never closes a connection a proxy is about to reuse.
    keepAliveTimeout: config.keepAliveTimeoutMs,
    // During a drain, /healthz must still answer (503 "draining") and resumes still work.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // fastify.close() runs under avvio's plugin timeout (10 s by default), and a drain keeps it
    // waiting for open streams up to the shutdown deadline: with SHUTDOWN_DEADLINE_MS above 10 s
    // the close failed ("Plugin did not start in time", AVV_ERR_READY_TIMEOUT), the process
    // exited 1 and skipped the rest of the drain (the thread store's last writes among it);
    // test/reliability/drain.test.ts. The deadline plus the 1 s cut and a margin.
    pluginTimeout: Math.max(10_000, config.shutdownDeadlineMs + 10_000),
    // The stream endpoints skip Fastify's request lifecycle (see create-server-factory.ts).
    serverFactory: createServerFactory(context),
  });

  const routes: AppRoute[] = [];
  fastify.addHook('onRoute', (route) => {
    routes.push({ methods: [route.method].flat().map((method) => method.toUpperCase()), url: route.url });
  });

  // CORS on every response: refuse a foreign Origin before any handler runs, and always add
  // `Vary: Origin` (the stream core adds the same headers to the responses it writes itself).
  // Callback style, not async: an async hook costs a promise and a microtask hop on every
  // request, before the model call (time to first token).
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('Vary', 'Origin');
    const host = request.headers.host;
    if (!context.isHostAllowed(request.raw)) {
      // DNS rebinding: refused whatever the route (the static page, /healthz and /metrics too).
      const refusal = createHostNotAllowedError();
      context.metrics.refused(refusal.code);
      sendError(reply, 421, refusal.code, refusal.message);
      return;
    }
    const origin = request.headers.origin;
    if (origin !== undefined) {
      const cors = context.streams.cors;
      if (!cors.isAllowed(origin, host)) {
        const refusal = createOriginNotAllowedError();
        context.metrics.refused(refusal.code);
        // Answered here; Fastify skips the route when a hook sends without calling done().
        sendError(reply, 403, refusal.code, refusal.message);
        return;
      }
      reply.headers(cors.responseHeaders(origin, host));
    }
    done();
  });

  installErrorHandlers(
    fastify,
    new Map([
      ['/', 'GET, HEAD'],
      ['/ai-sdk', 'GET, HEAD'],
      ['/healthz', 'GET, HEAD'],
      ['/metrics', 'GET, HEAD'],
    ]),
  );

  // Routes register here, each with the shared context. A new route module takes `context`
  // (registry, streams core, auth and origin checks, log, metrics) and adds one line below.
  await registerStreamRoutes(fastify, context);
  await registerChatKitRoutes(fastify, context);
  registerThreadRoutes(fastify, context);
  registerOpsRoutes(fastify, context);
  // WebSocket transport (GET /ws/stream): registered here by its own module.
  registerWebSocketRoute(fastify, context);
  await registerWebRoutes(fastify, deps.webRoot);

  let shuttingDown: Promise<void> | undefined;
  return {
    fastify,
    context,
    routes,
    shutdown(deadlineMs = config.shutdownDeadlineMs) {
      shuttingDown ??= drain(fastify, context, deadlineMs, {
        provider: deps.provider === undefined,
        threads: deps.threads === undefined,
      });
      return shuttingDown;
    },
  };
}

async function drain(
  fastify: FastifyInstance,
  context: AppContext,
  deadlineMs: number,
  owns: { readonly provider: boolean; readonly threads: boolean },
): Promise<void> {
  context.log.info({ deadlineMs, activeStreams: context.registry.activeCount }, 'draining');
  // Stop accepting connections now; close() resolves once every connection has ended.
  const closed = fastify.close();
  await context.registry.shutdown(deadlineMs);
  // Every run has ended with its terminal event; end whatever responses are still open.
  context.streams.closeAll();
  context.chatkit.closeAll();
  // Responses that just ended left keep-alive sockets idle: close them now, and cut whatever is
  // still busy after a second (a client mid-request) so that the process can exit.
  const server = fastify.server;
  server.closeIdleConnections();
  const cut = setTimeout(() => server.closeAllConnections(), 1000);
  cut.unref();
  await closed;
  clearTimeout(cut);
  context.registry.close();
  await context.runStore?.close();
  // The provider's keep-alive pool would otherwise hold the event loop open; an injected
  // provider belongs to whoever injected it.
  if (owns.provider) await context.provider.close?.();
  // ChatKit responses save what they were stopped with before the store closes.
  await context.chatkit.drain();
  // Last: every run has ended; its reply's final write goes out before the store closes (an
  // injected store is its owner's to close).
  await context.conversations.drain();
  if (owns.threads) await context.threads.close();
  context.log.info({}, 'drained');
}

/**
 * Logs Redis trouble at most once per context every 5 s: while Redis is down, every reconnect
 * attempt and every refused command reports, which would flood the log.
 */
function createThrottledRedisLog(log: Logger): (error: unknown, context: string) => void {
  const last = new Map<string, number>();
  return (error, context) => {
    const now = Date.now();
    if (now - (last.get(context) ?? 0) < 5000) return;
    last.set(context, now);
    log.warn({ err: error, context }, 'redis: %s failed', context);
  };
}

/** The reference server's observer plus the conversation writes (checkpoints and ends). */
function withConversations(base: RegistryObserver, conversations: Conversations['observer']): RegistryObserver {
  return {
    ...base,
    onCheckpoint: conversations.onCheckpoint,
    onEnd(run, summary) {
      try {
        base.onEnd?.(run, summary);
      } finally {
        conversations.onEnd(run, summary);
      }
    },
  };
}
