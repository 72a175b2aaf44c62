/**
 * A `fetch` for the Vercel AI SDK's `DefaultChatTransport` that makes Stop stop the model, and a
 * resume after a dropped connection show the reply once.
 *
 * `useChat`'s `stop()` only aborts its request; a server sees the connection close, which it
 * cannot tell from a network drop, and a server that keeps replies resumable must keep the run
 * going after a drop (vercel/ai #6502, #8390). This `fetch` passes every request through and,
 * when the signal of a chat **POST** is aborted, also calls `POST {api}/{chatId}/cancel`, which
 * cancels the run and its upstream model call. An aborted resume **GET** is left alone: the SDK
 * also aborts a resume when it starts a newer one (a remount, the page becoming visible), which
 * must not stop the reply; for a Stop on a resumed reply, call {@link ChatFetch.cancel}.
 *
 * The bodies of streamwell's chat replies (they carry `X-Stream-Id`) go through
 * {@link trackChatStream}: whole events only, a drop always reported as a network error (so the
 * SDK keeps the message and can resume it), and a resume of the same reply without the events
 * the SDK already has, which is what keeps `useChat` from showing the reply twice.
 *
 * A resume after such a drop sends `Last-Event-ID` (the last event the SDK has) and the reply's
 * stream (`?streamId=`): the server sends only the rest, also when the reply ended while the page
 * was away (without it the server answers `204` for an ended reply and the page keeps the
 * partial text, and it replays the whole reply on every reconnect, which on a network that drops
 * often never gets past what the page has). After a chat POST that got no answer it sends
 * `Last-Event-ID: 0`, so the reply is replayed from its start even if it has ended. A replay of
 * a reply the page already holds whole (the previous turn's, when the POST never reached the
 * server) is answered to the SDK as `204`.
 *
 * Browser-safe: no Node modules; the wrapped `fetch` is injectable.
 *
 * @module
 */

import { type ChatStreamProgress, trackChatStream } from './track-chat-stream.ts';

/** Options of {@link createChatFetch}. */
export interface ChatFetchOptions {
  /** The `fetch` to wrap. @defaultValue `globalThis.fetch`, looked up on each call */
  readonly fetch?: typeof globalThis.fetch;
  /** The chat API, for {@link ChatFetch.cancel}. @defaultValue `/api/chat` (the SDK's default) */
  readonly api?: string;
}

/** What {@link ChatFetch.cancel} sends along: the auth the chat requests use. */
export interface ChatCancelInit {
  readonly headers?: HeadersInit;
  readonly credentials?: RequestCredentials;
}

