/**
 * The WebSocket transport: the same {@link StreamTransport} contract as SSE, over
 * `GET /ws/stream`. Reconnects, backoff with jitter, stall detection, dedupe and partial text stay
 * in the stream session; this module only speaks the wire:
 *
 * - start: open a socket, send `{"type":"start","message","threadId"?,"idempotencyKey"?}`; the
 *   stream id comes with the first event frame;
 * - resume: open a socket, send `{"type":"resume","streamId","after"}` (never the prompt);
 * - cancel: a short-lived socket of its own sends `{"type":"cancel","streamId"}` and waits for
 *   the `cancelled` acknowledgement (so Stop works even when the streaming socket is half dead).
 *
 * Out of the server come event frames `{"streamId","id","event","data"}` and control frames with a
 * `type`: `heartbeat` (keep-alive; browsers cannot see pings), `error` (a refused message, or
 * `slow_consumer`: the server dropped this reader and it must resume), `ended` (a resume at the
 * end: nothing more), `cancelled`.
 *
 * Browser-safe: it uses the global `WebSocket` or an injected constructor (for example `ws` in
 * Node), never a Node module. Browsers cannot set headers on a WebSocket, so an API key travels
 * as the subprotocol `streamwell.bearer.<base64url(key)>` next to `streamwell.v1`.
 *
 * @module
 */
import { HTTP_STATUS_BY_CODE, StreamwellError, type StreamwellErrorCode } from '../errors/index.ts';
import {
  encodeBearerProtocol,
  isStreamEvent,
  isTerminalEventName,
  type StreamEvent,
  WEBSOCKET_PROTOCOL,
} from '../protocol/index.ts';
import { StreamHttpError } from './stream-http-error.ts';
import type { StreamTransport, TransportHandlers, TransportResult } from './stream-transport.ts';

/** The part of a WebSocket this transport uses: the WHATWG interface, which `ws` also implements. */
export interface ClientWebSocketLike {
  readonly readyState: number;
  readonly protocol?: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'error', listener: (event: unknown) => void): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { readonly code: number; readonly reason: string }) => void): void;
}

/** A WebSocket constructor: the browser's `WebSocket`, or `ws`'s in Node. */
export type WebSocketConstructorLike = new (url: string, protocols?: string | string[]) => ClientWebSocketLike;

/** Options of {@link createWsTransport}. */
export interface WsTransportOptions {
  /**
   * The `GET /ws/stream` URL. Relative URLs resolve against the page; `http(s):` becomes `ws(s):`.
   * @defaultValue '/ws/stream'
   */
  readonly url?: string;
  /** API key (or a function returning the current one), sent as the bearer subprotocol. */
  readonly apiKey?: string | (() => string | undefined | Promise<string | undefined>);
  /** @defaultValue globalThis.WebSocket */
  readonly WebSocket?: WebSocketConstructorLike;
  /** A socket that has not opened after this long counts as a failed (retryable) attempt. @defaultValue 10000 */
  readonly connectTimeoutMs?: number;
}

/**
 * The default endpoint of the reference server.
 *
 * @internal
 */
export const DEFAULT_WS_URL = '/ws/stream';

interface ControlFrame {
  readonly type: string;
  readonly streamId?: string;
  readonly error?: { readonly code?: string; readonly message?: string };
}

/**
 * Resolves the WebSocket URL: relative to the page when there is one, `http(s)` → `ws(s)`.
 *
 * @param url - absolute or relative URL
 * @returns an absolute `ws:` or `wss:` URL
 * @throws StreamwellError `invalid_config` for a relative URL outside a page, or another scheme
 * @example toWebSocketUrl('https://chat.example/ws/stream') // 'wss://chat.example/ws/stream'
 *
 * @internal
 */
export function toWebSocketUrl(url: string): string {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  let resolved: URL;
  try {
    resolved = base === undefined ? new URL(url) : new URL(url, base);
  } catch (error) {
    throw new StreamwellError('invalid_config', `"${url}" is not an absolute WebSocket URL.`, { cause: error });
  }
  if (resolved.protocol === 'http:') resolved.protocol = 'ws:';
  else if (resolved.protocol === 'https:') resolved.protocol = 'wss:';
  if (resolved.protocol !== 'ws:' && resolved.protocol !== 'wss:') {
    throw new StreamwellError('invalid_config', `"${url}" is not a ws:, wss:, http: or https: URL.`);
  }
  return resolved.toString();
}

