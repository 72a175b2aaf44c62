/**
 * The process's open-file limit, for the start-up check that the connection caps fit in it.
 *
 * Every open event stream and WebSocket holds a socket (a file descriptor), and every running
 * stream also its upstream request's. Past the limit the process cannot accept connections, open
 * upstream requests or files, and fails in ways no client sees as "try again later"; the caps
 * exist to refuse cleanly first, which only works when they fit under the limit.
 *
 * @module
 */
import { readFileSync } from 'node:fs';

/**
 * The soft `RLIMIT_NOFILE` of this process (Node raises it to the hard limit at start), from
 * `/proc/self/limits`.
 *
 * @returns the limit, or undefined where it cannot be read (not Linux) or is unlimited
 */
export function readFdLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    return soft === undefined || !/^\d+$/.test(soft) ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/** File descriptors kept for everything but stream connections: listener, Redis, database, logs, files. */
export const FD_RESERVE = 256;

/**
 * File descriptors the caps may use at once: every client connection (event streams and
 * WebSockets, bounded again by the TCP cap), plus an upstream request for every stream that may
 * run, plus {@link FD_RESERVE}.
 *
 * @param caps - the configured caps
 * @returns the number of descriptors
 */
export function fdsNeeded(caps: {
  readonly maxOpenEventStreams: number;
  readonly maxOpenWebSockets: number;
  readonly maxTcpConnections: number;
  readonly maxConcurrentStreams: number;
}): number {
  const clients = Math.min(caps.maxTcpConnections, caps.maxOpenEventStreams + caps.maxOpenWebSockets);
  return clients + caps.maxConcurrentStreams + FD_RESERVE;
}
