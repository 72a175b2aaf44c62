/**
 * The system under test, on loopback: the fake OpenAI upstream (real wire format, pacing under the
 * test's control) behind the real reference server (`createApp` from `apps/server`), which also
 * serves the built page. Records every HTTP request the server receives and can cut the open
 * stream connections for real (destroying the server-side sockets).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createDemoProvider, createMemoryThreadStore, type ThreadStore } from 'streamwell/server';
import { createApp, type ServerApp } from '../../../apps/server/src/app.ts';
import { loadConfig } from '../../../apps/server/src/config.ts';
import { type FakeOpenAI, startFakeOpenAI } from '../../helpers/fake-openai.ts';
import { WEB_DIST } from './ensure-web-build.ts';

/** Options of {@link startStack}. */
export interface StackOptions {
  /** `fake` (default): the OpenAI-compatible provider against the fake upstream; `demo`: the built-in demo model. */
  readonly provider?: 'fake' | 'demo';
  /** Demo model only: the reply text. */
  readonly demoReply?: string;
  /** Demo model only: delay between tokens. */
  readonly demoTokenIntervalMs?: number;
  /** The built page to serve. @defaultValue `apps/web/dist` */
  readonly webRoot?: string;
  /** Extra environment for the server configuration. */
  readonly env?: Readonly<Record<string, string>>;
  /** The thread store. @defaultValue a fresh memory store (the tests seed and read it directly) */
  readonly threads?: ThreadStore;
}

/** One request the server received. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
}

/** A running stack. */
export interface Stack {
  /** `http://127.0.0.1:PORT` of the reference server. */
  readonly url: string;
  readonly app: ServerApp;
  /** The fake upstream (also started for the demo provider, where it stays unused). */
  readonly fake: FakeOpenAI;
  /** Every request the server received (WebSocket upgrades included), in order. */
  readonly requests: readonly RecordedRequest[];
  /**
   * Destroys the server-side sockets of every open stream response (`POST /api/stream/message`
   * and `GET /api/streams/...`): a real connection cut, as a proxy or a network drop does it.
   *
   * @returns how many connections were cut
   */
  cutStreamConnections(): number;
  close(): Promise<void>;
}

const isStreamRequest = (request: IncomingMessage): boolean =>
  (request.method === 'POST' && (request.url ?? '').startsWith('/api/stream/message')) ||
  (request.method === 'GET' && (request.url ?? '').startsWith('/api/streams/'));

/**
 * Starts the fake upstream and the reference server on port 0.
 *
 * @param options - provider and configuration
 * @returns the stack; `close()` it after the test
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const fake = await startFakeOpenAI();
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    ...(options.provider === 'demo'
      ? { STREAMWELL_PROVIDER: 'demo' }
      : {
          STREAMWELL_PROVIDER: 'openai',
          LLM_BASE_URL: fake.baseUrl,
          LLM_API_KEY: fake.apiKey ?? '',
          LLM_MODEL: 'fake-model',
        }),
    ...options.env,
  });
  const app = await createApp(config, {
    webRoot: options.webRoot ?? WEB_DIST,
    threads: options.threads ?? createMemoryThreadStore(),
    ...(options.provider === 'demo'
      ? {
          provider: createDemoProvider({
            ...(options.demoReply === undefined ? {} : { reply: () => options.demoReply as string }),
            ...(options.demoTokenIntervalMs === undefined ? {} : { tokenIntervalMs: options.demoTokenIntervalMs }),
          }),
        }
      : {}),
  });
  const requests: RecordedRequest[] = [];
  const streamSockets = new Set<Socket>();
  app.fastify.server.on('upgrade', (request: IncomingMessage) => {
    requests.push({ method: request.method ?? '', url: request.url ?? '' });
  });
  app.fastify.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    requests.push({ method: request.method ?? '', url: request.url ?? '' });
    if (isStreamRequest(request)) {
      // Tracked until its response ends: the socket may then serve other keep-alive requests.
      const socket = request.socket;
      streamSockets.add(socket);
      response.once('close', () => streamSockets.delete(socket));
    }
  });
  const address = await app.fastify.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: address,
    app,
    fake,
    requests,
    cutStreamConnections() {
      const count = streamSockets.size;
      for (const socket of streamSockets) socket.destroy();
      streamSockets.clear();
      return count;
    },
    async close() {
      await app.shutdown(0);
      await fake.close();
    },
  };
}
