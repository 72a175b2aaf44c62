/**
 * A self-hosted backend for OpenAI's ChatKit UI, framework-agnostic like the stream handler
 * (mount it with `handleNodeRequest` or `handleWebRequest`), on streamwell runs and the thread
 * store. Its endpoints, under `path` (default `/chatkit`):
 *
 * - `POST {path}`: the ChatKit protocol (docs/chatkit.md): the streaming request types answer
 *   `text/event-stream` with one `data: {json}` line per event and `: ping` heartbeats, the
 *   others one JSON document;
 * - `POST {path}/attachments/{id}/upload`: the two-phase upload URL of an attachment (the
 *   attachment store's `saveUpload`), multipart (`file` field) or the raw bytes;
 * - `GET {path}/attachments/{id}`: an uploaded file (the attachment store's `readContent`); the
 *   unguessable id is the capability, as a signed URL's signature would be, since an `<img>` sends
 *   no bearer key.
 *
 * Every request passes the stream handler's checks in the same order (CORS origin, method, bearer
 * auth, content type, body size, body shape) and every refusal is its JSON error
 * `{"error": {"code", "message"}}`.
 *
 * @module
 */
import { isStreamwellError, StreamwellError } from '../../errors/index.ts';
import { SSE_HEADERS } from '../../protocol/index.ts';
import { type ApiKeyAuth, createApiKeyAuth } from '../http/create-api-key-auth.ts';
import { type ConnectionLimiter, holdConnectionSlot } from '../http/create-connection-limiter.ts';
import { type CorsPolicy, createCorsPolicy } from '../http/create-cors-policy.ts';
import { createHeartbeat } from '../http/create-heartbeat.ts';
import { bodyTooLarge, errorReply, toStreamwellError } from '../http/create-stream-handler.ts';
import type { HttpHandler, HttpHeaders, HttpReply, HttpRequestLike, SseStreamReply } from '../http/http-types.ts';
import { assertJsonContentType } from '../http/parse-start-request.ts';
import type { RunHandle } from '../run-handle.ts';
import type { RunRegistry } from '../run-registry.ts';
import { createItemId as createRandomId } from '../threads/create-item-id.ts';
import { createThreadRecorder, type ThreadRecorder } from '../threads/create-thread-recorder.ts';
import type { ThreadStore } from '../threads/thread-store.ts';
import { titleFromMessage } from '../threads/thread-title.ts';
import type {
  ChatKitActionHandler,
  ChatKitAttachmentStore,
  ChatKitFeedbackHandler,
  ChatKitRequestContext,
  ChatKitRespond,
  ChatKitSyncActionHandler,
  ChatKitTitler,
  ChatKitTranscriber,
} from './chatkit-hooks.ts';
import {
  type ChatKitCloseReason,
  ChatKitSseWriter,
  type ChatKitWriterHub,
  encodeChatKitJson,
} from './chatkit-sse-writer.ts';
import { ChatKitStreamError } from './chatkit-stream-error.ts';
import {
  CHATKIT_STREAMING_TYPES,
  type ChatKitEvent,
  type ChatKitJsonRequest,
  type ChatKitRequest,
  type ChatKitRequestType,
  type ChatKitStreamingRequest,
} from './chatkit-types.ts';
import { createChatKitResponder } from './create-chatkit-responder.ts';
import { type ChatKitStore, createChatKitStore, messageText } from './create-chatkit-store.ts';
import { parseChatKitRequest } from './parse-chatkit-request.ts';
import { type ChatKitOutcome, pipeChatKitEvents } from './pipe-chatkit-events.ts';
import { type PreparedChatKitStream, prepareChatKitStream } from './prepare-chatkit-stream.ts';
import { runChatKitOperation } from './run-chatkit-operation.ts';
import { serveAttachmentRoute } from './serve-chatkit-attachment.ts';

