/**
 * A minimal HTTP/1.1 + SSE client on a raw `net` socket, built for measuring rather than for
 * general use: one request per connection, status and headers, chunked or identity body, SSE
 * events split on blank lines, and the receive time of the socket read that completed each
 * event. It works on latin1 strings (byte-preserving and cheap): the harness only reads ASCII
 * markers, ids and event names out of the data.
 *
 * @module
 */
import { connect, type Socket } from 'node:net';
import { nowNs } from '../lib/clock.ts';

/** The request to send. */
export interface SseRequest {
  readonly port: number;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** One dispatched SSE event. */
export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string | undefined;
  readonly data: string;
}

/** Callbacks of one connection. */
export interface SseHandlers {
  onHeaders?(status: number, headers: ReadonlyMap<string, string>, recvNs: number): void;
  onEvent?(event: SseEvent, recvNs: number): void;
  /** A comment line (`: ...`), the keep-alive of SSE. */
  onComment?(recvNs: number): void;
  /** The first byte of the body. */
  onFirstByte?(recvNs: number): void;
  /** The response ended (`complete`) or the connection failed or was destroyed. */
  onEnd?(complete: boolean, error?: Error): void;
}

/** Options of {@link openSse}. */
export interface SseOptions {
  /** Read at most this many bytes per second (a slow client); undefined reads at full speed. */
  readonly readBytesPerSecond?: number;
}

/** An open connection. */
export interface SseConnection {
  /** nowNs() right before the connect call. */
  readonly startNs: number;
  /** Body bytes received. */
  readonly bodyBytes: number;
  destroy(): void;
}

const HEAD_END = '\r\n\r\n';

