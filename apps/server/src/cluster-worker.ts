/**
 * The worker's side of WORKERS > 1: tells the primary it listens, drains when the primary says so,
 * and answers `/metrics` with every worker's metrics, which the primary aggregates (prom-client's
 * `AggregatorRegistry`): a scrape reaches whichever worker the connection lands on, and one
 * worker's numbers alone would be a random fraction of the server's.
 *
 * @module
 */
import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { isMessage, type ListeningMessage, type MetricsRequest } from './cluster-messages.ts';

/** How long a scrape waits for the primary (which waits up to 5 s for the workers). */
const METRICS_TIMEOUT_MS = 6000;

/** This process's worker id (1, 2, …; a replacement gets the next one), or undefined outside a cluster. */
export function clusterWorkerId(): number | undefined {
  return cluster.isWorker ? cluster.worker?.id : undefined;
}

/**
 * Tells the primary that this worker listens.
 *
 * @param address - the listening address
 */
export function announceListening(address: string): void {
  process.send?.({ type: 'streamwell:listening', address } satisfies ListeningMessage);
}

/**
 * Calls `drain` when the primary asks this worker to drain (the primary got the signal).
 *
 * @param drain - starts the graceful drain (idempotent)
 */
export function onPrimaryShutdown(drain: () => void): void {
  process.on('message', (message: unknown) => {
    if (isMessage(message, 'streamwell:shutdown')) drain();
  });
}

/**
 * Lets the primary collect this worker's metrics, and returns what a scrape calls instead of the
 * local registry: every worker's metrics, summed by the primary (gauges of this server such as
 * active streams are sums; prom-client's process metrics carry their own aggregation).
 *
 * @param register - this worker's registry
 * @returns the exposition text of all workers
 */
export function shareMetrics(register: Registry): () => Promise<string> {
  // The constructor installs prom-client's listener for the primary's requests in this worker.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([register]);
  let nextId = 0;
  const pending = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  process.on('message', (message: unknown) => {
    if (!isMessage(message, 'streamwell:metrics-response')) return;
    const waiter = pending.get(message.requestId);
    pending.delete(message.requestId);
    if (message.text !== undefined) waiter?.resolve(message.text);
    else waiter?.reject(new Error(message.error ?? 'no metrics'));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const requestId = nextId++;
      const timer = setTimeout(() => {
        pending.delete(requestId);
        reject(new Error(`the primary did not answer within ${METRICS_TIMEOUT_MS} ms`));
      }, METRICS_TIMEOUT_MS);
      pending.set(requestId, {
        resolve: (text) => {
          clearTimeout(timer);
          resolve(text);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      process.send?.({ type: 'streamwell:metrics-request', requestId } satisfies MetricsRequest);
    });
}
