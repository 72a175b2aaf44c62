/**
 * One WebSocket connection of `GET /ws/stream`: several streams per socket, resume from a cursor,
 * cancel, per-stream backpressure and ping/pong heartbeats. Transport-neutral: it writes to a
 * structural {@link WebSocketLike} and is fed with `handleMessage`/`handlePong`/`handleClose`,
 * so the library never imports `ws` (see {@link serveWebSocket} for the `ws` wiring).
 *
 * A socket is only a view, like an SSE response: closing it detaches its subscribers and the
 * registry's disconnect grace then decides whether the runs keep going.
 *
 * @module
 */
import { isStreamwellError, StreamwellError } from '../../errors/index.ts';
import { isTerminalEventName } from '../../protocol/index.ts';
import type { RunEvent } from '../run-event-log.ts';
import type { RunHandle } from '../run-handle.ts';
import type { RunRegistry } from '../run-registry.ts';
import {
  createEventFramePrefix,
  encodeCancelledFrame,
  encodeEndedFrame,
  encodeErrorFrame,
  encodeEventFrame,
} from './encode-ws-frame.ts';
import { type ClientMessage, parseClientMessage } from './parse-client-message.ts';
import { type WebSocketLike, WS_CLOSE_CODES, WS_OPEN } from './websocket-like.ts';

/** Options of {@link createWebSocketSession}. Every limit has a default. */
export interface WebSocketSessionOptions {
  readonly registry: RunRegistry;
  /** Who opened the socket (from the upgrade request's credentials); owns the streams it starts. */
  readonly principal?: string | undefined;
  /** Longest `message` of a `start`. @defaultValue 8000 */
  readonly maxMessageChars?: number;
  /** Streams one socket may follow at once; past it a `start`/`resume` gets `too_many_streams`. @defaultValue 16 */
  readonly maxStreamsPerSocket?: number;
  /**
   * When the socket's `bufferedAmount` exceeds this many bytes, the stream about to be written is
   * dropped (its subscriber detached, a `slow_consumer` frame sent) and must be resumed.
   * Server memory per socket is bounded by about this plus one frame. @defaultValue 1 MiB
   */
  readonly maxBufferedBytes?: number;
  /**
   * Largest inbound message in bytes; a bigger one closes the socket with 1009. With `ws`, also
   * set its `maxPayload` to this value so oversized frames are refused before they are buffered.
   * @defaultValue 65536
   */
  readonly maxPayloadBytes?: number;
  /**
   * Heartbeat interval: a ping each time (a peer that has not answered the previous ping is
   * terminated) and, on a socket that follows a stream but sent nothing since the last beat, a
   * `{"type":"heartbeat"}` frame for clients that cannot see pings (browsers). 0 disables.
   * @defaultValue 15000
   */
  readonly heartbeatMs?: number;
  /**
   * A socket that follows no stream and has sent no message for this long is closed with 1000
   * ("Idle timeout"): an idle socket still holds a file descriptor and a slot of the server's
   * WebSocket cap, and the streamwell client opens a socket per stream, sending its first message
   * at once. Pongs do not count (a browser answers pings by itself). 0 disables.
   * @defaultValue 60000
   */
  readonly idleTimeoutMs?: number;
  /** A subscriber was dropped for backpressure (for logs and metrics). */
  readonly onSlowConsumer?: (streamId: string, bufferedAmount: number) => void;
  /** A peer was terminated because it missed a pong. */
  readonly onDeadPeer?: () => void;
  /** An unexpected failure while handling a message (a bug); the socket stays usable. */
  readonly onError?: (error: unknown) => void;
}

/** Inbound message payloads as `ws` and WHATWG sockets deliver them. */
export type WebSocketData = string | ArrayBuffer | ArrayBufferView | readonly ArrayBufferView[];

/** A live session. */
export interface WebSocketSession {
  /** Feed one inbound message. `isBinary` true refuses it (the protocol is JSON text). */
  handleMessage(data: WebSocketData, isBinary?: boolean): void;
  /** Feed a pong: the peer is alive. */
  handlePong(): void;
  /** The socket closed: detach every subscriber and stop the heartbeat. Idempotent. */
  handleClose(): void;
  /** Streams this socket currently follows. */
  readonly streamCount: number;
  /** True after the socket closed. */
  readonly closed: boolean;
}

interface Subscription {
  readonly streamId: string;
  readonly prefix: string;
  lastSentId: number;
  detach: () => void;
}

const decoder = new TextDecoder();

/**
 * Keep-alive control frame, sent on a quiet socket that follows at least one stream.
 *
 * @internal
 */
export const HEARTBEAT_FRAME = '{"type":"heartbeat"}';

function byteLengthOf(data: WebSocketData): number {
  if (typeof data === 'string') return data.length;
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  return (data as readonly ArrayBufferView[]).reduce((total, part) => total + part.byteLength, 0);
}

function decode(data: WebSocketData): string {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return decoder.decode(data);
  return (data as readonly ArrayBufferView[]).map((part) => decoder.decode(part)).join('');
}

