/**
 * WORKERS > 1: the primary process. It runs no server itself: it forks one worker per
 * `WORKERS` (each a full reference server on the Redis store, all accepting on one port through
 * node:cluster, which hands each new connection to the next worker in turn), announces the
 * address once every worker listens, replaces a worker that dies (at most
 * {@link RESTART_LIMIT} times in {@link RESTART_WINDOW_MS}), aggregates `/metrics` for whichever
 * worker is scraped, and on SIGTERM/SIGINT tells every worker to drain, then exits 0 when all of
 * them drained cleanly (1 otherwise). A second signal kills the workers at once and exits 1.
 *
 * @module
 */
import cluster, { type Worker } from 'node:cluster';
import { performance } from 'node:perf_hooks';
import { AggregatorRegistry } from 'prom-client';
import { isMessage, type MetricsResponse, type ShutdownMessage } from './cluster-messages.ts';
import type { ServerConfig } from './config.ts';
import { createLogger } from './create-logger.ts';
import { createRestartBudget } from './create-restart-budget.ts';

/** Crashed workers replaced within {@link RESTART_WINDOW_MS} before the primary gives up. */
export const RESTART_LIMIT = 5;
/** The window of {@link RESTART_LIMIT}. */
export const RESTART_WINDOW_MS = 60_000;
/** Past the workers' own drain deadline, how long the primary waits before it kills them. */
const KILL_AFTER_DEADLINE_MS = 5000;

/**
 * Runs the primary until the server stops; exits the process.
 *
 * @param config - the validated configuration (`workers` > 1, `redisUrl` set)
 */
export function runClusterPrimary(config: ServerConfig): void {
  const log = createLogger(config, { fields: { role: 'primary' } });
  const budget = createRestartBudget(RESTART_LIMIT, RESTART_WINDOW_MS);
  // prom-client's aggregator asks every worker for its registry and sums them.
  const aggregator = new AggregatorRegistry();
  const alive = new Map<number, Worker>();
  const listening = new Set<number>();
  let announced = false;
  let stopping: { code: number } | undefined;

  const fork = (): Worker => {
    const worker = cluster.fork();
    alive.set(worker.id, worker);
    log.info({ worker: worker.id, pid: worker.process.pid }, 'worker started');
    return worker;
  };

  const send = (worker: Worker, message: ShutdownMessage | MetricsResponse): void => {
    if (worker.isConnected()) worker.send(message);
  };

  const stop = (code: number): void => {
    if (stopping !== undefined) {
      stopping.code = Math.max(stopping.code, code);
      return;
    }
    stopping = { code };
    if (alive.size === 0) process.exit(stopping.code);
    for (const worker of alive.values()) send(worker, { type: 'streamwell:shutdown' });
    // A worker stuck in its drain must not keep the server from stopping.
    const kill = setTimeout(() => {
      log.error({ workers: [...alive.keys()] }, 'workers did not drain in time: killing them');
      if (stopping !== undefined) stopping.code = 1;
      for (const worker of alive.values()) worker.process.kill('SIGKILL');
    }, config.shutdownDeadlineMs + KILL_AFTER_DEADLINE_MS);
    kill.unref();
  };

  cluster.on('message', (worker, message: unknown) => {
    if (isMessage(message, 'streamwell:listening')) {
      listening.add(worker.id);
      if (!announced && listening.size === config.workers) {
        announced = true;
        log.info(
          { address: message.address, workers: config.workers },
          `streamwell listening on ${message.address} with ${config.workers} workers`,
        );
      }
    } else if (isMessage(message, 'streamwell:metrics-request')) {
      const { requestId } = message;
      aggregator.clusterMetrics().then(
        (text) => send(worker, { type: 'streamwell:metrics-response', requestId, text }),
        (error: unknown) =>
          send(worker, { type: 'streamwell:metrics-response', requestId, error: (error as Error).message }),
      );
    }
  });

  cluster.on('exit', (worker, code, signal) => {
    alive.delete(worker.id);
    const listened = listening.delete(worker.id);
    const fields = { worker: worker.id, pid: worker.process.pid, code, signal };
    if (stopping !== undefined) {
      log.info(fields, 'worker exited');
      if (code !== 0) stopping.code = 1;
      if (alive.size === 0) {
        log.info({ code: stopping.code }, 'all workers exited');
        process.exit(stopping.code);
      }
      return;
    }
    if (!announced && !listened) {
      // At start, a worker that cannot listen (Redis or the database unreachable, a port in
      // use) would fail the same way again: its error is on stderr above.
      log.error(fields, 'a worker exited before it listened: stopping');
      stop(1);
      return;
    }
    if (!budget.take(performance.now())) {
      log.fatal(
        { ...fields, limit: RESTART_LIMIT, windowMs: RESTART_WINDOW_MS },
        `workers died more than ${RESTART_LIMIT} times in ${RESTART_WINDOW_MS / 1000} s: stopping`,
      );
      stop(1);
      return;
    }
    const replacement = fork();
    log.error({ ...fields, replacement: replacement.id }, 'worker died: replaced');
  });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: killing the workers and exiting now');
      for (const worker of alive.values()) worker.process.kill('SIGKILL');
      process.exit(1);
    }
    log.info({ signal, workers: alive.size }, 'shutting down: every worker drains');
    stop(0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  for (let index = 0; index < config.workers; index += 1) fork();
}
