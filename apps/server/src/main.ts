/**
 * Starts the reference server: `npm start` (or `node apps/server/dist/main.js`).
 *
 * Reads the environment (a bad value exits with status 1 and a message naming the variable),
 * listens on HOST:PORT, and on SIGTERM/SIGINT drains gracefully: new streams are refused, running
 * ones get up to SHUTDOWN_DEADLINE_MS to finish, the rest end with `server_shutdown` so clients
 * reconnect elsewhere. A second signal exits at once.
 *
 * With WORKERS > 1 this process becomes the cluster's primary (cluster-primary.ts) and each
 * worker it forks runs the server below: the same code, with its worker id on every log line.
 * A worker drains on its own signal (Ctrl-C reaches the whole process group) or when the
 * primary, which got the signal, says so; the two together count as one signal.
 *
 * @module
 */
import cluster from 'node:cluster';
import { isStreamwellError } from 'streamwell/server';
import { createApp } from './app.ts';
import { runClusterPrimary } from './cluster-primary.ts';
import { announceListening, clusterWorkerId, onPrimaryShutdown, shareMetrics } from './cluster-worker.ts';
import { ConfigError, loadConfig, type ServerConfig } from './config.ts';
import { fdsNeeded, readFdLimit } from './read-fd-limit.ts';

function fail(message: string): never {
  process.stderr.write(`streamwell: ${message}\n`);
  process.exit(1);
}

/**
 * What to tell the operator when the server cannot listen: the usual reasons in words, with the
 * variable to change. Undefined for anything else (reported with its stack).
 */
function listenFailure(error: unknown, config: Pick<ServerConfig, 'host' | 'port'>): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  const where = `${config.host}:${config.port}`;
  if (code === 'EADDRINUSE') {
    return (
      `${where} is already in use (another streamwell, or another server): stop it, or set another ` +
      `PORT, e.g. PORT=${config.port === 65_535 ? 8001 : config.port + 1} npm start`
    );
  }
  if (code === 'EACCES') {
    return `not allowed to listen on ${where} (ports below 1024 need privileges): set PORT to 1024 or above, e.g. PORT=8000`;
  }
  if (code === 'EADDRNOTAVAIL') {
    return `HOST ${config.host} is not an address of this machine: set HOST to one of its addresses, or 0.0.0.0 for all`;
  }
  return undefined;
}

async function main(): Promise<void> {
  let config: ServerConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  if (config.workers > 1 && cluster.isPrimary) {
    runClusterPrimary(config);
    return;
  }
  const worker = clusterWorkerId();
  // Until the app exists, a drain has nothing to drain: the worker just leaves.
  let drain = (_why: Record<string, unknown>): void => process.exit(0);
  if (worker !== undefined) onPrimaryShutdown(() => drain({ by: 'primary' }));
  let app: Awaited<ReturnType<typeof createApp>>;
  try {
    app = await createApp(config, worker === undefined ? {} : { worker: { id: worker, shareMetrics } });
  } catch (error) {
    if (isStreamwellError(error) && error.code === 'invalid_config') fail(`Invalid configuration: ${error.message}`);
    // Redis (REDIS_URL) or the thread database (DATABASE_URL) unreachable at start: the message
    // names the variable (password hidden).
    if (isStreamwellError(error) && error.code === 'store_unavailable') fail(error.message);
    throw error;
  }
  const log = app.context.log;
  let address: string;
  try {
    address = await app.fastify.listen({ port: config.port, host: config.host });
  } catch (error) {
    const message = listenFailure(error, config);
    if (message === undefined) throw error;
    // Nothing streams yet: close the stores so that the exit leaves nothing half-written.
    await app.shutdown().catch(() => {});
    fail(message);
  }
  const provider = app.context.provider;
  // The sse provider's upstream is named here, in the operator's log, and never to browsers;
  // without user info or query, which may hold credentials.
  const upstreamUrl = config.upstreamUrl === undefined ? undefined : new URL(config.upstreamUrl);
  const upstream =
    upstreamUrl !== undefined && provider.name === 'sse'
      ? { upstream: `${upstreamUrl.origin}${upstreamUrl.pathname}` }
      : {};
  // A worker's line does not say "streamwell listening": the primary says it once all listen.
  const listening = worker === undefined ? 'streamwell listening' : `worker ${worker} listening`;
  log.info(
    { address, provider: provider.name, model: provider.model, demo: provider.demo === true, ...upstream },
    provider.demo
      ? `${listening} on ${address} with the built-in DEMO model (set OPENAI_API_KEY or LLM_BASE_URL for a real one)`
      : `${listening} on ${address}`,
  );
  if (worker !== undefined) announceListening(address);

  const fdLimit = readFdLimit();
  const needed = fdsNeeded(config);
  if (fdLimit !== undefined && fdLimit < needed) {
    // Past the limit, accepts and upstream requests fail instead of the caps refusing cleanly.
    log.warn(
      { fdLimit, needed },
      'the open-file limit (ulimit -n) is below what the connection caps (MAX_OPEN_EVENT_STREAMS + MAX_OPEN_WEBSOCKETS, at most MAX_TCP_CONNECTIONS) and MAX_CONCURRENT_STREAMS can use: raise the limit or lower the caps',
    );
  }

  let draining = false;
  drain = (why) => {
    if (draining) return;
    draining = true;
    log.info(why, 'shutting down');
    app.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    drain({ signal });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `streamwell: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
