/**
 * Wires a `ws`-style socket (Node `EventEmitter` events) to a {@link WebSocketSession}.
 *
 * @module
 */
import {
  createWebSocketSession,
  type WebSocketData,
  type WebSocketSession,
  type WebSocketSessionOptions,
} from './create-websocket-session.ts';
import type { EventedWebSocketLike } from './websocket-like.ts';

/**
 * Serves `GET /ws/stream` on one accepted socket: creates the session and subscribes it to the
 * socket's `message`, `pong`, `close` and `error` events. An `error` listener is always present,
 * so a protocol error on one socket (for example an oversized frame, which `ws` answers with
 * close code 1009) can never become an uncaught exception that ends the process.
 *
 * @param socket - an accepted socket, e.g. from `ws`'s `handleUpgrade`
 * @param options - registry, principal and limits
 * @returns the session
 * @example
 * wss.handleUpgrade(request, socket, head, (ws) => serveWebSocket(ws, { registry, principal }));
 */
export function serveWebSocket(socket: EventedWebSocketLike, options: WebSocketSessionOptions): WebSocketSession {
  const session = createWebSocketSession(socket, options);
  socket.on('message', (data: WebSocketData, isBinary: boolean) => session.handleMessage(data, isBinary));
  socket.on('pong', () => session.handlePong());
  socket.on('close', () => session.handleClose());
  socket.on('error', () => session.handleClose());
  return session;
}
