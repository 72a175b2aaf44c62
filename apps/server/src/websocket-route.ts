/**
 * `GET /ws/stream` on the reference server: `ws` in `noServer` mode on the HTTP server's
 * `upgrade` event (the pattern of the ws README), in front of the library's transport-neutral
 * session handler. The upgrade is checked before any WebSocket exists: a foreign `Origin`
 * (cross-site WebSocket hijacking), a missing or wrong credential and a draining server are
 * answered with a plain HTTP error and a JSON body, as every other route does.
 *
 * @module
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import {
  type ConnectionLimiter,
  type ConnectionSlot,
  createHostNotAllowedError,
  createOriginNotAllowedError,
  isStreamwellError,
  type RunRegistry,
  readWebSocketCredential,
  StreamwellError,
  selectWebSocketProtocol,
  serveWebSocket,
  type WebSocketSessionOptions,
} from 'streamwell/server';
import { WebSocketServer } from 'ws';
import type { AppContext } from './app-context.ts';

/** The path of the WebSocket transport. */
export const WEBSOCKET_PATH = '/ws/stream';

/** Options of {@link attachWebSocketRoute}. */
export interface WebSocketRouteOptions
  extends Omit<WebSocketSessionOptions, 'registry' | 'principal' | 'onError' | 'onSlowConsumer' | 'onDeadPeer'> {
  readonly registry: RunRegistry;
  /**
   * Maps the upgrade's credential (bearer header or `streamwell.bearer.*` subprotocol) to the
   * principal that will own the streams, exactly as the HTTP routes do.
   *
   * @throws StreamwellError `unauthorized` (401) to refuse the upgrade
   */
  readonly authenticate: (credential: string | undefined, request: IncomingMessage) => string | undefined;
  /** The CORS allowlist check, applied to the upgrade's `Origin` (requests without one pass). */
  readonly isOriginAllowed: (origin: string, request: IncomingMessage) => boolean;
  /**
   * The `Host` allowlist check (DNS rebinding), applied before anything else.
   *
   * @defaultValue every `Host` passes
   */
  readonly isHostAllowed?: (request: IncomingMessage) => boolean;
  /** @defaultValue `/ws/stream` */
  readonly path?: string;
  /**
   * The server's connection caps: an upgrade past the WebSocket cap (or the principal's) is
   * refused with an HTTP `503 too_many_connections` (`429 too_many_principal_connections`) and
   * `Retry-After`, before any WebSocket exists; each socket holds its slot until its TCP socket
   * closes. @defaultValue none: not capped
   */
  readonly connections?: ConnectionLimiter;
  /** `Retry-After` of a `429`/`503` refusal. @defaultValue 2 */
  readonly retryAfterSeconds?: number;
  /** An upgrade was refused (for metrics), with the error code. */
  readonly onRefused?: (code: string) => void;
  /** Structured logger (pino's shape). */
  readonly log?: {
    warn(object: object, message: string): void;
    info(object: object, message: string): void;
  };
}

/** A mounted WebSocket route. */
export interface WebSocketRoute {
  /** Open sockets. */
  readonly connections: number;
  /** Closes every socket with 1001 (going away) and detaches from the HTTP server. */
  close(): Promise<void>;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  421: 'Misdirected Request',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Answers an upgrade request with an HTTP error and a JSON body, then closes the socket. */
function refuseUpgrade(
  socket: Duplex,
  error: StreamwellError,
  headers: Readonly<Record<string, string>> = {},
  retryAfterSeconds = 2,
): void {
  const status = error.status ?? 500;
  const body = JSON.stringify(error.toJSON());
  const retryAfter = status === 429 || status === 503 ? `Retry-After: ${retryAfterSeconds}\r\n` : '';
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('') +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      retryAfter +
      'Connection: close\r\n\r\n' +
      body,
  );
  // `end()` only half-closes, and Node keeps an upgrade's socket open until the client closes its
  // side: a client that never does would hold the descriptor (and, for a handshake ws refuses
  // after our checks, a WebSocket slot) for good. Once the answer is out, the socket goes.
  socket.once('finish', () => socket.destroy());
}

/**
 * The path of an upgrade's request target, or undefined when it does not parse. Node's HTTP parser
 * lets through targets such as `//` that `new URL` refuses, and a throw in an `upgrade` listener
 * would be an uncaught exception that ends the process.
 */
function pathnameOf(target: string | undefined): string | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

function checkUpgrade(
  request: IncomingMessage,
  options: WebSocketRouteOptions,
): { principal: string | undefined; slot: ConnectionSlot | undefined } {
  // A page that re-pointed its own name at this server (DNS rebinding) passes the Origin check
  // below as its own origin; its Host gives it away.
  if (options.isHostAllowed !== undefined && !options.isHostAllowed(request)) throw createHostNotAllowedError();
  const origin = request.headers.origin;
  // Browsers send Origin on every WebSocket handshake and the same-origin policy does not apply
  // to WebSockets, so this check is what stops another site from using a visitor's session.
  if (origin !== undefined && !options.isOriginAllowed(origin, request)) {
    throw createOriginNotAllowedError();
  }
  if (options.registry.draining) {
    throw new StreamwellError('shutting_down', 'The server is shutting down; retry on another instance.', {
      status: 503,
      retryable: true,
    });
  }
  const principal = options.authenticate(readWebSocketCredential(request.headers), request);
  // Last, so that only an allowed, authenticated upgrade takes (and can be refused) a slot.
  return { principal, slot: options.connections?.acquire('websocket', principal) };
}