/** A `fetch` for `DefaultChatTransport`, plus an explicit cancel. */
export interface ChatFetch {
  (input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /**
   * Cancels the chat's running reply on the server (`POST {api}/{chatId}/cancel`). Never
   * rejects: if the request fails, the server still stops a reply nobody follows after its
   * disconnect grace period.
   *
   * @param chatId - the chat id (`useChat`'s `id`)
   * @param init - headers and credentials, as the chat's requests send them
   */
  cancel(chatId: string, init?: ChatCancelInit): Promise<void>;
}

/**
 * Appends a path to a URL before its query or fragment, as `DefaultChatTransport` builds
 * `{api}/{chatId}/stream`.
 */
function appendPath(url: string, path: string): string {
  const cut = url.search(/[?#]/);
  const head = cut === -1 ? url : url.slice(0, cut);
  const tail = cut === -1 ? '' : url.slice(cut);
  return `${head.endsWith('/') ? head.slice(0, -1) : head}${path}${tail}`;
}

/** Most chats whose latest reply stream is remembered. */
const MAX_TRACKED_CHATS = 64;
const RESUME_PATH = /\/([^/?#]+)\/stream(?:[?#]|$)/;

/** The chat id of a resume URL (`{api}/{chatId}/stream`), if it is one. */
function resumedChatIdOf(url: string): string | undefined {
  const match = RESUME_PATH.exec(url);
  if (match === null) return undefined;
  try {
    return decodeURIComponent(match[1] as string);
  } catch {
    return undefined;
  }
}

/** The chat id of a `DefaultChatTransport` body (`{..., id, messages, trigger}`), if it is one. */
function chatIdOf(body: string): string | undefined {
  try {
    const value: unknown = JSON.parse(body);
    const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined;
    return typeof id === 'string' && id !== '' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The ids of the messages in a `DefaultChatTransport` body. */
function messageIdsOf(body: string): Set<string> {
  const ids = new Set<string>();
  try {
    const messages: unknown = (JSON.parse(body) as { messages?: unknown }).messages;
    if (Array.isArray(messages)) {
      for (const message of messages) {
        const id = typeof message === 'object' && message !== null ? (message as { id?: unknown }).id : undefined;
        if (typeof id === 'string') ids.add(id);
      }
    }
  } catch {
    // Not JSON: no ids.
  }
  return ids;
}

/**
 * Creates the `fetch` to pass to `DefaultChatTransport`.
 *
 * @param options - the `fetch` to wrap and the chat API
 * @returns the wrapping `fetch`, with `cancel(chatId)`
 * @example
 * import { useChat } from '@ai-sdk/react';
 * import { DefaultChatTransport } from 'ai';
 * import { createChatFetch } from 'streamwell/client';
 *
 * const transport = new DefaultChatTransport({ api: '/api/chat', fetch: createChatFetch() });
 * const { messages, sendMessage, stop } = useChat({ id: chatId, transport, resume: true });
 */
export function createChatFetch(options: ChatFetchOptions = {}): ChatFetch {
  const api = options.api ?? '/api/chat';
  const fetchNow = (): typeof globalThis.fetch => options.fetch ?? globalThis.fetch;
  /** Per chat, the stream of its latest reply as the SDK has received it. */
  const progressByChat = new Map<string, ChatStreamProgress>();
  /**
   * Per chat whose POST failed before an answer: the ids of the messages it sent (a reply's
   * message id is its stream id), so a replay of one of those replies is not shown again.
   */
  const failedStarts = new Map<string, ReadonlySet<string>>();

  function remember<V>(map: Map<string, V>, chatId: string, value: V): void {
    map.delete(chatId);
    map.set(chatId, value);
    if (map.size > MAX_TRACKED_CHATS) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
  }

  /**
   * The cursor a resume of `chatId` sends, and the run it was read from: set when the SDK holds
   * a partial reply (or none yet, after a POST without an answer).
   */
  function resumeCursor(chatId: string): { after: number; streamId?: string } | undefined {
    if (failedStarts.has(chatId)) return { after: 0 };
    const progress = progressByChat.get(chatId);
    return progress?.interrupted === true ? { after: progress.lastId, streamId: progress.streamId } : undefined;
  }

  /** Hands a streamwell reply's body to the SDK through {@link trackChatStream}. */
  function track(chatId: string, response: Response, resume: boolean): Response {
    const streamId = response.headers.get('x-stream-id');
    if (!response.ok || response.body === null || streamId === null) return response;
    const failedStart = resume ? failedStarts.get(chatId) : undefined;
    failedStarts.delete(chatId);
    if (failedStart?.has(streamId) === true) {
      // The POST never started a reply: this is an earlier one, whole on the page already.
      void response.body.cancel().catch(() => {});
      return new Response(null, { status: 204, headers: response.headers });
    }
    const previous = progressByChat.get(chatId);
    // The SDK holds a partial message of this very reply: it needs only the rest.
    const skipThrough =
      resume && previous?.interrupted === true && previous.streamId === streamId ? previous.lastId : 0;
    const progress: ChatStreamProgress = { streamId, lastId: skipThrough, interrupted: false };
    remember(progressByChat, chatId, progress);
    return new Response(trackChatStream(response.body, progress, skipThrough), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  }

  async function sendCancel(url: string, init: ChatCancelInit): Promise<void> {
    const headers = new Headers(init.headers);
    // The cancel has no body.
    headers.delete('content-type');
    try {
      // `keepalive`: the cancel still goes out if the page is being closed.
      const response = await fetchNow()(url, {
        method: 'POST',
        headers,
        keepalive: true,
        ...(init.credentials === undefined ? {} : { credentials: init.credentials }),
      });
      await response.body?.cancel();
    } catch {
      // Best effort (see ChatFetch.cancel).
    }
  }

  const chatFetch = (async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const signal = init?.signal;
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : undefined;
    const method = (init?.method ?? 'GET').toUpperCase();
    if (url !== undefined && method === 'GET') {
      const chatId = resumedChatIdOf(url);
      if (chatId === undefined) return fetchNow()(input, init);
      const cursor = resumeCursor(chatId);
      if (cursor === undefined) return track(chatId, await fetchNow()(input, init), true);
      const headers = new Headers(init?.headers);
      headers.set('last-event-id', String(cursor.after));
      const target =
        cursor.streamId === undefined
          ? url
          : `${url}${url.includes('?') ? '&' : '?'}streamId=${encodeURIComponent(cursor.streamId)}`;
      return track(chatId, await fetchNow()(target, { ...init, headers }), true);
    }
    const chatId =
      url !== undefined && method === 'POST' && typeof init?.body === 'string' ? chatIdOf(init.body) : undefined;
    if (chatId !== undefined && url !== undefined && init !== undefined) {
      if (signal != null && !signal.aborted) {
        const cancelUrl = appendPath(url, `/${encodeURIComponent(chatId)}/cancel`);
        const cancelInit: ChatCancelInit = {
          ...(init.headers === undefined ? {} : { headers: init.headers }),
          ...(init.credentials === undefined ? {} : { credentials: init.credentials }),
        };
        // `stop()` aborts this signal; the SDK never aborts it once the reply has ended.
        signal.addEventListener('abort', () => void sendCancel(cancelUrl, cancelInit), { once: true });
      }
      let response: Response;
      try {
        response = await fetchNow()(input, init);
      } catch (error) {
        // No answer: the reply may have started all the same. The resume asks for it.
        if (signal?.aborted !== true) remember(failedStarts, chatId, messageIdsOf(init.body as string));
        throw error;
      }
      failedStarts.delete(chatId);
      return track(chatId, response, false);
    }
    return fetchNow()(input, init);
  }) as ChatFetch;
  chatFetch.cancel = (chatId, init = {}) => sendCancel(appendPath(api, `/${encodeURIComponent(chatId)}/cancel`), init);
  return chatFetch;
}
