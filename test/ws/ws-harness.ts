/**
 * Test harness for `GET /ws/stream`: a real `node:http` server on 127.0.0.1:0 with the reference
 * server's WebSocket route over a real run registry, and a `ws` client that records every frame.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createDemoProvider,
  createRunRegistry,
  type LocalRunRegistry,
  type Provider,
  type RunRegistryOptions,
  StreamwellError,
} from 'streamwell/server';
import WebSocket, { type ClientOptions } from 'ws';
import {
  attachWebSocketRoute,
  type WebSocketRoute,
  type WebSocketRouteOptions,
} from '../../apps/server/src/websocket-route.ts';

/** A frame as received (event frames and control frames). */
export interface Frame {
  readonly type?: string;
  readonly streamId?: string;
  readonly id?: number;
  readonly event?: string;
  readonly data?: Record<string, unknown>;
  readonly error?: { code: string; message: string };
  readonly lastEventId?: number;
  readonly requestId?: string;
  readonly status?: string;
}

/** Reply text of the paced test provider, as tokens. */
export const WORDS = Array.from({ length: 30 }, (_, index) => ` w${index}`);

/** A demo provider that streams {@link WORDS}, one every `intervalMs`. */
export function pacedProvider(intervalMs = 5): Provider {
  return createDemoProvider({ tokenIntervalMs: intervalMs, firstTokenDelayMs: 0, reply: () => WORDS.join('') });
}

/** Wraps a provider to count its model calls. */
export function countCalls(provider: Provider): { provider: Provider; calls: () => number } {
  let calls = 0;
  return {
    provider: {
      ...provider,
      stream: (request) => {
        calls += 1;
        return provider.stream(request);
      },
    },
    calls: () => calls,
  };
}

/** Options of {@link startWsServer}. */
export interface WsServerOptions {
  readonly provider?: Provider;
  readonly registry?: Partial<RunRegistryOptions>;
  readonly route?: Partial<WebSocketRouteOptions>;
  /** API keys; when set a credential is required and the key is the principal. */
  readonly apiKeys?: readonly string[];
  /** Allowed cross-origin origins. */
  readonly origins?: readonly string[];
}

/** A running test server. */
export interface WsServer {
  readonly server: Server;
  readonly registry: LocalRunRegistry;
  readonly route: WebSocketRoute;
  readonly url: string;
  readonly port: number;
  readonly warnings: Array<{ object: object; message: string }>;
  close(): Promise<void>;
}

/** Same-origin or allowlisted, as the HTTP CORS check. */
function originCheck(origins: readonly string[]) {
  return (origin: string, request: IncomingMessage): boolean => {
    if (origins.includes(origin)) return true;
    try {
      return new URL(origin).host === request.headers.host;
    } catch {
      return false;
    }
  };
}

/**
 * Starts the WebSocket route on a loopback port.
 *
 * @param options - provider, limits, auth
 * @returns the server
 */
export async function startWsServer(options: WsServerOptions = {}): Promise<WsServer> {
  const registry = createRunRegistry({ provider: options.provider ?? pacedProvider(), ...options.registry });
  const server = createServer((_request, response) => {
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"x"}}');
  });
  const warnings: Array<{ object: object; message: string }> = [];
  const apiKeys = options.apiKeys ?? [];
  const route = attachWebSocketRoute(server, {
    registry,
    authenticate: (credential) => {
      if (apiKeys.length === 0) return undefined;
      if (credential !== undefined && apiKeys.includes(credential)) return credential;
      throw new StreamwellError('unauthorized', 'A valid API key is required.', { status: 401 });
    },
    isOriginAllowed: originCheck(options.origins ?? []),
    log: { warn: (object, message) => warnings.push({ object, message }), info: () => {} },
    ...options.route,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    registry,
    route,
    port,
    url: `ws://127.0.0.1:${port}/ws/stream`,
    warnings,
    async close() {
      await route.close();
      registry.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A `ws` client that records frames and lets a test wait for one. */
export class TestClient {
  readonly socket: WebSocket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: Array<{ predicate: (frame: Frame) => boolean; resolve: (frame: Frame) => void }> = [];

  constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      this.frames.push(frame);
      this.#waiters = this.#waiters.filter((waiter) => {
        if (!waiter.predicate(frame)) return true;
        waiter.resolve(frame);
        return false;
      });
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => resolve({ code, reason: String(reason) }));
    });
  }

  /** Sends one JSON message. */
  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  /** Resolves with the first frame (already received or future) that matches. */
  waitFor(predicate: (frame: Frame) => boolean): Promise<Frame> {
    const existing = this.frames.find(predicate);
    if (existing !== undefined) return Promise.resolve(existing);
    return new Promise((resolve) => this.#waiters.push({ predicate, resolve }));
  }

  /** Resolves with the `count`-th frame that matches (1-based). */
  async waitForNth(predicate: (frame: Frame) => boolean, count: number): Promise<Frame> {
    let seen = 0;
    return this.waitFor((frame) => predicate(frame) && ++seen === count);
  }

  /** Resolves with the terminal event frame of a stream. */
  terminal(streamId: string): Promise<Frame> {
    return this.waitFor((frame) => frame.streamId === streamId && (frame.event === 'done' || frame.event === 'error'));
  }

  /** The event frames of one stream, in arrival order. */
  events(streamId: string): Frame[] {
    return this.frames.filter((frame) => frame.streamId === streamId && frame.type === undefined);
  }

  /** The reply text of one stream so far. */
  text(streamId: string): string {
    return this.events(streamId)
      .filter((frame) => frame.event === 'token')
      .map((frame) => String(frame.data?.token))
      .join('');
  }
}

/**
 * Opens a client; rejects with the HTTP status when the upgrade is refused.
 *
 * @param url - ws URL
 * @param protocols - subprotocols to offer
 * @param options - `ws` client options (headers, autoPong, ...)
 * @returns the connected client
 */
export function openClient(url: string, protocols: string[] = [], options: ClientOptions = {}): Promise<TestClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols, options);
    const client = new TestClient(socket);
    socket.once('open', () => resolve(client));
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk;
      });
      response.on('end', () =>
        reject(Object.assign(new Error(`HTTP ${response.statusCode}`), { status: response.statusCode, body })),
      );
    });
    socket.once('error', reject);
  });
}

/** Ids must be strictly increasing and each event must appear once. */
export function ids(frames: readonly Frame[]): number[] {
  return frames.map((frame) => frame.id as number);
}
