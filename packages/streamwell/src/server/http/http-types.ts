/**
 * The framework-neutral request and reply shapes of the HTTP core. Adapters (Node
 * `IncomingMessage`/`ServerResponse`, Web `Request`/`Response`) translate to and from these, so
 * routing, validation, CORS, auth and the SSE writer exist once.
 *
 * @module
 */

/** What the core needs from an incoming request. */
export interface HttpRequestLike {
  /** Upper-case method, e.g. `POST`. */
  readonly method: string;
  /** Path and query (`/api/streams/abc?after=3`); an absolute URL is accepted too. */
  readonly url: string;
  /**
   * A header value by lower-case name; repeated headers joined with `, `.
   *
   * @param name - lower-case header name
   */
  header(name: string): string | undefined;
  /**
   * Reads the whole body, refusing more than `limit` bytes.
   *
   * @param limit - most bytes to accept
   * @throws StreamwellError `body_too_large` (413) past the limit
   */
  readBody(limit: number): Promise<Uint8Array>;
}

/** Response headers as the core produces them. */
export type HttpHeaders = Record<string, string>;

/** A complete, non-streaming reply (JSON or empty). */
export interface HttpBodyReply {
  readonly type: 'body';
  readonly status: number;
  readonly headers: HttpHeaders;
  /** JSON text, or '' for an empty body (204, preflight); bytes for a file (a ChatKit attachment). */
  readonly body: string | Uint8Array;
}

/** Where the SSE writer writes: one adapter-specific sink per open response. */
export interface SseSink {
  /**
   * Writes one chunk. Every call is exactly one transport write.
   *
   * @returns false when the transport asks the writer to slow down (its buffer is over the
   *   high-water mark); the writer then checks {@link SseSink.bufferedBytes} against its cap
   */
  write(chunk: string): boolean;
  /** Bytes written but not yet handed to the network (user space only). */
  readonly bufferedBytes: number;
  /** Ends the response. Idempotent. */
  end(): void;
  /**
   * Writes a last chunk and ends the response, in one transport write where the transport
   * allows it (the Node sink: the event and HTTP's terminating chunk in one `writev`, one
   * syscall less per stream). Falls back to {@link SseSink.write} then {@link SseSink.end}.
   */
  endWith?(chunk: string): void;
  /**
   * Drops the response at once, discarding what is still buffered (a client that stopped
   * reading: ending gracefully would keep its buffer alive until the socket times out).
   * Falls back to {@link SseSink.end} when absent.
   */
  abort?(): void;
}

/** An open event stream, as the adapter sees it. */
export interface SseStreamHandle {
  /** The adapter's connection closed (client went away or response ended): detach. Idempotent. */
  close(): void;
}

/** A streaming reply: headers now, then events through {@link SseStreamReply.open}. */
export interface SseStreamReply {
  readonly type: 'stream';
  readonly status: 200;
  readonly headers: HttpHeaders;
  /**
   * The stream id (also in the `X-Stream-Id` header); absent for a stream that is not one run's
   * (a ChatKit response).
   */
  readonly streamId?: string;
  /**
   * True when this request started the run, so its model request is being sent in this same
   * turn of the event loop. An adapter that can should commit the headers one turn later (Node:
   * `setImmediate`, queued behind the HTTP client's own write) so that the model request reaches
   * the wire before the client's headers: the model's answer is what the client waits for, and
   * on the benchmark's VM the header write in between held the model request back ~0.2 ms
   * (docs/benchmarks.md, finding 11). A later `open` is safe here: a run opened from its start
   * replays from the first event, so no cursor decision can go stale.
   */
  readonly startedRun?: boolean;
  /**
   * Starts writing: the backlog in one write, then live events. Call it synchronously after the
   * headers are committed, in the same tick as the reply was produced, so that the decision made
   * for the cursor still holds (a {@link SseStreamReply.startedRun} reply may be opened a turn
   * later). The adapter must call `close()` on the handle when its connection closes.
   *
   * @param sink - the adapter's writer
   * @returns the handle
   */
  open(sink: SseSink): SseStreamHandle;
  /**
   * The adapter will not open this reply (its client left before the headers were written):
   * releases what the reply holds (its connection slot). Adapters must call it in that case.
   */
  discard?(): void;
}

/** What the core answers. */
export type HttpReply = HttpBodyReply | SseStreamReply;

/**
 * Anything that answers requests with the core's replies: the stream handler, the AI SDK chat
 * handler, the ChatKit handler. The adapters ({@link handleNodeRequest}, {@link handleWebRequest}) take one.
 */
export interface HttpHandler {
  /**
   * @param request - the request, from an adapter
   * @returns the reply, or undefined when the path is none of the handler's (let the framework route it)
   */
  handle(request: HttpRequestLike): Promise<HttpReply | undefined>;
}