/**
 * Creates the session of one accepted socket and starts its heartbeat.
 *
 * @param socket - the accepted socket
 * @param options - registry, principal and limits
 * @returns the session; feed it the socket's messages, pongs and close
 * @example
 * const session = createWebSocketSession(socket, { registry, principal });
 * socket.on('message', (data, isBinary) => session.handleMessage(data, isBinary));
 *
 * @internal
 */
export function createWebSocketSession(socket: WebSocketLike, options: WebSocketSessionOptions): WebSocketSession {
  const { registry, principal } = options;
  const limits = { maxMessageChars: options.maxMessageChars ?? 8000 };
  const maxStreams = options.maxStreamsPerSocket ?? 16;
  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  const maxPayload = options.maxPayloadBytes ?? 65_536;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const streams = new Map<string, Subscription>();
  let closed = false;
  let alive = true;
  let sentSinceTick = false;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  // Set while a message waits on an asynchronous registry answer; later messages queue behind it.
  let pending: Promise<void> | undefined;

  function send(text: string): void {
    if (closed || socket.readyState !== WS_OPEN) return;
    try {
      socket.send(text);
      sentSinceTick = true;
    } catch (error) {
      options.onError?.(error);
    }
  }

  function remove(subscription: Subscription): void {
    if (streams.get(subscription.streamId) === subscription) streams.delete(subscription.streamId);
    subscription.detach();
    if (streams.size === 0) armIdle();
  }

  /** (Re)starts the idle clock; it only runs while the socket follows no stream. */
  function armIdle(): void {
    if (idleTimer !== undefined) clearTimeout(idleTimer);
    idleTimer = undefined;
    if (idleTimeoutMs <= 0 || closed || streams.size > 0) return;
    idleTimer = setTimeout(onIdle, idleTimeoutMs);
    idleTimer.unref?.();
  }

  function onIdle(): void {
    idleTimer = undefined;
    // A message still waiting on the registry will subscribe (or answer) soon: not idle.
    if (closed || streams.size > 0) return;
    if (pending !== undefined) {
      armIdle();
      return;
    }
    socket.close(WS_CLOSE_CODES.NORMAL, 'Idle timeout');
    handleClose();
  }

  /** Writes one event, or drops the subscription when the socket is not draining. */
  function deliver(subscription: Subscription, event: RunEvent): boolean {
    if (closed || socket.readyState !== WS_OPEN) return false;
    const buffered = socket.bufferedAmount;
    if (buffered > maxBuffered) {
      remove(subscription);
      options.onSlowConsumer?.(subscription.streamId, buffered);
      send(
        encodeErrorFrame(
          'slow_consumer',
          `The connection is not reading fast enough (${buffered} bytes waiting, limit ${maxBuffered}); resume from lastEventId.`,
          { streamId: subscription.streamId, lastEventId: subscription.lastSentId },
        ),
      );
      return false;
    }
    send(encodeEventFrame(subscription.prefix, event));
    subscription.lastSentId = event.id;
    // The run clears its subscribers after its terminal event; release the socket's slot too.
    if (isTerminalEventName(event.event)) remove(subscription);
    return true;
  }

  function subscribe(run: RunHandle, after: number | undefined): void {
    const previous = streams.get(run.id);
    if (previous !== undefined) remove(previous);
    const subscription: Subscription = {
      streamId: run.id,
      prefix: createEventFramePrefix(run.id),
      lastSentId: after ?? 0,
      detach: () => {},
    };
    streams.set(run.id, subscription);
    const attachment = registry.attach(run, after, {
      onEvent: (event) => {
        deliver(subscription, event);
      },
      onEvents: (batch) => {
        for (const event of batch.events) {
          if (!deliver(subscription, event)) return;
        }
      },
      onEvicted: () => {
        remove(subscription);
        send(encodeErrorFrame('not_found', 'The stream expired.', { streamId: run.id }));
      },
    });
    subscription.detach = attachment.detach;
    // Backlog and live subscription were taken in one synchronous step: no gap, no duplicate.
    for (const event of attachment.backlog) {
      if (!deliver(subscription, event)) return;
    }
    if (!attachment.live && streams.get(run.id) === subscription) {
      // A finished run delivers nothing live; with an empty backlog the cursor was at its end.
      remove(subscription);
      if (attachment.backlog.length === 0) send(encodeEndedFrame(run.id, run.lastEventId));
    }
  }

  function ensureCapacity(streamId: string | undefined): void {
    if (streamId !== undefined && streams.has(streamId)) return;
    if (streams.size >= maxStreams) {
      throw new StreamwellError('too_many_streams', `At most ${maxStreams} streams may share one socket.`, {
        status: 429,
        retryable: true,
      });
    }
  }

  /** Handles one message; synchronously when the registry answers synchronously (in-process). */
  function dispatch(message: ClientMessage): void | Promise<void> {
    if (message.type === 'start') {
      ensureCapacity(undefined);
      const started = registry.start({
        message: message.message,
        threadId: message.threadId,
        owner: principal,
        idempotencyKey: message.idempotencyKey,
      });
      return settle(started, ({ run }) => subscribe(run, undefined));
    }
    if (message.type === 'resume') {
      const { streamId, after } = message;
      return settle(registry.get(streamId, principal), (run) => {
        if (run === undefined) {
          send(encodeErrorFrame('not_found', 'Unknown or expired stream.', { streamId }));
          return;
        }
        ensureCapacity(run.id);
        subscribe(run, after);
      });
    }
    const { streamId } = message;
    return settle(registry.cancel(streamId, principal), (run) => {
      if (run === undefined) {
        send(encodeErrorFrame('not_found', 'Unknown or expired stream.', { streamId }));
        return;
      }
      send(encodeCancelledFrame(run.id, run.status));
    });
  }

  /** Runs `then` on the value now, or once the promise resolves (unless the socket closed meanwhile). */
  function settle<T>(value: T | Promise<T>, then: (value: T) => void): void | Promise<void> {
    if (!(value instanceof Promise)) {
      then(value);
      return;
    }
    return value.then((resolved) => {
      if (!closed) then(resolved);
    });
  }

  /** Dispatches a parsed message, in order after any message still waiting on the registry. */
  function handleParsed(message: ClientMessage, text: string): void {
    const run = (): void | Promise<void> => {
      try {
        const result = dispatch(message);
        if (result instanceof Promise) return result.catch((error: unknown) => refuse(error, text));
      } catch (error) {
        refuse(error, text);
      }
    };
    if (pending !== undefined) {
      pending = chain(pending.then(run));
      return;
    }
    const result = run();
    if (result instanceof Promise) pending = chain(result);
  }

  /** Tracks the tail of the queue; clears it once nothing waits any more. */
  function chain(tail: Promise<void>): Promise<void> {
    const tracked: Promise<void> = tail.then(() => {
      if (pending === tracked) pending = undefined;
    });
    return tracked;
  }

  function refuse(error: unknown, text: string): void {
    // Echo what identifies the request, so a client with several streams knows which one failed.
    let context: { streamId?: string; requestId?: string } = {};
    try {
      const value = JSON.parse(text) as { streamId?: unknown; requestId?: unknown };
      context = {
        ...(typeof value.streamId === 'string' ? { streamId: value.streamId.slice(0, 200) } : {}),
        ...(typeof value.requestId === 'string' ? { requestId: value.requestId.slice(0, 200) } : {}),
      };
    } catch {
      // not JSON: no context to echo
    }
    if (isStreamwellError(error)) {
      send(encodeErrorFrame(error.code, error.message, context));
    } else {
      options.onError?.(error);
      send(encodeErrorFrame('internal_error', 'The message could not be handled.', context));
    }
  }

  function handleClose(): void {
    if (closed) return;
    closed = true;
    if (idleTimer !== undefined) clearTimeout(idleTimer);
    idleTimer = undefined;
    if (heartbeat !== undefined) clearInterval(heartbeat);
    heartbeat = undefined;
    const subscriptions = [...streams.values()];
    streams.clear();
    for (const subscription of subscriptions) subscription.detach();
  }

  function tick(): void {
    if (socket.ping !== undefined && !alive) {
      // ws README, "How to detect and close broken connections?": no pong since the last ping.
      options.onDeadPeer?.();
      if (socket.terminate) socket.terminate();
      else socket.close(WS_CLOSE_CODES.GOING_AWAY, 'No pong');
      handleClose();
      return;
    }
    alive = false;
    try {
      socket.ping?.();
    } catch (error) {
      options.onError?.(error);
    }
    // Browsers answer pings without telling the page, so a quiet stream would look stalled to a
    // client's stall detector: send a heartbeat frame (the counterpart of SSE's `: ping`).
    if (!sentSinceTick && streams.size > 0) send(HEARTBEAT_FRAME);
    sentSinceTick = false;
  }

  if (heartbeatMs > 0) {
    heartbeat = setInterval(tick, heartbeatMs);
    heartbeat.unref?.();
  }
  armIdle();

  return {
    handleMessage(data, isBinary = false) {
      if (closed) return;
      alive = true;
      if (byteLengthOf(data) > maxPayload) {
        socket.close(WS_CLOSE_CODES.MESSAGE_TOO_BIG, `Message larger than ${maxPayload} bytes`);
        handleClose();
        return;
      }
      if (isBinary) {
        send(encodeErrorFrame('bad_request', 'Send JSON text messages; binary messages are not supported.'));
        return;
      }
      const text = decode(data);
      let message: ClientMessage;
      try {
        message = parseClientMessage(text, limits);
      } catch (error) {
        refuse(error, text);
        return;
      }
      // Messages of one socket are handled in order (a `cancel` right after its `start` must
      // find the run), also when the registry answers asynchronously (a shared store).
      handleParsed(message, text);
      armIdle();
    },
    handlePong() {
      alive = true;
    },
    handleClose,
    get streamCount() {
      return streams.size;
    },
    get closed() {
      return closed;
    },
  };
}
