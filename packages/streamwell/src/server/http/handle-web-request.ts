/**
 * The Web adapter: a WHATWG `Request` in, a `Response` out (with a `ReadableStream` body for event
 * streams), for Next.js route handlers, Hono, Bun, Deno and Workers.
 *
 * @module
 */
import { bodyTooLarge } from './create-stream-handler.ts';
import type { HttpHandler, HttpHeaders, HttpReply, HttpRequestLike, SseSink } from './http-types.ts';

/** Options of {@link handleWebRequest}. */
export interface WebRequestOptions {
  /**
   * Bytes the response stream queues before the writer reports back-pressure; the handler's
   * `maxBufferedBytes` cap is checked beyond it. @defaultValue 65536
   */
  readonly highWaterMark?: number;
}

async function readWebBody(request: Request, limit: number): Promise<Uint8Array> {
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw bodyTooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * Wraps a `Request` for the core. The `Host` header falls back to the URL's host, since a
 * `Request` built in code (or by some runtimes) has none.
 *
 * @param request - the request
 * @returns the request as the core sees it
 *
 * @internal
 */
export function toWebRequestLike(request: Request): HttpRequestLike {
  const url = new URL(request.url);
  return {
    method: request.method.toUpperCase(),
    url: `${url.pathname}${url.search}`,
    header(name) {
      const value = request.headers.get(name);
      if (value !== null) return value;
      return name === 'host' ? url.host : undefined;
    },
    readBody: (limit) => readWebBody(request, limit),
  };
}

/** Enqueues into a `ReadableStream` controller. */
class WebSseSink implements SseSink {
  #controller: ReadableStreamDefaultController<Uint8Array>;
  #encoder = new TextEncoder();
  #highWaterMark: number;
  #ended = false;

  constructor(controller: ReadableStreamDefaultController<Uint8Array>, highWaterMark: number) {
    this.#controller = controller;
    this.#highWaterMark = highWaterMark;
  }

  write(chunk: string): boolean {
    if (this.#ended) return true;
    this.#controller.enqueue(this.#encoder.encode(chunk));
    return (this.#controller.desiredSize ?? 0) > 0;
  }

  get bufferedBytes(): number {
    return this.#highWaterMark - (this.#controller.desiredSize ?? 0);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    try {
      this.#controller.close();
    } catch {
      // Already closed or errored by a cancel: nothing to end.
    }
  }

  abort(): void {
    if (this.#ended) return;
    this.#ended = true;
    // Erroring the stream discards its queue; the client sees a failed read and resumes.
    this.#controller.error(new Error('The client stopped reading; resume the stream.'));
  }

  /** The consumer cancelled: the controller must not be touched again. */
  cancelled(): void {
    this.#ended = true;
  }
}

function toHeaders(headers: HttpHeaders): Headers {
  const result = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    // `Connection` is a hop-by-hop header, forbidden in HTTP/2 responses; the runtime manages it.
    if (name.toLowerCase() !== 'connection') result.set(name, value);
  }
  return result;
}

/**
 * Turns a core reply into a `Response`.
 *
 * @param reply - the core's reply
 * @param signal - aborted when the client goes away (the request's signal), if the runtime provides one
 * @param options - stream buffering
 * @returns the response
 *
 * @internal
 */
export function toWebResponse(reply: HttpReply, signal?: AbortSignal, options: WebRequestOptions = {}): Response {
  if (reply.type === 'body') {
    return new Response(reply.body === '' ? null : (reply.body as string | Uint8Array<ArrayBuffer>), {
      status: reply.status,
      headers: toHeaders(reply.headers),
    });
  }
  const highWaterMark = options.highWaterMark ?? 65_536;
  let sink: WebSseSink | undefined;
  let handle: { close(): void } | undefined;
  const body = new ReadableStream<Uint8Array>(
    {
      // `start` runs synchronously inside the constructor, so the stream opens in the same tick
      // as the reply was decided.
      start(controller) {
        sink = new WebSseSink(controller, highWaterMark);
        handle = reply.open(sink);
      },
      cancel() {
        sink?.cancelled();
        handle?.close();
      },
    },
    { highWaterMark, size: (chunk) => chunk.byteLength },
  );
  // A client that left while the reply was decided: close now (an aborted signal fires no event).
  if (signal?.aborted === true) handle?.close();
  else signal?.addEventListener('abort', () => handle?.close(), { once: true });
  return new Response(body, { status: 200, headers: toHeaders(reply.headers) });
}

/**
 * Handles a request if it is for one of the handler's endpoints.
 *
 * @param handler - the core (`createStreamHandler`) or another handler (`createChatHandler`,
 *   `createChatKitHandler`)
 * @param request - the request
 * @param options - stream buffering
 * @returns the response, or undefined when the path is not a stream endpoint
 * @example
 * // Next.js: app/api/[...path]/route.ts
 * export const POST = async (request: Request) => (await handleWebRequest(handler, request)) ?? new Response(null, { status: 404 });
 * export const GET = POST;
 */
export async function handleWebRequest(
  handler: HttpHandler,
  request: Request,
  options: WebRequestOptions = {},
): Promise<Response | undefined> {
  const reply = await handler.handle(toWebRequestLike(request));
  if (reply === undefined) return undefined;
  return toWebResponse(reply, request.signal, options);
}
