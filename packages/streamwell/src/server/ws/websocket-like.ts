/**
 * The structural WebSocket types the session handler needs. The library never imports `ws`: any
 * object with these members works (a `ws` `WebSocket`, a uWebSockets adapter, a test double).
 *
 * Spec: https://www.rfc-editor.org/rfc/rfc6455 (close codes: section 7.4.1)
 *
 * @module
 */

/**
 * What the session writes to. A `ws` `WebSocket` satisfies it as is.
 *
 * `bufferedAmount` is the backpressure signal: bytes accepted by `send` but not yet handed to the
 * operating system. The session drops a stream's subscriber when it exceeds the cap, so a reader
 * that never reads cannot grow server memory.
 */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed (the WHATWG and `ws` numbering). */
  readonly readyState: number;
  /** Bytes queued by `send` and not yet written to the network. */
  readonly bufferedAmount: number;
  /** Queues one text message. */
  send(data: string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Destroys the connection at once, without a closing handshake (used for dead peers). */
  terminate?(): void;
  /** Sends a ping control frame; the peer answers with a pong. Without it heartbeats are off. */
  ping?(): void;
}

/**
 * A {@link WebSocketLike} that also emits `message`, `pong`, `close` and `error` the way `ws`
 * does (Node `EventEmitter` style). Used by {@link serveWebSocket}.
 */
export interface EventedWebSocketLike extends WebSocketLike {
  on(event: string, listener: (...args: never[]) => void): unknown;
}

/**
 * `readyState` of an open socket.
 *
 * @internal
 */
export const WS_OPEN = 1;

/**
 * Close codes the session uses (RFC 6455 section 7.4.1 and the IANA registry).
 * `MESSAGE_TOO_BIG` is what `ws` itself sends when `maxPayload` is exceeded.
 *
 * @internal
 */
export const WS_CLOSE_CODES = Object.freeze({
  /** "indicates a normal closure" */
  NORMAL: 1000,
  /** "an endpoint is going away, such as a server going down" */
  GOING_AWAY: 1001,
  /** "received a message that is too big for it to process" */
  MESSAGE_TOO_BIG: 1009,
});
