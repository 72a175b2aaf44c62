/**
 * Starts the reference server for a test: real Fastify on 127.0.0.1, port 0, with an injected
 * provider and a silent (or captured) logger. Threads live in a memory store unless the test
 * sets `config.databaseUrl` (then the app opens that database, as in production) or injects one.
 *
 * @module
 */
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createMemoryThreadStore, type Provider } from 'streamwell/server';
import { type AppDeps, createApp, type ServerApp } from '../../../apps/server/src/app.ts';
import { defaultConfig, type ServerConfig } from '../../../apps/server/src/config.ts';

/** A running test server. */
export interface TestServer {
  readonly app: ServerApp;
  readonly url: string;
  readonly port: number;
  /** Captured log lines (parsed JSON), when `captureLogs` was set. */
  readonly logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * Starts a server.
 *
 * @param options - config overrides, provider, whether to capture logs (at `logLevel`)
 * @returns the server
 */
export async function startTestServer(
  options: { config?: Partial<ServerConfig>; provider?: Provider; captureLogs?: boolean; deps?: Partial<AppDeps> } = {},
): Promise<TestServer> {
  const config = defaultConfig({ port: 0, logLevel: 'silent', ...options.config });
  const logs: Record<string, unknown>[] = [];
  const logger = options.captureLogs
    ? pino(
        { level: config.logLevel },
        new Writable({
          write(chunk: Buffer, _encoding, callback) {
            for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line));
            callback();
          },
        }),
      )
    : pino({ level: 'silent' });
  const app = await createApp(config, {
    logger,
    webRoot: '/nonexistent-web-root',
    ...(options.provider === undefined ? {} : { provider: options.provider }),
    ...(options.config?.databaseUrl === undefined ? { threads: createMemoryThreadStore() } : {}),
    ...options.deps,
  });
  const sockets = new Set<Socket>();
  let closing = false;
  app.fastify.server.on('connection', (socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await app.fastify.listen({ port: 0, host: '127.0.0.1' });
  const address = app.fastify.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    port,
    logs,
    async close() {
      // Tests end abruptly: cut every socket (also ones Node no longer tracks as HTTP), then drain.
      closing = true;
      for (const socket of sockets) socket.destroy();
      await app.shutdown(0);
    },
  };
}