/**
 * Serves `GET /ws/stream` on a Node HTTP server (Fastify's `app.server`, or a plain `node:http`
 * server).
 *
 * @param server - the HTTP server whose `upgrade` event to handle
 * @param options - registry, auth, origin check and limits
 * @returns the route, to close on shutdown
 */
export function attachWebSocketRoute(server: Server, options: WebSocketRouteOptions): WebSocketRoute {
  const path = options.path ?? WEBSOCKET_PATH;
  const maxPayloadBytes = options.maxPayloadBytes ?? 65_536;
  const wss = new WebSocketServer({
    noServer: true,
    // ws refuses a bigger frame or message itself, with close code 1009, before buffering it.
    maxPayload: maxPayloadBytes,
    // No permessage-deflate: it costs memory per socket and delays small token frames.
    perMessageDeflate: false,
    // Answer `streamwell.v1`, never the credential-carrying subprotocol.
    handleProtocols: (protocols) => selectWebSocketProtocol(protocols),
  });

  // ws answers a malformed handshake (no or a bad Sec-WebSocket-Key, an unknown version, a
  // subprotocol list that does not parse, a method other than GET) with a text/html 400 of its
  // own; with this listener it leaves the answer to us: the JSON error every route answers
  // (found by the hostile-input fuzz suite).
  wss.on('wsClientError', (error: Error, socket: Duplex) => {
    const method = error.message.includes('HTTP method');
    const refusal = new StreamwellError(
      method ? 'method_not_allowed' : 'bad_request',
      `WebSocket handshake refused: ${error.message}.`,
      { status: method ? 405 : 400 },
    );
    options.onRefused?.(refusal.code);
    const headers: Record<string, string> = {};
    if (method) headers.Allow = 'GET';
    if (error.message.includes('Sec-WebSocket-Version')) headers['Sec-WebSocket-Version'] = '13, 8';
    refuseUpgrade(socket, refusal, headers);
  });

  function onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const pathname = pathnameOf(request.url);
    if (pathname !== path) {
      // Leave other paths to other upgrade listeners; when there are none, answer like any route.
      if (server.listenerCount('upgrade') === 1) {
        refuseUpgrade(
          socket,
          new StreamwellError('not_found', `No WebSocket endpoint at ${pathname ?? 'this path'}.`, { status: 404 }),
        );
      }
      return;
    }
    socket.on('error', () => socket.destroy());
    let principal: string | undefined;
    try {
      const checked = checkUpgrade(request, options);
      principal = checked.principal;
      const slot = checked.slot;
      // The TCP socket closes however the WebSocket ends (closing handshake, cut, failed
      // handshake, terminate): the one place that frees the slot exactly once.
      if (slot !== undefined) socket.once('close', () => slot.release());
    } catch (error) {
      const refusal = isStreamwellError(error)
        ? error
        : new StreamwellError('internal_error', 'The upgrade could not be checked.', { status: 500, cause: error });
      options.onRefused?.(refusal.code);
      options.log?.info({ code: refusal.code, origin: request.headers.origin }, 'websocket upgrade refused');
      refuseUpgrade(socket, refusal, {}, options.retryAfterSeconds);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      serveWebSocket(ws, {
        ...options,
        maxPayloadBytes,
        principal,
        onSlowConsumer: (streamId, bufferedAmount) =>
          options.log?.warn({ streamId, bufferedAmount }, 'websocket subscriber dropped: slow consumer'),
        onDeadPeer: () => options.log?.info({}, 'websocket peer terminated: no pong'),
        onError: (error) => options.log?.warn({ err: error }, 'websocket message failed'),
      });
    });
  }

  server.on('upgrade', onUpgrade);
  return {
    get connections() {
      return wss.clients.size;
    },
    close() {
      server.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      return new Promise((resolve) => {
        // Give clients a moment for the closing handshake, then cut whatever is left.
        const timer = setTimeout(() => {
          for (const client of wss.clients) client.terminate();
        }, 1000);
        timer.unref();
        wss.close(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

/**
 * Registers `GET /ws/stream` on the reference server: attaches to `app.server` with the app's
 * registry, auth, origin check and limits (`HEARTBEAT_MS`, `MAX_MESSAGE_CHARS`, `MAX_BODY_BYTES`
 * as the largest inbound message), and closes every socket in `preClose` once the running
 * streams have ended (bounded by the shutdown deadline), so that `app.close()` does not wait on
 * open WebSockets.
 *
 * @param app - the Fastify instance
 * @param context - the app's shared context
 * @returns the route
 */
export function registerWebSocketRoute(app: FastifyInstance, context: AppContext): WebSocketRoute {
  const route = attachWebSocketRoute(app.server, {
    registry: context.registry,
    authenticate: (credential, request) => context.authenticate(credential, request),
    isOriginAllowed: (origin, request) => context.isOriginAllowed(origin, request),
    isHostAllowed: (request) => context.isHostAllowed(request),
    heartbeatMs: context.config.heartbeatMs,
    maxMessageChars: context.config.maxMessageChars,
    maxPayloadBytes: context.config.maxBodyBytes,
    idleTimeoutMs: context.config.wsIdleTimeoutMs,
    connections: context.connections,
    log: context.log,
    onRefused: (code) => context.metrics.refused(code),
  });
  app.addHook('preClose', async () => {
    // As for SSE responses during a drain: running streams may finish (or end with
    // `server_shutdown`) before their sockets close with 1001, which makes clients resume elsewhere.
    await waitUntil(() => context.registry.activeCount === 0, context.config.shutdownDeadlineMs + 1000);
    await route.close();
  });
  return route;
}

/** Polls `condition` until it holds or `timeoutMs` passes. */
async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition() && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