/** Options of {@link createChatKitHandler}. Every hook and limit has a default. */
export interface ChatKitHandlerOptions {
  /** Where replies run (the same registry as the stream endpoints: timeouts, metrics, Redis). */
  readonly registry: RunRegistry;
  /** The thread store (the same one as `/api/threads`). */
  readonly threads: ThreadStore;
  /** The endpoint. @defaultValue `/chatkit` */
  readonly path?: string;
  /** CORS allowlist. @defaultValue only the server's own origin */
  readonly cors?: CorsPolicy;
  /** Bearer auth; a principal sees only its own threads. @defaultValue none */
  readonly auth?: ApiKeyAuth;
  /** Keep-alive comment interval when nothing else was written; 0 disables. @defaultValue 15000 */
  readonly heartbeatMs?: number;
  /** Largest request body (dictation's audio excepted). @defaultValue 65536 */
  readonly maxBodyBytes?: number;
  /** Longest user message, in characters. @defaultValue 8000 */
  readonly maxMessageChars?: number;
  /** Largest dictation audio, in bytes (sent as base64). @defaultValue 4 MiB */
  readonly maxAudioBytes?: number;
  /** Bytes a response may buffer for a client that stopped reading (past it the response is stopped). @defaultValue 1 MiB */
  readonly maxBufferedBytes?: number;
  /** `Retry-After` of `429`/`503` answers. @defaultValue 2 */
  readonly retryAfterSeconds?: number;
  /**
   * Caps on open event-stream responses, shared with the server's other handlers: a streaming
   * request past a cap is refused before anything is stored (`503 too_many_connections`,
   * `429 too_many_principal_connections`). @defaultValue none: not capped
   */
  readonly connections?: ConnectionLimiter;
  /** Text deltas between two writes of a streaming assistant message. @defaultValue 50 */
  readonly checkpointEvery?: number;
  /** Characters of thread history sent to the model. @defaultValue 32000 */
  readonly maxHistoryChars?: number;
  /** Produces replies. @defaultValue the model's reply as a run (`request.streamRun()`) */
  readonly respond?: ChatKitRespond;
  /** Tool names the page runs (`onClientTool`): the default reply turns those calls into `client_tool_call` items. */
  readonly clientTools?: readonly string[];
  /** Widget actions that stream (`threads.custom_action`). @defaultValue none: answered with an error event */
  readonly action?: ChatKitActionHandler;
  /** Widget actions that do not stream (`threads.sync_custom_action`). @defaultValue none: 501 */
  readonly syncAction?: ChatKitSyncActionHandler;
  /** Thumbs up/down. @defaultValue ignored */
  readonly addFeedback?: ChatKitFeedbackHandler;
  /** Where attachments' bytes go. @defaultValue none: attachment requests answer 501 */
  readonly attachments?: ChatKitAttachmentStore;
  /** Dictation. @defaultValue none: `input.transcribe` answers 501 */
  readonly transcribe?: ChatKitTranscriber;
  /** Names new threads; `false` leaves them untitled. @defaultValue the first message, trimmed to 80 characters */
  readonly title?: ChatKitTitler | false;
  /** The response's `stream_options`. @defaultValue `{ allow_cancel: true }` (ChatKit shows Stop) */
  readonly streamOptions?: (
    thread: { readonly id: string },
    context: ChatKitRequestContext,
  ) => { readonly allow_cancel: boolean };
  /** Makes ids. @defaultValue `prefix_` + 32 random hex digits */
  readonly createId?: (prefix: string) => string;
  /** A request was refused; `error.status` is the answered status (5xx = a bug). */
  readonly onRequestError?: (error: StreamwellError) => void;
  /** A streamed response ended. */
  readonly onResponse?: (info: ChatKitResponseInfo) => void;
  /** A run started for a reply. */
  readonly onRunStart?: (run: RunHandle) => void;
  /** Unexpected failures: a responder's exception, a store write after the response ended. */
  readonly onError?: (error: unknown) => void;
}

