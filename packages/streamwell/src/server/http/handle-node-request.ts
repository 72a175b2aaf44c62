/**
 * The Node adapter: `http.IncomingMessage` / `http.ServerResponse`, as used by plain `node:http`,
 * Express and Fastify (with `reply.hijack()`).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpHandler, HttpReply, HttpRequestLike, SseSink } from './http-types.ts';
import { type MaybeParsedRequest, readNodeBody } from './read-node-body.ts';

/** Frameworks put the mounted-at-root URL here (Express: `originalUrl`) and a parsed body here. */
interface FrameworkRequest extends MaybeParsedRequest {
  originalUrl?: string;
}

/**
 * Wraps a Node request for the core.
 *
 * @param request - the incoming request
 * @returns the request as the core sees it
 *
 * @internal
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

/**
 * Writes to a `ServerResponse`. A class, not closures: 15k idle streams each hold one.
 *
 * Once the headers are on the wire of an HTTP/1.1 chunked response, each event is framed here
 * and written to the socket in one `write`: `ServerResponse.write` would queue four pieces (size
 * line, CRLF, data, CRLF), cork the socket and uncork it on the next tick into a `writev`, which
 * the benchmark's profile showed as the largest share of the per-token cost after the kernel's
 * (docs/benchmarks.md, finding 9). Framing stays exactly HTTP/1.1 chunked (RFC 9112 §7.1), and
 * `end()` still goes through the response, which writes the last chunk (`0\r\n\r\n`) and
 * keeps Node's keep-alive bookkeeping. Anything else (HTTP/1.0, HTTP/2, a response whose
 * socket is not attached yet) uses `response.write`.
 */
class NodeSseSink implements SseSink {
  #response: ServerResponse;
  /** The socket to write frames to directly, once that is known to be safe. */
  #socket: Socket | undefined;
  /** Whether anything was written (else the headers are still only buffered). */
  wrote = false;

  constructor(response: ServerResponse) {
    this.#response = response;
  }

  /**
   * Switches to direct chunk writes when the response is HTTP/1.1 chunked, its headers have
   * been sent and nothing of it is queued in the response itself (so bytes stay in order).
   */
  enableDirectWrites(): void {
    const response = this.#response as ServerResponse & { chunkedEncoding?: boolean };
    const socket = response.socket;
    if (
      response.chunkedEncoding === true &&
      response.headersSent &&
      socket !== null &&
      !socket.destroyed &&
      response.writableLength === socket.writableLength
    ) {
      this.#socket = socket;
    }
  }

  write(chunk: string): boolean {
    this.wrote = true;
    const socket = this.#socket;
    if (socket === undefined || this.#response.writableEnded) return this.#response.write(chunk);
    // RFC 9112 §7.1: chunk-size in hex, CRLF, chunk-data, CRLF.
    return socket.write(`${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n`);
  }

  get bufferedBytes(): number {
    // `writableLength` counts the response's own queue plus the socket's.
    return this.#response.writableLength;
  }

  end(): void {
    if (!this.#response.writableEnded) this.#response.end();
  }

  endWith(chunk: string): void {
    const socket = this.#socket;
    if (socket === undefined || this.#response.writableEnded) {
      this.write(chunk);
      this.end();
      return;
    }
    // Corked, the chunk waits for the response's terminating chunk; `end()` then uncorks the
    // socket fully (Node's OutgoingMessage.end) and both leave in one `writev`.
    socket.cork();
    this.write(chunk);
    this.#response.end();
    // Only for a Node whose `end()` would not uncork: a corked socket never sends.
    if (socket.writableCorked > 0) socket.uncork();
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
  sink.enableDirectWrites();
  response.once('close', () => handle.close());
}

/**
 * Handles a request if it is for one of the handler's endpoints.
 *
 * @param handler - the core (`createStreamHandler`) or another handler (`createChatHandler`,
 *   `createChatKitHandler`)
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
  handler: HttpHandler,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<boolean> {
  const reply = await handler.handle(toHttpRequestLike(request));
  if (reply === undefined) return false;
  if (response.destroyed || response.writableEnded) {
    // The client left while we read its body: a started run waits for a resume (grace period).
    if (reply.type === 'stream') reply.discard?.();
    return true;
  }
  if (reply.type === 'stream' && reply.startedRun === true) {
    // The run's model request was queued in this turn (undici writes it from a `setImmediate`):
    // commit our headers behind it, so the model request goes out first (SseStreamReply.startedRun).
    setImmediate(writeStartedReply, reply, request, response);
  } else writeNodeReply(reply, request, response);
  return true;
}

/** Writes a started run's reply a turn later, unless the client left in between (the run then waits for a resume). */
function writeStartedReply(reply: HttpReply, request: IncomingMessage, response: ServerResponse): void {
  if (response.destroyed || response.writableEnded) {
    if (reply.type === 'stream') reply.discard?.();
    return;
  }
  writeNodeReply(reply, request, response);
}
