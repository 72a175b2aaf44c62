/**
 * The Vercel AI SDK's chat endpoints on streamwell runs, so that `useChat` with
 * `DefaultChatTransport` (`ai` 6) works unchanged against a streamwell server:
 *
 * - `POST {base}/chat` (`{id, messages, trigger, messageId?}`): starts a run on the thread `id`
 *   with the last user message as the prompt and answers the UI message stream (v1);
 * - `GET {base}/chat/{chatId}/stream`: the chat's running run replayed from its start, then live
 *   (what `resume: true` and `resumeStreamIsReplay` expect); `204` when no run of the chat is
 *   running. A page that lost the connection (createChatFetch) sends `Last-Event-ID` and the run
 *   it read (`?streamId=`): that run continues after the cursor, also when it has ended (`204`
 *   at its end); with cursor 0 and no run named (its POST got no answer) the latest run is
 *   replayed from its start although it has ended;
 * - `POST {base}/chat/{chatId}/cancel`: cancels the chat's run and its upstream call; `200` with
 *   the run's final status, also when there was nothing to cancel (idempotent).
 *
 * It shares everything with the stream handler it is given: CORS, auth, limits, JSON errors,
 * the connection writer (heartbeat, buffer cap, close hooks, open-stream count, `closeAll`) and
 * the registry, so the runs are the same runs (timeouts, checkpoints, metrics, several
 * instances). Only the wire format differs ({@link UI_MESSAGE_STREAM_FORMAT}).
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';
import { type ChatRunIndex, createMemoryChatRunIndex } from '../chat-run-index.ts';
import type { RunHandle } from '../run-handle.ts';
import {
  type HandlerRoute,
  jsonReply,
  parseRequestUrl,
  readJsonRequestBody,
  type StreamEndpoint,
  type StreamHandler,
} from './create-stream-handler.ts';
import type { HttpBodyReply, HttpHandler, HttpHeaders, HttpReply, HttpRequestLike } from './http-types.ts';
import { parseChatBody } from './parse-chat-request.ts';
import { isThreadId, parseCursor } from './parse-start-request.ts';
import { UI_MESSAGE_STREAM_FORMAT } from './ui-message-stream-format.ts';

/** Defaults of {@link ChatHandlerOptions}. */
export const CHAT_HANDLER_DEFAULTS = Object.freeze({
  basePath: '/api',
  /** `useChat` sends the whole history with every message. */
  maxBodyBytes: 1024 * 1024,
});

/** Options of {@link createChatHandler}. */
export interface ChatHandlerOptions {
  /** The stream handler whose checks, limits, writer and registry the chat endpoints share. */
  readonly streams: StreamHandler;
  /**
   * Where a chat's latest run is recorded. Several instances need a shared one
   * (`createRedisChatRunIndex`). @defaultValue an in-memory index ({@link createMemoryChatRunIndex})
   */
  readonly chatRuns?: ChatRunIndex;
  /** Prefix of the endpoints. @defaultValue `/api` (so `/api/chat`, the SDK's default) */
  readonly basePath?: string;
  /** Largest request body (the whole history). @defaultValue 1 MiB */
  readonly maxBodyBytes?: number;
}

/** The chat endpoints; mount with `handleNodeRequest` or `handleWebRequest`. */
export interface ChatHandler extends HttpHandler {
  /** The chat index in use. */
  readonly chatRuns: ChatRunIndex;
}

interface ChatRoute {
  readonly endpoint: 'chat' | 'chat-resume' | 'chat-cancel';
  readonly allow: string;
  readonly chatId: string;
}

