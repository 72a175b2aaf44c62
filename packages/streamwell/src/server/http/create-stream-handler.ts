/**
 * The framework-agnostic HTTP core of streamwell: the three stream endpoints of the brief on top
 * of a {@link RunRegistry}.
 *
 * - `POST {base}/stream/message` starts a run (or returns the run an `Idempotency-Key` already
 *   started) and answers `200 text/event-stream` with `X-Stream-Id`;
 * - `GET {base}/streams/{id}` resumes after `Last-Event-ID` (or `?after=`; the header wins), also
 *   after the run finished while it is retained; `204` when the cursor is the terminal event;
 * - `POST {base}/streams/{id}/cancel` stops the run and its upstream call; idempotent.
 *
 * Every request is checked in this order, so that nothing reaches the model before it passes:
 * CORS origin, method, bearer auth, content type, body size, body shape. Every refusal is a JSON
 * `{"error": {"code", "message"}}` with a fitting status and `Vary: Origin`.
 *
 * The adapters ({@link handleNodeRequest}, {@link handleWebRequest}) only translate requests and
 * write replies.
 *
 * @module
 */
import { isStreamwellError, StreamwellError } from '../../errors/index.ts';
import { STREAM_ID_HEADER } from '../../protocol/index.ts';
import type { RunHandle } from '../run-handle.ts';
import type { RunRegistry } from '../run-registry.ts';
import { type ApiKeyAuth, createApiKeyAuth } from './create-api-key-auth.ts';
import { type ConnectionLimiter, holdConnectionSlot } from './create-connection-limiter.ts';
import { type CorsPolicy, createCorsPolicy } from './create-cors-policy.ts';
import { createHeartbeat } from './create-heartbeat.ts';
import type {
  HttpBodyReply,
  HttpHandler,
  HttpHeaders,
  HttpReply,
  HttpRequestLike,
  SseStreamReply,
} from './http-types.ts';
import { assertJsonContentType, parseCursor, parseIdempotencyKey, parseStartBody } from './parse-start-request.ts';
import { type SseCloseReason, SseResponseWriter, type SseResponseWriterHub } from './sse-response-writer.ts';
import { STREAMWELL_SSE_FORMAT, type StreamFormat } from './stream-format.ts';

/**
 * Defaults of {@link StreamHandlerOptions}.
 *
 * @internal
 */
export const STREAM_HANDLER_DEFAULTS = Object.freeze({
  basePath: '/api',
  heartbeatMs: 15_000,
  maxBodyBytes: 65_536,
  maxMessageChars: 8000,
  maxBufferedBytes: 1024 * 1024,
  retryAfterSeconds: 2,
});

/**
 * Which endpoint a request hit: the stream endpoints, or the AI SDK chat endpoints of
 * `createChatHandler` (`chat`: `POST /api/chat`, `chat-resume`: `GET /api/chat/{id}/stream`,
 * `chat-cancel`: `POST /api/chat/{id}/cancel`).
 */
export type StreamEndpoint = 'start' | 'resume' | 'cancel' | 'chat' | 'chat-resume' | 'chat-cancel';

/** Passed to {@link StreamHandlerOptions.onStreamOpen}. */
export interface StreamOpenInfo {
  readonly endpoint: 'start' | 'resume' | 'chat' | 'chat-resume';
  /** The run; a started one (`created`) is produced here (a {@link Run} of the local registry). */
  readonly run: RunHandle;
  /** The cursor, for a resume. */
  readonly after: number | undefined;
  /** False when an `Idempotency-Key` matched an existing run (no model call was made). */
  readonly created: boolean;
  readonly principal: string | undefined;
}

