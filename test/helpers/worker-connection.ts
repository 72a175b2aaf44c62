/**
 * Reaching one chosen worker of a server with `WORKERS` > 1. node:cluster hands each new
 * connection to a worker (in turn); a request on an open keep-alive connection reaches the worker
 * that accepted it. So: open a connection (an undici `Client`, one socket), ask `/healthz` which
 * worker answers, and keep the connection if it is the wanted one, else close it and try a new
 * one. Requests sent with `{ dispatcher: client }` then all reach that worker.
 *
 * @module
 */
import { Client } from 'undici';

/** A connection to one worker. */
export interface WorkerConnection {
  /** For `fetch(url, { dispatcher })`; one request at a time (an open event stream holds it). */
  readonly dispatcher: Client;
  /** The worker id `/healthz` named. */
  readonly worker: number;
  close(): Promise<void>;
}

/**
 * Opens a connection and reports the worker it reached.
 *
 * @param url - the server, `http://127.0.0.1:PORT`
 * @returns the connection
 * @throws Error when `/healthz` names no worker (the server runs without workers)
 */
export async function connectToAnyWorker(url: string): Promise<WorkerConnection> {
  const dispatcher = new Client(url);
  try {
    const response = await fetch(`${url}/healthz`, { dispatcher } as RequestInit);
    const body = (await response.json()) as { worker?: unknown };
    if (typeof body.worker !== 'number') throw new Error(`/healthz names no worker: ${JSON.stringify(body)}`);
    return { dispatcher, worker: body.worker, close: () => dispatcher.close() };
  } catch (error) {
    await dispatcher.close();
    throw error;
  }
}

/**
 * Opens connections until one reaches `worker` (each attempt a new connection).
 *
 * @param url - the server
 * @param accept - which worker is wanted: an id, or a test on the id (e.g. "not worker 1")
 * @param attempts - the bound, so that a worker that is not there fails the test
 * @returns a connection to that worker
 */
export async function connectToWorker(
  url: string,
  accept: number | ((worker: number) => boolean),
  attempts = 50,
): Promise<WorkerConnection> {
  const wanted = typeof accept === 'number' ? (worker: number) => worker === accept : accept;
  const seen: number[] = [];
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const connection = await connectToAnyWorker(url);
    if (wanted(connection.worker)) return connection;
    seen.push(connection.worker);
    await connection.close();
  }
  throw new Error(`no connection reached the wanted worker in ${attempts} attempts; reached ${seen.join(', ')}`);
}
