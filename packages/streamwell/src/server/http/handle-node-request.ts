/**
 * The Node adapter: `http.IncomingMessage` / `http.ServerResponse`, as used by plain `node:http`,
 * Express and Fastify (with `reply.hijack()`).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bodyTooLarge, type StreamHandler } from './create-stream-handler.ts';
import type { HttpReply, HttpRequestLike, SseSink } from './http-types.ts';

/** Frameworks put the mounted-at-root URL here (Express: `originalUrl`) and a parsed body here. */
interface FrameworkRequest extends IncomingMessage {
  originalUrl?: string;
  body?: unknown;
}

const EMPTY = new Uint8Array(0);

/** Reads the body of a Node request, stopping at `limit` bytes. */
function readNodeBody(request: FrameworkRequest, limit: number): Promise<Uint8Array> {
  // A body parser mounted before us (express.json(), express.text()) already consumed the
  // stream; use what it parsed rather than waiting for an `end` that already happened.
  if (request.readableEnded || request.body !== undefined) {
    const parsed = request.body;
    if (parsed === undefined || parsed === null) return Promise.resolve(EMPTY);
    const bytes =
      parsed instanceof Uint8Array
        ? parsed
        : new TextEncoder().encode(typeof parsed === 'string' ? parsed : JSON.stringify(parsed));
    return bytes.byteLength > limit ? Promise.reject(bodyTooLarge(limit)) : Promise.resolve(bytes);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // Stop reading: the reply closes the connection instead of draining an unbounded body.
        request.pause();
        reject(bodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('The client closed the connection before sending the whole body.'));
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('close', onClose);
  });
}

/**
 * Wraps a Node request for the core.
 *
 * @param request - the incoming request
 * @returns the request as the core sees it
 */
export function toHttpRequestLike(request: IncomingMessage): HttpRequestLike {
  const framework = request as FrameworkRequest;
  return {
    method: (request.method ?? 'GET').toUpperCase(),
    url: framework.originalUrl ?? request.url ?? '/',
    header(name) {
      const value = request.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    readBody: (limit) => readNodeBody(framework, limit),
  };
}

/** Writes to a `ServerResponse`. A class, not closures: 15k idle streams each hold one. */
class NodeSseSink implements SseSink {
  #response: ServerResponse;
  /** Whether anything was written (else the headers are still only buffered). */
  wrote = false;

  constructor(response: ServerResponse) {
    this.#response = response;
  }

  write(chunk: string): boolean {
    this.wrote = true;
    return this.#response.write(chunk);
  }

  get bufferedBytes(): number {
    // `writableLength` counts the response's own queue plus the socket's.
    return this.#response.writableLength;
  }

  end(): void {
    if (!this.#response.writableEnded) this.#response.end();
  }

  abort(): void {
    // Frees the buffered bytes now; the client sees a dropped connection and resumes.
    this.#response.destroy();
  }
}

/**
 * Writes a core reply to a `ServerResponse`.
 *
 * @param reply - the core's reply
 * @param request - the request (to stop reading an unread body)
 * @param response - the response
 */
export function writeNodeReply(reply: HttpReply, request: IncomingMessage, response: ServerResponse): void {
  if (reply.type === 'body') {
    const headers: Record<string, string | number> = { ...reply.headers };
    if (reply.body !== '') headers['Content-Length'] = Buffer.byteLength(reply.body);
    // A body we did not read (refused early, e.g. 413) must not be drained: close instead.
    const unread = !request.readableEnded && request.headers['content-length'] !== '0';
    if (unread && request.method === 'POST' && reply.status >= 400) headers.Connection = 'close';
    response.writeHead(reply.status, headers);
    response.end(reply.body);
    return;
  }
  // Tokens are small: never wait to coalesce them (Nagle).
  response.socket?.setNoDelay(true);
  response.writeHead(reply.status, reply.headers);
  const sink = new NodeSseSink(response);
  const handle = reply.open(sink);
  // With no backlog nothing was written yet: send the headers now so the client sees the 200
  // (otherwise Node holds them until the first event, which may be a heartbeat away).
  if (!sink.wrote && !response.writableEnded) response.flushHeaders();
  if (response.writableEnded) return;
  response.once('close', () => handle.close());
}

/**
 * Handles a request if it is for a stream endpoint.
 *
 * @param handler - the core
 * @param request - the incoming request
 * @param response - the response
 * @returns true when handled; false when the path is not a stream endpoint (route it elsewhere)
 * @example
 * // plain node:http (Express: `app.use((req, res, next) => handleNodeRequest(handler, req, res).then((done) => done || next(), next))`)
 * http.createServer(async (request, response) => {
 *   if (!(await handleNodeRequest(handler, request, response))) response.writeHead(404).end();
 * });
 */
export async function handleNodeRequest(
  handler: StreamHandler,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<boolean> {
  const reply = await handler.handle(toHttpRequestLike(request));
  if (reply === undefined) return false;
  if (response.destroyed || response.writableEnded) {
    // The client left while we read its body: a started run waits for a resume (grace period).
    return true;
  }
  writeNodeReply(reply, request, response);
  return true;
}