/** Options of {@link createStreamHandler}. Every limit has a default. */
export interface StreamHandlerOptions {
  readonly registry: RunRegistry;
  /** Prefix of the endpoints. @defaultValue `/api` */
  readonly basePath?: string;
  /** Keep-alive comment interval when nothing else was written; 0 disables. @defaultValue 15000 */
  readonly heartbeatMs?: number;
  /** Largest request body. @defaultValue 65536 */
  readonly maxBodyBytes?: number;
  /** Longest message, in characters. @defaultValue 8000 */
  readonly maxMessageChars?: number;
  /**
   * Bytes a response may hold for a client that stopped reading before the response is ended
   * (the client can resume; the run is unaffected). @defaultValue 1 MiB
   */
  readonly maxBufferedBytes?: number;
  /** CORS allowlist. @defaultValue only the server's own origin */
  readonly cors?: CorsPolicy;
  /** Bearer auth. @defaultValue none: every request passes, streams have no owner */
  readonly auth?: ApiKeyAuth;
  /** `Retry-After` of `429`/`503` answers. @defaultValue 2 */
  readonly retryAfterSeconds?: number;
  /**
   * Caps on open event-stream responses (server-wide and per principal): a request that would
   * open one past a cap is refused before the run starts (`503 too_many_connections`,
   * `429 too_many_principal_connections`), and each response holds its slot until it ends.
   * Share one limiter among every handler of a server ({@link createConnectionLimiter}).
   * @defaultValue none: not capped
   */
  readonly connections?: ConnectionLimiter;
  /** A stream response opened (logs: "endpoint hit"). */
  readonly onStreamOpen?: (info: StreamOpenInfo) => void;
  /** A stream response ended. */
  readonly onStreamClose?: (run: RunHandle, reason: SseCloseReason) => void;
  /** A request was refused; `error.status` is the answered status (5xx = a bug). */
  readonly onRequestError?: (error: StreamwellError, endpoint: StreamEndpoint) => void;
}

/** The HTTP core. */
export interface StreamHandler extends HttpHandler {
  /**
   * Answers a request to one of the stream endpoints.
   *
   * @param request - the request, from an adapter
   * @returns the reply, or undefined when the path is not a stream endpoint (let the framework route it)
   */
  handle(request: HttpRequestLike): Promise<HttpReply | undefined>;
  /** The CORS policy in use (shared with other routes of the app). */
  readonly cors: CorsPolicy;
  /** The auth in use. */
  readonly auth: ApiKeyAuth;
  /** The registry. */
  readonly registry: RunRegistry;
  /** Open event-stream responses. */
  readonly openStreams: number;
  /** Ends every open event-stream response (shutdown: clients reconnect elsewhere). */
  closeAll(): void;
  /**
   * What a handler for the same runs in another wire format (`createChatHandler`) shares with
   * this one: checks, limits, error replies, the connection writer and its hooks. @internal
   */
  readonly _core: StreamHandlerCore;
}

/** A matched endpoint: its name and the methods it allows, or the error a bad path gets. */
export type HandlerRoute =
  | { readonly endpoint: StreamEndpoint; readonly allow: string }
  | { readonly endpoint: StreamEndpoint; readonly notFound: StreamwellError };

/**
 * The shared part of the stream handler. @internal
 */
export interface StreamHandlerCore {
  readonly registry: RunRegistry;
  readonly maxMessageChars: number;
  readonly onStreamOpen: ((info: StreamOpenInfo) => void) | undefined;
  /**
   * Answers a routed request: origin check, preflight, method, bearer auth, then `dispatch`;
   * every failure (thrown anywhere) becomes the JSON error reply, reported to `onRequestError`.
   */
  answer(
    request: HttpRequestLike,
    route: HandlerRoute,
    dispatch: (principal: string | undefined, corsHeaders: HttpHeaders) => Promise<HttpReply> | HttpReply,
  ): Promise<HttpReply>;
  /**
   * An event-stream reply following `run` from `after`, in `format`, through the shared writer
   * (heartbeat, buffer cap, close hooks).
   */
  streamReply(
    run: RunHandle,
    after: number | undefined,
    corsHeaders: HttpHeaders,
    format: StreamFormat,
    startedRun?: boolean,
  ): SseStreamReply;
}

interface Route {
  readonly endpoint: StreamEndpoint;
  readonly streamId: string | undefined;
  readonly allow: string;
}

const STREAM_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The endpoints whose answer may be an event stream (and so take a connection slot). */
const STREAMING_ENDPOINTS: ReadonlySet<StreamEndpoint> = new Set(['start', 'resume', 'chat', 'chat-resume']);