/** The error for a server `error` frame, shaped like the SSE transport's HTTP errors. */
function toFrameError(frame: ControlFrame): StreamwellError {
  const code = frame.error?.code ?? 'internal_error';
  const status = HTTP_STATUS_BY_CODE[code as StreamwellErrorCode] ?? 500;
  return new StreamHttpError(frame.error?.message ?? `The server refused the request (${code}).`, {
    status,
    serverCode: code,
    retryable: status === 429 || status >= 500,
  });
}

/** `ws` in Node reports a refused upgrade as "Unexpected server response: 401"; browsers say nothing. */
function toUpgradeError(url: string, detail: string | undefined): StreamwellError {
  const status = Number(/Unexpected server response: (\d{3})/.exec(detail ?? '')?.[1]);
  if (Number.isInteger(status) && status >= 400) {
    return new StreamHttpError(`The WebSocket upgrade at ${url} was refused with status ${status}.`, {
      status,
      retryable: status === 429 || status >= 500,
    });
  }
  return new StreamwellError(
    'network',
    `The WebSocket at ${url} did not open${detail ? ` (${detail})` : ''}. A proxy that does not pass the Upgrade and Connection headers fails like this; see docs/deployment.md.`,
    { retryable: true },
  );
}

function abortError(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  if (reason instanceof StreamwellError) return reason;
  return new StreamwellError('aborted', 'The stream was aborted.', { cause: reason });
}

/** What one connection sends first, and what it already knows. */
interface Opening {
  readonly payload: Record<string, unknown>;
  readonly streamId: string | undefined;
}

/**
 * Creates the WebSocket transport.
 *
 * @param options - URL, API key, WebSocket constructor and connect timeout
 * @returns a {@link StreamTransport} named `ws`
 * @example createStreamClient({ transport: createWsTransport({ url: '/ws/stream' }) })
 */
