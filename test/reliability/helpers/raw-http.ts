/**
 * A raw HTTP/1.1 exchange over one TCP connection, for hostile requests that `fetch` and
 * `node:http` refuse to send (a `Content-Length` that lies, bytes that are not UTF-8 in a header,
 * a body cut short). It reads the first response: status, headers and body (`Content-Length` or
 * chunked), or only the head of an event stream (which would not end on its own).
 *
 * @module
 */
import { connect } from 'node:net';

/** How the body is framed on the wire. */
export type Framing =
  /** `Content-Length` of the body */
  | 'length'
  /** `Transfer-Encoding: chunked`, in chunks of up to 7 bytes */
  | 'chunked'
  /** No framing header (a body is then the next request's bytes) */
  | 'none'
  /** `Content-Length` larger than the body, then a half-close (a client that died mid-upload) */
  | 'short'
  /** `Content-Length` smaller than the body (the rest is parsed as a next request) */
  | 'long';

/** One request, as bytes go on the wire. */
export interface RawRequest {
  readonly method: string;
  /** The request target, sent as given (percent-encoding is the caller's). */
  readonly target: string;
  /** Header lines; a Buffer value is sent as is (it may hold bytes that are not ASCII). */
  readonly headers: ReadonlyArray<readonly [string, string | Buffer]>;
  readonly body: Buffer;
  readonly framing: Framing;
}

/** What came back. */
export interface RawAnswer {
  /** The status, or undefined when the connection closed with no response. */
  readonly status: number | undefined;
  /** Header names lower-cased; repeated ones joined with `, `. */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** An event stream was answered: only its head was read. */
  readonly eventStream: boolean;
  /** Nothing complete arrived within the time allowed. */
  readonly timedOut: boolean;
}

/**
 * The request's bytes.
 *
 * @param request - the request
 * @param host - the `Host` header's value
 * @returns the bytes to write
 */
export function encodeRawRequest(request: RawRequest, host: string): Buffer {
  const lines: Buffer[] = [
    Buffer.from(`${request.method} ${request.target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n`, 'latin1'),
  ];
  for (const [name, value] of request.headers) {
    lines.push(
      Buffer.from(`${name}: `, 'latin1'),
      typeof value === 'string' ? Buffer.from(value, 'utf8') : value,
      Buffer.from('\r\n'),
    );
  }
  const body = request.body;
  switch (request.framing) {
    case 'length':
      lines.push(Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body);
      break;
    case 'short':
      lines.push(Buffer.from(`Content-Length: ${body.length + 10}\r\n\r\n`), body);
      break;
    case 'long':
      lines.push(Buffer.from(`Content-Length: ${Math.max(0, body.length - 3)}\r\n\r\n`), body);
      break;
    case 'chunked': {
      lines.push(Buffer.from('Transfer-Encoding: chunked\r\n\r\n'));
      for (let offset = 0; offset < body.length; offset += 7) {
        const piece = body.subarray(offset, offset + 7);
        lines.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
      }
      lines.push(Buffer.from('0\r\n\r\n'));
      break;
    }
    case 'none':
      lines.push(Buffer.from('\r\n'), body);
      break;
  }
  return Buffer.concat(lines);
}

/**
 * Sends `request` on a new connection and reads the first response.
 *
 * @param port - the server's port on 127.0.0.1
 * @param request - the request
 * @param timeoutMs - how long to wait for a complete response
 * @returns the answer
 */
export function rawRequest(port: number, request: RawRequest, timeoutMs = 10_000): Promise<RawAnswer> {
  const bytes = encodeRawRequest(request, `127.0.0.1:${port}`);
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (timedOut: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseResponse(received, request.method === 'HEAD'), timedOut });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    socket.on('connect', () => {
      socket.write(bytes);
      // A client that died mid-upload: the server sees the end of the connection.
      if (request.framing === 'short') socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const parsed = parseResponse(received, request.method === 'HEAD');
      if (parsed.complete) finish(false);
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}

function parseResponse(bytes: Buffer, head: boolean): Omit<RawAnswer, 'timedOut'> & { readonly complete: boolean } {
  const none = { status: undefined, headers: {}, body: Buffer.alloc(0), eventStream: false, complete: false };
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return none;
  const lines = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1]);
  if (!Number.isInteger(status)) return none;
  // A WebSocket upgrade was accepted: nothing more to read as HTTP.
  if (status === 101) return { status, headers: {}, body: Buffer.alloc(0), eventStream: false, complete: true };
  // 1xx (100 Continue): the real answer follows.
  if (status < 200) return parseResponse(bytes.subarray(end + 4), head);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const rest = bytes.subarray(end + 4);
  const eventStream = (headers['content-type'] ?? '').startsWith('text/event-stream');
  if (eventStream || head || status === 204 || status === 304) {
    return { status, headers, body: Buffer.alloc(0), eventStream, complete: true };
  }
  if (headers['transfer-encoding']?.includes('chunked')) {
    const { body, complete } = dechunk(rest);
    return { status, headers, body, eventStream, complete };
  }
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  if (length !== undefined) {
    return { status, headers, body: rest.subarray(0, length), eventStream, complete: rest.length >= length };
  }
  // Ends with the connection.
  return { status, headers, body: rest, eventStream, complete: false };
}

function dechunk(bytes: Buffer): { body: Buffer; complete: boolean } {
  const pieces: Buffer[] = [];
  let offset = 0;
  while (true) {
    const lineEnd = bytes.indexOf('\r\n', offset);
    if (lineEnd === -1) return { body: Buffer.concat(pieces), complete: false };
    const size = Number.parseInt(bytes.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) return { body: Buffer.concat(pieces), complete: false };
    if (size === 0) return { body: Buffer.concat(pieces), complete: true };
    const start = lineEnd + 2;
    if (bytes.length < start + size + 2) return { body: Buffer.concat(pieces), complete: false };
    pieces.push(bytes.subarray(start, start + size));
    offset = start + size + 2;
  }
}