/** Opens one connection and sends the request. */
export function openSse(request: SseRequest, handlers: SseHandlers, options: SseOptions = {}): SseConnection {
  const startNs = nowNs();
  const socket: Socket = connect({ host: '127.0.0.1', port: request.port });
  socket.setNoDelay(true);
  let head = '';
  let inBody = false;
  let chunked = false;
  let remaining = -1;
  let chunkState: 'size' | 'data' | 'crlf' = 'size';
  let sizeLine = '';
  let crlfLeft = 0;
  let pending = '';
  let bodyBytes = 0;
  let ended = false;
  let eventId: string | undefined;
  let eventName: string | undefined;
  let data: string[] = [];

  const end = (complete: boolean, error?: Error): void => {
    if (ended) return;
    ended = true;
    socket.destroy();
    handlers.onEnd?.(complete, error);
  };

  const dispatchBlock = (block: string, recvNs: number): void => {
    let start = 0;
    while (start <= block.length) {
      let stop = block.indexOf('\n', start);
      if (stop < 0) stop = block.length;
      let line = block.slice(start, stop);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      start = stop + 1;
      if (line.length === 0) continue;
      if (line.charCodeAt(0) === 58 /* : */) {
        handlers.onComment?.(recvNs);
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.charCodeAt(0) === 32) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'id') eventId = value;
      else if (field === 'event') eventName = value;
    }
    if (data.length > 0) {
      handlers.onEvent?.(
        { id: eventId, event: eventName, data: data.length === 1 ? (data[0] as string) : data.join('\n') },
        recvNs,
      );
    }
    data = [];
    eventName = undefined;
  };

  const onBodyText = (text: string, recvNs: number): void => {
    if (text.length === 0) return;
    if (bodyBytes === 0) handlers.onFirstByte?.(recvNs);
    bodyBytes += text.length;
    const scanFrom = Math.max(0, pending.length - 1);
    pending += text;
    let boundary = pending.indexOf('\n\n', scanFrom);
    // Stop at once when a handler destroyed the connection (a deliberate drop): what follows in
    // this read was never "received" by the client that went away.
    while (boundary >= 0 && !ended) {
      dispatchBlock(pending.slice(0, boundary), recvNs);
      pending = pending.slice(boundary + 2);
      boundary = pending.indexOf('\n\n');
    }
  };

  const onChunked = (text: string, recvNs: number): void => {
    let at = 0;
    while (at < text.length && !ended) {
      if (chunkState === 'size') {
        const stop = text.indexOf('\n', at);
        if (stop < 0) {
          sizeLine += text.slice(at);
          return;
        }
        sizeLine += text.slice(at, stop);
        at = stop + 1;
        const size = Number.parseInt(sizeLine, 16);
        sizeLine = '';
        if (size === 0) {
          end(true);
          return;
        }
        remaining = size;
        chunkState = 'data';
      } else if (chunkState === 'data') {
        const take = Math.min(remaining, text.length - at);
        onBodyText(text.slice(at, at + take), recvNs);
        at += take;
        remaining -= take;
        if (remaining === 0) {
          chunkState = 'crlf';
          crlfLeft = 2;
        }
      } else {
        const take = Math.min(crlfLeft, text.length - at);
        at += take;
        crlfLeft -= take;
        if (crlfLeft === 0) chunkState = 'size';
      }
    }
  };

  const onBody = (text: string, recvNs: number): void => {
    if (chunked) onChunked(text, recvNs);
    else {
      onBodyText(text, recvNs);
      if (remaining >= 0 && bodyBytes >= remaining) end(true);
    }
  };

  socket.on('data', (buffer: Buffer) => {
    const recvNs = nowNs();
    const text = buffer.toString('latin1');
    if (inBody) {
      onBody(text, recvNs);
      return;
    }
    head += text;
    const stop = head.indexOf(HEAD_END);
    if (stop < 0) return;
    const lines = head.slice(0, stop).split('\r\n');
    const status = Number((lines[0] ?? '').split(' ')[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    chunked = (headers.get('transfer-encoding') ?? '').includes('chunked');
    const length = headers.get('content-length');
    remaining = chunked || length === undefined ? -1 : Number(length);
    // RFC 9110 §6.4.1: 1xx, 204 and 304 responses have no content whatever the headers say.
    if (status === 204 || status === 304 || status < 200) {
      chunked = false;
      remaining = 0;
    }
    inBody = true;
    const rest = head.slice(stop + HEAD_END.length);
    head = '';
    handlers.onHeaders?.(status, headers, recvNs);
    if (rest.length > 0) onBody(rest, recvNs);
    else if (remaining === 0) end(true);
  });
  socket.on('end', () => end(!chunked && remaining < 0));
  socket.on('error', (error) => end(false, error));
  socket.on('close', () => end(false));

  socket.on('connect', () => {
    const body = request.body ?? '';
    let text = `${request.method} ${request.path} HTTP/1.1\r\nHost: 127.0.0.1:${request.port}\r\nAccept: text/event-stream\r\n`;
    for (const [name, value] of Object.entries(request.headers ?? {})) text += `${name}: ${value}\r\n`;
    if (request.method === 'POST') {
      text += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
    }
    socket.write(`${text}\r\n${body}`);
  });

  if (options.readBytesPerSecond !== undefined) throttle(socket, options.readBytesPerSecond);

  return {
    startNs,
    get bodyBytes() {
      return bodyBytes;
    },
    destroy: () => end(false),
  };
}

/**
 * A slow reader: a token bucket of `bytesPerSecond`; the socket is paused while the bucket is
 * in debt, so the kernel's receive window fills and the server sees backpressure.
 */
function throttle(socket: Socket, bytesPerSecond: number): void {
  let budget = bytesPerSecond / 10;
  socket.on('data', (buffer: Buffer) => {
    budget -= buffer.length;
    if (budget < 0) socket.pause();
  });
  const timer = setInterval(() => {
    budget = Math.min(budget + bytesPerSecond / 10, bytesPerSecond);
    if (budget > 0 && socket.isPaused()) socket.resume();
  }, 100);
  timer.unref();
  socket.on('close', () => clearInterval(timer));
}
