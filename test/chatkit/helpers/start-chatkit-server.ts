/**
 * The library's ChatKit handler on a plain `node:http` server on 127.0.0.1, port 0: a run registry
 * over the given provider and a memory thread store, unless the test brings its own.
 *
 * @module
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  type ChatKitHandler,
  type ChatKitHandlerOptions,
  createChatKitHandler,
  createMemoryThreadStore,
  createRunRegistry,
  handleNodeRequest,
  type LocalRunRegistry,
  type Provider,
  type RunRegistryOptions,
  type ThreadStore,
} from 'streamwell/server';

/** A running handler. */
export interface ChatKitTestServer {
  /** `http://127.0.0.1:PORT/chatkit` */
  readonly url: string;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  readonly handler: ChatKitHandler;
  readonly registry: LocalRunRegistry;
  readonly threads: ThreadStore;
  /** Unexpected failures the handler reported. */
  readonly errors: unknown[];
  close(): Promise<void>;
}

/**
 * Starts the handler.
 *
 * @param provider - the model behind the runs
 * @param options - handler options (registry and store default to fresh ones)
 * @param registryOptions - limits of the run registry (timeouts)
 * @returns the server
 */
export async function startChatKitServer(
  provider: Provider,
  options: Partial<ChatKitHandlerOptions> = {},
  registryOptions: Partial<RunRegistryOptions> = {},
): Promise<ChatKitTestServer> {
  const registry = createRunRegistry({ provider, disconnectGraceMs: 60_000, ...registryOptions });
  const threads = options.threads ?? createMemoryThreadStore();
  const errors: unknown[] = [];
  const handler = createChatKitHandler({
    registry,
    threads,
    onError: (error) => errors.push(error),
    ...options,
  });
  const sockets = new Set<Socket>();
  const server: Server = createServer((request, response) => {
    handleNodeRequest(handler, request, response).then(
      (handled) => {
        if (!handled) response.writeHead(404).end();
      },
      (error: unknown) => {
        errors.push(error);
        response.destroy();
      },
    );
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/chatkit`,
    origin: `http://127.0.0.1:${port}`,
    handler,
    registry,
    threads,
    errors,
    async close() {
      handler.closeAll();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await handler.drain();
      registry.close();
    },
  };
}