export function createWsTransport(options: WsTransportOptions = {}): StreamTransport {
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;

  async function openSocket(signal: AbortSignal): Promise<{ socket: ClientWebSocketLike; url: string }> {
    // Typed assignment, no cast: the compiler checks that the WHATWG WebSocket fits the interface.
    const platform: WebSocketConstructorLike | undefined = typeof WebSocket === 'undefined' ? undefined : WebSocket;
    const Constructor = options.WebSocket ?? platform;
    if (Constructor === undefined) {
      throw new StreamwellError('invalid_config', 'No WebSocket is available: pass `WebSocket` in the options.');
    }
    const url = toWebSocketUrl(options.url ?? DEFAULT_WS_URL);
    const key = typeof options.apiKey === 'function' ? await options.apiKey() : options.apiKey;
    // An abort while the key was fetched: open nothing (a late socket would start a run unseen).
    if (signal.aborted) throw abortError(signal);
    const protocols = key === undefined ? [WEBSOCKET_PROTOCOL] : [WEBSOCKET_PROTOCOL, encodeBearerProtocol(key)];
    return { socket: new Constructor(url, protocols), url };
  }

  function connect(opening: Opening, handlers: TransportHandlers, signal: AbortSignal): Promise<TransportResult> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(abortError(signal));
        return;
      }
      openSocket(signal).then(
        ({ socket, url }) => drive(socket, url, opening, handlers, signal, resolve, reject),
        reject,
      );
    });
  }

  // One connection's life: open, send the opening message, dispatch frames, settle exactly once.
  function drive(
    socket: ClientWebSocketLike,
    url: string,
    opening: Opening,
    handlers: TransportHandlers,
    signal: AbortSignal,
    resolve: (result: TransportResult) => void,
    reject: (error: unknown) => void,
  ): void {
    let streamId = opening.streamId;
    let opened = false;
    let settled = false;
    let errorDetail: string | undefined;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (socket.readyState <= 1) socket.close(1000);
      outcome();
    };
    const onAbort = (): void => settle(() => reject(abortError(signal)));
    const timer = setTimeout(() => settle(() => reject(toUpgradeError(url, 'timed out'))), connectTimeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });

    const onControl = (frame: ControlFrame): void => {
      if (frame.type === 'heartbeat' || frame.type === 'cancelled') return;
      if (frame.streamId !== undefined && streamId !== undefined && frame.streamId !== streamId) return;
      // Dropped for reading too slowly: end this connection; the session resumes from its last id.
      if (frame.type === 'error' && frame.error?.code === 'slow_consumer') settle(() => resolve('ended'));
      else if (frame.type === 'error') settle(() => reject(toFrameError(frame)));
      else if (frame.type === 'ended') settle(() => resolve('finished'));
    };
    const onEventFrame = (frame: Record<string, unknown>): void => {
      if (typeof frame.streamId !== 'string') return;
      if (streamId === undefined) {
        streamId = frame.streamId;
        handlers.onStreamId(streamId);
      }
      if (frame.streamId !== streamId) return;
      const event = { id: frame.id, event: frame.event, data: frame.data };
      // Unknown event names are skipped, as the SSE transport does (clients ignore names they do not know).
      if (!isStreamEvent(event)) return;
      handlers.onEvent(event as StreamEvent);
      if (isTerminalEventName(event.event)) settle(() => resolve('ended'));
    };

    socket.addEventListener('open', () => {
      opened = true;
      clearTimeout(timer);
      handlers.onActivity();
      socket.send(JSON.stringify(opening.payload));
    });
    socket.addEventListener('message', (message: { data: unknown }) => {
      if (settled) return;
      handlers.onActivity();
      let frame: unknown;
      try {
        frame = JSON.parse(String(message.data));
      } catch (error) {
        settle(() => reject(new StreamwellError('parse_error', 'A WebSocket frame is not JSON.', { cause: error })));
        return;
      }
      if (typeof frame !== 'object' || frame === null) return;
      if (typeof (frame as ControlFrame).type === 'string') onControl(frame as ControlFrame);
      else onEventFrame(frame as Record<string, unknown>);
    });
    socket.addEventListener('error', (event) => {
      // `ws` (Node) says why, e.g. "Unexpected server response: 401"; browsers never do.
      const message = (event as { message?: unknown } | null)?.message;
      errorDetail = typeof message === 'string' ? message : errorDetail;
    });
    socket.addEventListener('close', (event) => {
      if (!opened) {
        settle(() => reject(toUpgradeError(url, errorDetail)));
      } else if (event.code === 1009) {
        settle(() =>
          reject(new StreamwellError('body_too_large', 'The server refused a message as too large (1009).')),
        );
      } else if (event.code === 1000 || event.code === 1001) {
        settle(() => resolve('ended'));
      } else {
        const detail = event.reason ? `: ${event.reason}` : '';
        settle(() =>
          reject(
            new StreamwellError('network', `The WebSocket closed with code ${event.code}${detail}.`, {
              retryable: true,
            }),
          ),
        );
      }
    });
  }

  return {
    name: 'ws',
    start(request, handlers, signal) {
      const payload: Record<string, unknown> = { type: 'start', message: request.message };
      if (request.threadId !== undefined) payload.threadId = request.threadId;
      if (request.idempotencyKey !== undefined) payload.idempotencyKey = request.idempotencyKey;
      return connect({ payload, streamId: undefined }, handlers, signal);
    },
    resume(request, handlers, signal) {
      handlers.onStreamId(request.streamId);
      const payload = { type: 'resume', streamId: request.streamId, after: request.after ?? null };
      return connect({ payload, streamId: request.streamId }, handlers, signal);
    },
    async cancel(streamId, signal) {
      const controller = new AbortController();
      const onAbort = (): void => controller.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        await new Promise<void>((resolve, reject) => {
          openSocket(controller.signal).then(({ socket, url }) => {
            let finished = false;
            const finish = (error?: unknown): void => {
              if (finished) return;
              finished = true;
              clearTimeout(timer);
              if (socket.readyState <= 1) socket.close(1000);
              if (error === undefined) resolve();
              else reject(error);
            };
            const timer = setTimeout(() => finish(toUpgradeError(url, 'timed out')), connectTimeoutMs);
            if (controller.signal.aborted) finish(abortError(controller.signal));
            controller.signal.addEventListener('abort', () => finish(abortError(controller.signal)), { once: true });
            socket.addEventListener('open', () => socket.send(JSON.stringify({ type: 'cancel', streamId })));
            socket.addEventListener('message', (message: { data: unknown }) => {
              let frame: ControlFrame;
              try {
                frame = JSON.parse(String(message.data)) as ControlFrame;
              } catch {
                return;
              }
              if (frame.streamId !== streamId) return;
              // A stream that is gone has nothing left to stop (as over SSE).
              if (frame.type === 'cancelled' || frame.error?.code === 'not_found') finish();
              else if (frame.type === 'error') finish(toFrameError(frame));
            });
            socket.addEventListener('close', () =>
              finish(toUpgradeError(url, 'closed before the cancel was confirmed')),
            );
          }, reject);
        });
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    },
  };
}