function matchRoute(pathname: string, base: string): Route | 'unknown-stream' | undefined {
  if (!pathname.startsWith(base)) return undefined;
  const rest = pathname.slice(base.length);
  if (rest === '/stream/message') return { endpoint: 'start', streamId: undefined, allow: 'POST, OPTIONS' };
  if (!rest.startsWith('/streams/')) return undefined;
  const parts = rest.slice('/streams/'.length).split('/');
  const streamId = parts[0] ?? '';
  if (!STREAM_ID.test(streamId) || parts.length > 2 || (parts.length === 2 && parts[1] !== 'cancel')) {
    return 'unknown-stream';
  }
  return parts.length === 2
    ? { endpoint: 'cancel', streamId, allow: 'POST, OPTIONS' }
    : { endpoint: 'resume', streamId, allow: 'GET, OPTIONS' };
}

/**
 * Parses a request target (a path, or an absolute URL).
 *
 * @param target - the request's URL as the adapter gives it
 * @returns the URL, or undefined when it cannot be parsed (no endpoint of ours)
 */
export function parseRequestUrl(target: string): URL | undefined {
  try {
    return new URL(target, 'http://localhost');
  } catch {
    return undefined;
  }
}

/**
 * The route of `target` when routing it needs no URL parse: `new URL` reads it back as the same
 * path with no query, so every request with exactly this target gets this route.
 */
function fastRoute(target: string, base: string): Route | undefined {
  const url = parseRequestUrl(target);
  if (url === undefined || url.pathname !== target || url.search !== '' || url.hash !== '') return undefined;
  const route = matchRoute(target, base);
  return typeof route === 'object' ? route : undefined;
}

function unknownStream(): StreamwellError {
  return new StreamwellError('not_found', 'Unknown or expired stream.', { status: 404 });
}

/**
 * A JSON reply.
 *
 * @param status - HTTP status
 * @param value - the body, serialized with `JSON.stringify`
 * @param headers - extra headers
 * @returns the reply
 *
 * @internal
 */
