/**
 * A TCP proxy a test can cut and restore: a stand-in for "the network to Redis died" (or Redis
 * restarted) that leaves the shared Redis alone. While cut, every open connection is reset and
 * each new one is reset on arrival, as a dead peer would be; restored, connections pass again.
 *
 * @module
 */
import { createServer, type Socket, connect as tcpConnect } from 'node:net';

/** A running proxy. */
export interface TcpProxy {
  /** The loopback port to connect to instead of the target's. */
  readonly port: number;
  /** Connections accepted while passing (a reconnecting client shows up here). */
  readonly accepted: number;
  /** Resets every connection and refuses new ones until {@link TcpProxy.restore}. */
  cut(): void;
  /** Lets connections through again. */
  restore(): void;
  /** Resets everything and stops listening. */
  close(): Promise<void>;
}

/**
 * Starts a proxy on 127.0.0.1 (port 0) to `targetPort`.
 *
 * @param targetPort - the real service's port on 127.0.0.1
 * @returns the proxy
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let passing = true;
  let accepted = 0;
  const reset = (socket: Socket): void => {
    socket.resetAndDestroy();
  };
  const server = createServer((client) => {
    client.on('error', () => {});
    if (!passing) {
      reset(client);
      return;
    }
    accepted += 1;
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    upstream.on('error', () => reset(client));
    client.on('error', () => reset(upstream));
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    cut() {
      passing = false;
      for (const socket of [...sockets]) reset(socket);
    },
    restore() {
      passing = true;
    },
    async close() {
      passing = false;
      for (const socket of [...sockets]) reset(socket);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