function unknownChatPath(): StreamwellError {
  return new StreamwellError('not_found', 'Unknown chat endpoint: use /chat, /chat/{id}/stream or /chat/{id}/cancel.', {
    status: 404,
  });
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function matchChatRoute(pathname: string, root: string): ChatRoute | HandlerRoute | undefined {
  if (pathname === root) return { endpoint: 'chat', allow: 'POST, OPTIONS', chatId: '' };
  if (!pathname.startsWith(`${root}/`)) return undefined;
  // Split before decoding: an encoded `/` belongs to the chat id.
  const parts = pathname.slice(root.length + 1).split('/');
  const chatId = decodeSegment(parts[0] ?? '');
  const action = parts[1];
  if (parts.length !== 2 || !isThreadId(chatId) || (action !== 'stream' && action !== 'cancel')) {
    const endpoint: StreamEndpoint = action === 'cancel' ? 'chat-cancel' : 'chat-resume';
    return { endpoint, notFound: unknownChatPath() };
  }
  return action === 'stream'
    ? { endpoint: 'chat-resume', allow: 'GET, OPTIONS', chatId }
    : { endpoint: 'chat-cancel', allow: 'POST, OPTIONS', chatId };
}

function noContent(corsHeaders: HttpHeaders): HttpBodyReply {
  return { type: 'body', status: 204, headers: { ...corsHeaders, 'Cache-Control': 'no-store' }, body: '' };
}

async function settle<T>(value: T | Promise<T>): Promise<T> {
  return value;
}

/**
 * Creates the AI SDK chat endpoints on top of a stream handler.
 *
 * @param options - the stream handler, and optionally a shared chat index
 * @returns the handler
 * @example
 * const streams = createStreamHandler({ registry });
 * const chats = createChatHandler({ streams });
 * http.createServer(async (request, response) => {
 *   if (await handleNodeRequest(streams, request, response)) return;
 *   if (await handleNodeRequest(chats, request, response)) return;
 *   response.writeHead(404).end();
 * });
 */
export function createChatHandler(options: ChatHandlerOptions): ChatHandler {
  const core = options.streams._core;
  const registry = core.registry;
  const chatRuns = options.chatRuns ?? createMemoryChatRunIndex();
  const root = `${(options.basePath ?? CHAT_HANDLER_DEFAULTS.basePath).replace(/\/+$/, '')}/chat`;
  const maxBodyBytes = options.maxBodyBytes ?? CHAT_HANDLER_DEFAULTS.maxBodyBytes;

  /** Cancels a run without waiting; a failure leaves it to its own timeouts and the grace period. */
  function cancelQuietly(streamId: string, principal: string | undefined): void {
    settle(registry.cancel(streamId, principal)).catch(() => {});
  }

  async function start(request: HttpRequestLike, principal: string | undefined, corsHeaders: HttpHeaders) {
    const body = parseChatBody(await readJsonRequestBody(request, maxBodyBytes), {
      maxMessageChars: core.maxMessageChars,
    });
    // `regenerate-message` needs nothing else: the SDK has already dropped the reply it replaces,
    // so the last user message is asked again.
    const { run, created } = await settle(
      registry.start({ message: body.message, threadId: body.chatId, owner: principal }),
    );
    let previous: string | undefined;
    try {
      previous = await settle(chatRuns.set(principal, body.chatId, run.id));
    } catch (error) {
      // A reply that could not be found by its chat could neither be resumed nor stopped.
      cancelQuietly(run.id, principal);
      throw error;
    }
    // A chat shows one reply in progress: a new turn stops the one before it.
    if (previous !== undefined && previous !== run.id) cancelQuietly(previous, principal);
    core.onStreamOpen?.({ endpoint: 'chat', run, after: undefined, created, principal });
    return core.streamReply(run, undefined, corsHeaders, UI_MESSAGE_STREAM_FORMAT, created);
  }

  async function latestRun(principal: string | undefined, chatId: string): Promise<string | undefined> {
    return settle(chatRuns.get(principal, chatId));
  }

  async function resume(
    chatId: string,
    principal: string | undefined,
    corsHeaders: HttpHeaders,
    seen: number | undefined,
    seenStreamId: string | null,
  ): Promise<HttpReply> {
    const streamId = await latestRun(principal, chatId);
    const run = streamId === undefined ? undefined : await settle(registry.get(streamId, principal));
    if (run === undefined) return noContent(corsHeaders);
    // The page's cursor (`Last-Event-ID`, sent by createChatFetch after a drop) counts only for
    // the run it was read from (`?streamId=`), or with no run named, for a POST that got no
    // answer (cursor 0).
    const cursor = seenStreamId === null ? (seen === 0 ? 0 : undefined) : seenStreamId === run.id ? seen : undefined;
    // A running reply is always resumed. A finished one is already whole on the page (or in the
    // app's saved messages), and a replay would show it again as if it were new, unless the page
    // says it lost the connection before the end: then the events that arrived while it was
    // away would be lost without the replay.
    if (run.status !== 'running' && (cursor === undefined || cursor >= run.lastEventId)) return noContent(corsHeaders);
    // With the run's own cursor only the rest is sent: a replay from the start on every
    // reconnect would, on a network that drops often, never get past what the page has.
    const after = seenStreamId === run.id && cursor !== undefined && cursor > 0 ? cursor : undefined;
    core.onStreamOpen?.({ endpoint: 'chat-resume', run, after, created: false, principal });
    return core.streamReply(run, after, corsHeaders, UI_MESSAGE_STREAM_FORMAT);
  }

  async function cancel(chatId: string, principal: string | undefined, corsHeaders: HttpHeaders) {
    const streamId = await latestRun(principal, chatId);
    const run: RunHandle | undefined =
      streamId === undefined ? undefined : await settle(registry.cancel(streamId, principal));
    return jsonReply(
      200,
      {
        chatId,
        streamId: run?.id ?? null,
        status: run?.status ?? 'none',
        outcome: run?.outcome ?? '',
        tokens: run?.tokens ?? 0,
        textLength: run?.textLength ?? 0,
      },
      corsHeaders,
    );
  }

  return {
    chatRuns,
    async handle(request) {
      const url = parseRequestUrl(request.url);
      if (url === undefined) return undefined;
      const route = matchChatRoute(url.pathname, root);
      if (route === undefined) return undefined;
      return core.answer(request, route, (principal, corsHeaders) => {
        const { endpoint, chatId } = route as ChatRoute;
        if (endpoint === 'chat') return start(request, principal, corsHeaders);
        if (endpoint === 'chat-resume') {
          const seen = parseCursor(request.header('last-event-id'), null);
          return resume(chatId, principal, corsHeaders, seen, url.searchParams.get('streamId'));
        }
        return cancel(chatId, principal, corsHeaders);
      });
    },
  };
}