export function jsonReply(status: number, value: unknown, headers: HttpHeaders = {}): HttpBodyReply {
  return {
    type: 'body',
    status,
    headers: { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' },
    body: JSON.stringify(value),
  };
}

/**
 * The JSON error reply of any failure: a {@link StreamwellError} keeps its code and status;
 * anything else is a `500 internal_error` whose message reveals nothing.
 *
 * @param error - what went wrong
 * @param headers - headers to add (CORS)
 * @param retryAfterSeconds - `Retry-After` for `429` and `503`
 * @returns the reply
 */
export function errorReply(error: unknown, headers: HttpHeaders = {}, retryAfterSeconds = 2): HttpBodyReply {
  const failure = toStreamwellError(error);
  const status = failure.status ?? 500;
  const extra: HttpHeaders = { ...headers };
  if (status === 429 || status === 503) extra['Retry-After'] = String(retryAfterSeconds);
  if (status === 401) extra['WWW-Authenticate'] = 'Bearer';
  return jsonReply(status, failure.toJSON(), extra);
}

/**
 * Wraps anything thrown into a {@link StreamwellError} (`internal_error`, 500, for non-streamwell errors).
 *
 * @param error - what was thrown
 * @returns the streamwell error
 *
 * @internal
 */
export function toStreamwellError(error: unknown): StreamwellError {
  if (isStreamwellError(error)) return error;
  return new StreamwellError('internal_error', 'The server failed to handle the request.', {
    status: 500,
    cause: error,
  });
}

/**
 * Creates the HTTP core.
 *
 * @param options - registry, limits, CORS and auth
 * @returns the handler; mount it with {@link handleNodeRequest} or {@link handleWebRequest}
 * @example
 * const registry = createRunRegistry({ provider: createDemoProvider() });
 * const handler = createStreamHandler({ registry, cors: createCorsPolicy({ origins: ['http://localhost:3000'] }) });
 * http.createServer((request, response) => handleNodeRequest(handler, request, response));
 */
export function createStreamHandler(options: StreamHandlerOptions): StreamHandler {
  const registry = options.registry;
  const base = (options.basePath ?? STREAM_HANDLER_DEFAULTS.basePath).replace(/\/+$/, '');
  const maxBodyBytes = options.maxBodyBytes ?? STREAM_HANDLER_DEFAULTS.maxBodyBytes;
  const maxMessageChars = options.maxMessageChars ?? STREAM_HANDLER_DEFAULTS.maxMessageChars;
  const retryAfterSeconds = options.retryAfterSeconds ?? STREAM_HANDLER_DEFAULTS.retryAfterSeconds;
  const cors = options.cors ?? createCorsPolicy();
  const auth = options.auth ?? createApiKeyAuth();
  const onStreamClose = options.onStreamClose;
  const connections = options.connections;
  // The start endpoint's target exactly as clients send it: when `new URL` reads it back
  // unchanged (no dot segments, escapes or query), a request with this very target is routed
  // without parsing it (~3 µs of the URL parser per start). Any other target is parsed.
  const startTarget = `${base}/stream/message`;
  const startRoute = fastRoute(startTarget, base);
  const hub: SseResponseWriterHub = {
    heartbeat: createHeartbeat<SseResponseWriter>(options.heartbeatMs ?? STREAM_HANDLER_DEFAULTS.heartbeatMs),
    maxBufferedBytes: options.maxBufferedBytes ?? STREAM_HANDLER_DEFAULTS.maxBufferedBytes,
    onClose: onStreamClose === undefined ? undefined : (connection, reason) => onStreamClose(connection.run, reason),
  };

  function streamReply(
    run: RunHandle,
    after: number | undefined,
    corsHeaders: HttpHeaders,
    format: StreamFormat,
    startedRun = false,
  ): SseStreamReply {
    return {
      type: 'stream',
      status: 200,
      streamId: run.id,
      startedRun,
      // Object.assign rather than a spread: same result, and it stays off V8's slow clone path.
      headers: Object.assign({}, format.headers, { [STREAM_ID_HEADER]: run.id }, corsHeaders),
      open(sink) {
        const connection = new SseResponseWriter(hub, sink, run, format);
        connection.open(registry, after);
        return connection;
      },
    };
  }

  async function start(request: HttpRequestLike, principal: string | undefined, corsHeaders: HttpHeaders) {
    const body = parseStartBody(await readJsonRequestBody(request, maxBodyBytes), { maxMessageChars });
    const idempotencyKey = parseIdempotencyKey(request.header('idempotency-key'));
    const started = registry.start({
      message: body.message,
      threadId: body.threadId,
      owner: principal,
      idempotencyKey,
    });
    // The in-process registry answers synchronously: no promise, no extra microtask before the reply.
    const { run, created } = started instanceof Promise ? await started : started;
    options.onStreamOpen?.({ endpoint: 'start', run, after: undefined, created, principal });
    // The whole run from `start`, also for a repeated Idempotency-Key: the client sees one stream.
    return streamReply(run, undefined, corsHeaders, STREAMWELL_SSE_FORMAT, created);
  }

  function resume(
    request: HttpRequestLike,
    url: URL,
    run: RunHandle,
    principal: string | undefined,
    corsHeaders: HttpHeaders,
  ) {
    const after = parseCursor(request.header('last-event-id'), url.searchParams.get('after'));
    // A remote run that is still running may have newer events than its handle knows.
    if (after !== undefined && after > run.lastEventId && (run.local || run.status !== 'running')) {
      throw new StreamwellError('invalid_cursor', `Event ${after} does not exist in this stream.`, { status: 400 });
    }
    // At the terminal event there is nothing more: 204 makes a browser EventSource stop reconnecting.
    if (run.status !== 'running' && after !== undefined && after >= run.lastEventId) {
      return { type: 'body', status: 204, headers: { ...corsHeaders, 'Cache-Control': 'no-store' }, body: '' } as const;
    }
    options.onStreamOpen?.({ endpoint: 'resume', run, after, created: false, principal });
    return streamReply(run, after, corsHeaders, STREAMWELL_SSE_FORMAT);
  }

  function cancelReply(run: RunHandle, corsHeaders: HttpHeaders): HttpBodyReply {
    return jsonReply(
      200,
      {
        streamId: run.id,
        status: run.status,
        outcome: run.outcome,
        tokens: run.tokens,
        textLength: run.textLength,
      },
      corsHeaders,
    );
  }

  async function dispatch(
    request: HttpRequestLike,
    url: URL,
    route: Route,
    principal: string | undefined,
    corsHeaders: HttpHeaders,
  ): Promise<HttpReply> {
    if (route.endpoint === 'start') return start(request, principal, corsHeaders);
    const streamId = route.streamId ?? '';
    if (route.endpoint === 'cancel') {
      const cancelled = await registry.cancel(streamId, principal);
      if (cancelled === undefined) throw unknownStream();
      return cancelReply(cancelled, corsHeaders);
    }
    const found = registry.get(streamId, principal);
    const run = found instanceof Promise ? await found : found;
    if (run === undefined) throw unknownStream();
    return resume(request, url, run, principal, corsHeaders);
  }

  const core: StreamHandlerCore = {
    registry,
    maxMessageChars,
    onStreamOpen: options.onStreamOpen,
    async answer(request, route, dispatchRoute) {
      const origin = request.header('origin');
      const host = request.header('host');
      const corsHeaders = cors.responseHeaders(origin, host);
      try {
        cors.assertAllowed(origin, host);
        if ('notFound' in route) throw route.notFound;
        if (request.method === 'OPTIONS') {
          const headers = origin === undefined ? corsHeaders : cors.preflightHeaders(origin, host);
          return { type: 'body', status: 204, headers: { ...headers, Allow: route.allow }, body: '' };
        }
        if (!route.allow.split(', ').includes(request.method)) {
          throw new StreamwellError(
            'method_not_allowed',
            `${request.method} is not allowed here; use ${route.allow}.`,
            {
              status: 405,
            },
          );
        }
        const principal = auth.authenticateHeader(request.header('authorization'));
        // Before anything starts: a refused request costs no run and no model call.
        const slot =
          connections !== undefined && STREAMING_ENDPOINTS.has(route.endpoint)
            ? connections.acquire('sse', principal)
            : undefined;
        if (slot === undefined) return await dispatchRoute(principal, corsHeaders);
        let reply: HttpReply;
        try {
          reply = await dispatchRoute(principal, corsHeaders);
        } catch (error) {
          slot.release();
          throw error;
        }
        return holdConnectionSlot(reply, slot);
      } catch (error) {
        const failure = toStreamwellError(error);
        options.onRequestError?.(failure, route.endpoint);
        const headers =
          failure.code === 'method_not_allowed' && 'allow' in route
            ? { ...corsHeaders, Allow: route.allow }
            : corsHeaders;
        return errorReply(failure, headers, retryAfterSeconds);
      }
    },
    streamReply,
  };

  return {
    cors,
    auth,
    registry,
    _core: core,
    get openStreams() {
      return hub.heartbeat.members.size;
    },
    async handle(request) {
      const target = request.url;
      if (startRoute !== undefined && target === startTarget) {
        return core.answer(request, startRoute, (principal, corsHeaders) => start(request, principal, corsHeaders));
      }
      const url = parseRequestUrl(target);
      // A target `new URL` refuses (Node's parser lets `//` through) is no stream endpoint.
      if (url === undefined) return undefined;
      const route = matchRoute(url.pathname, base);
      if (route === undefined) return undefined;
      if (route === 'unknown-stream') {
        // Refused after the origin check, like any request: the dispatch is never reached.
        return core.answer(request, { endpoint: 'resume', notFound: unknownStream() }, () => {
          throw unknownStream();
        });
      }
      return core.answer(request, route, (principal, corsHeaders) =>
        dispatch(request, url, route, principal, corsHeaders),
      );
    },
    closeAll() {
      for (const connection of [...hub.heartbeat.members]) connection.finish('shutdown');
    },
  };
}

/**
 * Reads a JSON request body: checks its `Content-Type` (JSON as `application/json` or
 * `text/plain`), refuses a declared oversize body before reading a byte of it, then reads at most
 * `maxBytes`.
 *
 * @param request - the request
 * @param maxBytes - the body size limit
 * @returns the raw body; the promise rejects (never a synchronous throw) with StreamwellError
 *   `unsupported_media_type` (415) or `body_too_large` (413)
 */
export function readJsonRequestBody(request: HttpRequestLike, maxBytes: number): Promise<Uint8Array> {
  // Not `async`: an async function that returns the body's promise settles two microtasks after
  // it, on every start. A refusal still arrives as a rejection, never a synchronous throw.
  try {
    assertJsonContentType(request.header('content-type'));
    const declared = Number(request.header('content-length') ?? '0');
    if (declared > maxBytes) throw bodyTooLarge(maxBytes);
    return request.readBody(maxBytes);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * The `413 body_too_large` error.
 *
 * @param limit - the byte limit
 * @returns the error
 *
 * @internal
 */
export function bodyTooLarge(limit: number): StreamwellError {
  return new StreamwellError('body_too_large', `The request body is larger than ${limit} bytes.`, { status: 413 });
}