/** Passed to {@link ChatKitHandlerOptions.onResponse}. */
export interface ChatKitResponseInfo {
  readonly type: ChatKitRequestType;
  readonly threadId: string;
  readonly principal: string | undefined;
  readonly outcome: ChatKitOutcome;
  /** Why the event stream ended. */
  readonly reason: ChatKitCloseReason;
}

/** The ChatKit HTTP core. */
export interface ChatKitHandler extends HttpHandler {
  /** The ChatKit view of the thread store. */
  readonly store: ChatKitStore;
  /** Open event-stream responses. */
  readonly openStreams: number;
  /** Stops every open response (shutdown): their runs are cancelled and partial replies saved. */
  closeAll(): void;
  /** Resolves when every response has finished its writes (after {@link ChatKitHandler.closeAll}). */
  drain(): Promise<void>;
}

/** The `Allow` list a `method_not_allowed` message names (`... use POST, OPTIONS.`). */
const ALLOW = /use ([A-Z, ]+)\.$/;

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' } as const;

function decodePathId(segment: string): string | undefined {
  try {
    const id = decodeURIComponent(segment);
    return /^[A-Za-z0-9_-]{1,200}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Creates the ChatKit handler.
 *
 * @param options - registry, thread store, hooks and limits
 * @returns the handler
 * @example
 * const chatkit = createChatKitHandler({ registry, threads: await createSqlThreadStore() });
 * http.createServer(async (request, response) => {
 *   if (!(await handleNodeRequest(chatkit, request, response))) response.writeHead(404).end();
 * });
 */
export function createChatKitHandler(options: ChatKitHandlerOptions): ChatKitHandler {
  const path = (options.path ?? '/chatkit').replace(/\/+$/, '');
  const cors = options.cors ?? createCorsPolicy();
  const auth = options.auth ?? createApiKeyAuth();
  const maxBodyBytes = options.maxBodyBytes ?? 65_536;
  const maxMessageChars = options.maxMessageChars ?? 8000;
  const maxAudioBytes = options.maxAudioBytes ?? 4 * 1024 * 1024;
  const retryAfterSeconds = options.retryAfterSeconds ?? 2;
  const createId = options.createId ?? createRandomId;
  const now = (): string => new Date().toISOString();
  const store = createChatKitStore(options.threads);
  const reportError = (error: unknown): void => options.onError?.(error);
  const recorder: ThreadRecorder = createThreadRecorder(options.threads, { onError: reportError });
  const titler: ChatKitTitler | false =
    options.title ?? (({ input }) => titleFromMessage(messageText(input)) ?? undefined);
  const startResponse = createChatKitResponder({
    registry: options.registry,
    store,
    respond: options.respond,
    action: options.action,
    clientTools: options.clientTools,
    maxHistoryChars: options.maxHistoryChars,
    titler,
    recorder,
    checkpointEvery: options.checkpointEvery ?? 50,
    createId,
    now,
    onRunStart: options.onRunStart,
    onError: reportError,
  });
  const hub: ChatKitWriterHub = {
    heartbeat: createHeartbeat<ChatKitSseWriter>(options.heartbeatMs ?? 15_000),
    maxBufferedBytes: options.maxBufferedBytes ?? 1024 * 1024,
  };
  const responses = new Set<Promise<unknown>>();
  // The body limit of a request whose type is not known yet: dictation's base64 audio is larger.
  const readLimit =
    options.transcribe === undefined ? maxBodyBytes : Math.max(maxBodyBytes, Math.ceil((maxAudioBytes * 4) / 3) + 4096);

  function contextOf(request: HttpRequestLike, principal: string | undefined): ChatKitRequestContext {
    return { principal, locale: request.header('accept-language'), header: (name) => request.header(name) };
  }

  function checkMessageLength(request: ChatKitRequest): void {
    if (request.type !== 'threads.create' && request.type !== 'threads.add_user_message') return;
    const length = request.input.content.reduce((total, part) => total + part.text.length, 0);
    if (length > maxMessageChars) {
      throw new StreamwellError(
        'message_too_long',
        `The message is ${length} characters; the limit is ${maxMessageChars}.`,
        {
          status: 413,
        },
      );
    }
  }

  /** The event stream of one response: the opening events, `stream_options`, then the producer's. */
  function streamReply(
    prepared: PreparedChatKitStream | ChatKitEvent,
    type: ChatKitRequestType,
    owner: string | undefined,
    context: ChatKitRequestContext,
    corsHeaders: HttpHeaders,
  ): SseStreamReply {
    return {
      type: 'stream',
      status: 200,
      headers: { ...SSE_HEADERS, ...corsHeaders },
      open(sink) {
        const stop = new AbortController();
        let outcome: ChatKitOutcome = 'error';
        const threadId = 'producer' in prepared ? prepared.thread.id : '';
        const writer = new ChatKitSseWriter(hub, sink, (reason) => {
          // Anything but the end of the response stops it: the client's Stop, a stalled reader, shutdown.
          if (reason !== 'end') stop.abort(reason);
          options.onResponse?.({
            type,
            threadId,
            principal: owner,
            outcome: reason === 'end' ? outcome : 'cancelled',
            reason,
          });
        });
        if (!('producer' in prepared)) {
          // A request the thread cannot serve: one error event, as the protocol note recommends.
          writer.write([prepared]);
          writer.finish('end');
          return writer;
        }
        const streamOptions = options.streamOptions?.(prepared.thread, context) ?? { allow_cancel: true };
        writer.write([
          ...prepared.before,
          { type: 'stream_options', stream_options: streamOptions },
          ...prepared.after,
        ]);
        const { source, session } = startResponse(prepared, { owner, context, stop: stop.signal });
        const response = pipeChatKitEvents(source, session, writer, stop.signal).then(
          (ended) => {
            outcome = ended;
            writer.finish('end');
          },
          (error: unknown) => {
            reportError(error);
            writer.finish('end');
          },
        );
        responses.add(response);
        void response.finally(() => responses.delete(response));
        return writer;
      },
    };
  }

  async function protocolRequest(
    request: HttpRequestLike,
    principal: string | undefined,
    corsHeaders: HttpHeaders,
  ): Promise<HttpReply> {
    assertJsonContentType(request.header('content-type'));
    // Refuse a declared oversize body before reading a byte of it.
    if (Number(request.header('content-length') ?? '0') > readLimit) throw bodyTooLarge(readLimit);
    const body = await request.readBody(readLimit);
    const parsed = parseChatKitRequest(body);
    if (parsed.type !== 'input.transcribe' && body.byteLength > maxBodyBytes) throw bodyTooLarge(maxBodyBytes);
    if (parsed.type === 'input.transcribe' && parsed.audio.byteLength > maxAudioBytes)
      throw bodyTooLarge(maxAudioBytes);
    checkMessageLength(parsed);
    const context = contextOf(request, principal);
    if (!CHATKIT_STREAMING_TYPES.has(parsed.type)) {
      const answer = await runChatKitOperation(parsed as ChatKitJsonRequest, {
        store,
        owner: principal,
        context,
        createItemId: createId,
        attachments: options.attachments,
        transcribe: options.transcribe,
        syncAction: options.syncAction,
        addFeedback: options.addFeedback,
      });
      return {
        type: 'body',
        status: 200,
        headers: { ...corsHeaders, ...JSON_HEADERS },
        body: encodeChatKitJson(answer),
      };
    }
    // Before the thread is touched: a refused request changes nothing.
    const slot = options.connections?.acquire('sse', principal);
    let prepared: PreparedChatKitStream | ChatKitEvent;
    try {
      prepared = await prepareOrError(parsed as ChatKitStreamingRequest, principal, context);
    } catch (error) {
      slot?.release();
      throw error;
    }
    const reply = streamReply(prepared, parsed.type, principal, context, corsHeaders);
    return slot === undefined ? reply : holdConnectionSlot(reply, slot);
  }

  async function prepareOrError(
    parsed: ChatKitStreamingRequest,
    principal: string | undefined,
    context: ChatKitRequestContext,
  ): Promise<PreparedChatKitStream | ChatKitEvent> {
    let prepared: PreparedChatKitStream | ChatKitEvent;
    try {
      prepared = await prepareChatKitStream(parsed, {
        store,
        owner: principal,
        context,
        createItemId: createId,
        now,
      });
      if (prepared.producer.kind === 'action' && options.action === undefined) {
        throw new ChatKitStreamError('This server handles no widget actions.');
      }
    } catch (error) {
      if (!(error instanceof ChatKitStreamError)) throw error;
      prepared =
        error.chatkitCode === 'custom'
          ? { type: 'error', code: 'custom', message: error.message, allow_retry: error.allowRetry }
          : { type: 'error', code: 'stream.error', allow_retry: error.allowRetry };
    }
    return prepared;
  }

  async function route(request: HttpRequestLike, pathname: string, corsHeaders: HttpHeaders): Promise<HttpReply> {
    const rest = pathname.slice(path.length);
    const principal = (): string | undefined => auth.authenticateHeader(request.header('authorization'));
    if (rest === '' || rest === '/') {
      if (request.method !== 'POST') throw notAllowed(request.method, 'POST, OPTIONS');
      return protocolRequest(request, principal(), corsHeaders);
    }
    const match = /^\/attachments\/([^/]+)(\/upload)?$/.exec(rest);
    const attachmentId = match === null ? undefined : decodePathId(match[1] ?? '');
    if (match === null || attachmentId === undefined) {
      throw new StreamwellError('not_found', `No route ${request.method} ${pathname}.`, { status: 404 });
    }
    return serveAttachmentRoute(request, {
      attachmentId,
      upload: match[2] !== undefined,
      attachments: options.attachments,
      store,
      principal,
      context: (owner) => contextOf(request, owner),
      corsHeaders,
    });
  }

  return {
    store,
    get openStreams() {
      return hub.heartbeat.members.size;
    },
    async handle(request) {
      let url: URL;
      try {
        url = new URL(request.url, 'http://localhost');
      } catch {
        return undefined;
      }
      const pathname = url.pathname;
      if (pathname !== path && !pathname.startsWith(`${path}/`)) return undefined;
      const origin = request.header('origin');
      const host = request.header('host');
      const corsHeaders = cors.responseHeaders(origin, host);
      try {
        cors.assertAllowed(origin, host);
        if (request.method === 'OPTIONS') {
          const headers = origin === undefined ? corsHeaders : cors.preflightHeaders(origin, host);
          return { type: 'body', status: 204, headers: { ...headers, Allow: 'GET, POST, OPTIONS' }, body: '' };
        }
        return await route(request, pathname, corsHeaders);
      } catch (error) {
        const failure = toStreamwellError(error);
        options.onRequestError?.(failure);
        if (!isStreamwellError(error)) reportError(error);
        const allow = ALLOW.exec(failure.message)?.[1];
        const headers =
          failure.code === 'method_not_allowed' && allow !== undefined ? { ...corsHeaders, Allow: allow } : corsHeaders;
        return errorReply(failure, headers, retryAfterSeconds);
      }
    },
    closeAll() {
      for (const writer of [...hub.heartbeat.members]) writer.finish('shutdown');
    },
    async drain() {
      await Promise.all([...responses]);
      await recorder.drain();
    },
  };
}

function notAllowed(method: string, allow: string): StreamwellError {
  return new StreamwellError('method_not_allowed', `${method} is not allowed here; use ${allow}.`, { status: 405 });
}
