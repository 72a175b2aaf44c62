/**
 * The page's chat state: threads, their messages, and which assistant message is being streamed.
 * A pure reducer, so that it is easy to test and to persist; tokens never pass through it (the
 * streaming text lives in the hook and is copied into the thread once, when the reply ends).
 *
 * The server keeps the conversations (`GET /api/threads`); this state merges its list with the
 * threads of this tab that the server does not list (a new conversation before its first reply).
 *
 * @module
 */
import type { ServerMessage, ServerThread, ServerThreadSummary } from './thread-api.ts';

/** How a reply ended. */
export type ReplyOutcome = 'done' | 'stopped' | 'error';

/** One message in a thread. */
export interface ChatMessage {
  readonly id: string;
  readonly role: 'user' | 'assistant';
  readonly text: string;
  /** Assistant replies only: how the reply ended; absent while it streams. */
  readonly outcome?: ReplyOutcome;
  /** Assistant replies that failed: the error, the partial text is kept in `text`. */
  readonly error?: { readonly code: string; readonly message: string };
  readonly streamId?: string;
  /** The event id a resume continued after, when the reply was resumed. */
  readonly resumedFrom?: number;
  /** True when the built-in demo model wrote the reply. */
  readonly demo?: boolean;
}

/** One conversation. */
export interface ChatThread {
  /** Local id, stable from creation. */
  readonly id: string;
  /** The server's thread id, known once the first reply has started. */
  readonly serverThreadId?: string;
  readonly title: string;
  readonly messages: readonly ChatMessage[];
  readonly updatedAt: number;
  /** True for a thread the page first saw in the server's list (its messages load when opened). */
  readonly listed?: boolean;
  /** True once the messages came from the server (`GET /api/threads/{id}`). */
  readonly historyLoaded?: boolean;
}

/** The reply being streamed right now, if any. */
export interface PendingReply {
  readonly threadId: string;
  readonly messageId: string;
}

/** Everything the page remembers. */
export interface ChatState {
  readonly threads: readonly ChatThread[];
  readonly activeThreadId: string;
  readonly pending?: PendingReply;
}

/** Actions of {@link threadsReducer}. */
export type ChatAction =
  | { readonly type: 'new-thread'; readonly id: string; readonly now: number }
  | { readonly type: 'select-thread'; readonly threadId: string }
  | {
      readonly type: 'send';
      readonly text: string;
      readonly userMessageId: string;
      readonly replyMessageId: string;
      readonly now: number;
    }
  | { readonly type: 'bind-server-thread'; readonly threadId: string; readonly serverThreadId: string }
  | { readonly type: 'server-threads'; readonly threads: readonly ServerThreadSummary[] }
  | { readonly type: 'server-thread'; readonly thread: ServerThread }
  | { readonly type: 'delete-thread'; readonly threadId: string; readonly newId: string; readonly now: number }
  | {
      readonly type: 'finish';
      readonly text: string;
      readonly outcome: ReplyOutcome;
      readonly error?: { readonly code: string; readonly message: string };
      readonly streamId?: string;
      readonly resumedFrom?: number;
      readonly demo?: boolean;
    };

/** Threads kept at most; the oldest are dropped first so that sessionStorage stays bounded. */
export const MAX_THREADS = 50;

/** The title of a server thread that has none yet. */
const UNTITLED = 'Untitled conversation';

/** Title length taken from the first message. */
const TITLE_CHARS = 48;

/**
 * Creates an empty thread.
 *
 * @param id - its local id
 * @param now - creation time (ms)
 * @returns a thread with no messages
 */
export function createThread(id: string, now: number): ChatThread {
  return { id, title: 'New conversation', messages: [], updatedAt: now };
}

/**
 * Creates the initial state: one empty thread.
 *
 * @param id - the first thread's id
 * @param now - creation time (ms)
 * @returns a fresh state
 */
export function createChatState(id: string, now: number): ChatState {
  return { threads: [createThread(id, now)], activeThreadId: id };
}

function titleFrom(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > TITLE_CHARS ? `${line.slice(0, TITLE_CHARS - 1)}…` : line;
}

function updateThread(state: ChatState, threadId: string, change: (thread: ChatThread) => ChatThread): ChatState {
  return { ...state, threads: state.threads.map((thread) => (thread.id === threadId ? change(thread) : thread)) };
}

/** Newest first; the busy and the active thread are never dropped past {@link MAX_THREADS}. */
function bounded(state: ChatState, threads: readonly ChatThread[]): ChatState {
  const sorted = [...threads].sort((left, right) => right.updatedAt - left.updatedAt);
  const keep = (thread: ChatThread, index: number): boolean =>
    index < MAX_THREADS || thread.id === state.activeThreadId || thread.id === state.pending?.threadId;
  return { ...state, threads: sorted.filter(keep) };
}

/** How a stored reply ended, in the page's words. */
function fromServerMessage(message: ServerMessage): ChatMessage {
  const base = {
    id: message.id,
    role: message.role,
    text: message.content,
    ...(message.streamId === null ? {} : { streamId: message.streamId }),
  };
  if (message.role === 'user') return base;
  switch (message.status) {
    case 'complete':
      return { ...base, outcome: 'done' };
    case 'cancelled':
      return { ...base, outcome: 'stopped' };
    case 'error':
      return { ...base, outcome: 'error', error: { code: 'error', message: 'the reply failed' } };
    case 'interrupted':
      return {
        ...base,
        outcome: 'error',
        error: {
          code: 'interrupted',
          message: 'the server stopped before the reply ended; this is the text it had saved',
        },
      };
    default:
      // Still streaming (another tab, or a run on another instance): shown as it was last saved.
      return base;
  }
}

function mergeServerThreads(state: ChatState, list: readonly ServerThreadSummary[]): ChatState {
  const byServerId = new Map(list.map((summary) => [summary.id, summary]));
  const merged = state.threads.map((thread) => {
    const summary = thread.serverThreadId === undefined ? undefined : byServerId.get(thread.serverThreadId);
    if (summary === undefined) return thread;
    byServerId.delete(summary.id);
    return {
      ...thread,
      title: summary.title ?? thread.title,
      updatedAt: Math.max(thread.updatedAt, Date.parse(summary.updatedAt) || 0),
    };
  });
  for (const summary of byServerId.values()) {
    merged.push({
      // Derived from the server's id, so that the reducer stays pure and a second merge matches it.
      id: `server:${summary.id}`,
      serverThreadId: summary.id,
      title: summary.title ?? UNTITLED,
      messages: [],
      updatedAt: Date.parse(summary.updatedAt) || 0,
      listed: true,
    });
  }
  return bounded(state, merged);
}

function loadServerThread(state: ChatState, loaded: ServerThread): ChatState {
  const local = state.threads.find((thread) => thread.serverThreadId === loaded.id);
  // The thread whose reply streams right now is this tab's own: the hook has the newest text.
  if (local === undefined || local.id === state.pending?.threadId) return state;
  return updateThread(state, local.id, (thread) => ({
    ...thread,
    title: loaded.title ?? thread.title,
    messages: loaded.messages.map(fromServerMessage),
    historyLoaded: true,
  }));
}

function deleteThread(state: ChatState, action: Extract<ChatAction, { type: 'delete-thread' }>): ChatState {
  if (action.threadId === state.pending?.threadId) return state;
  const threads = state.threads.filter((thread) => thread.id !== action.threadId);
  if (threads.length === state.threads.length) return state;
  if (state.activeThreadId !== action.threadId && threads.length > 0) return { ...state, threads };
  return { ...state, threads: [createThread(action.newId, action.now), ...threads], activeThreadId: action.newId };
}

function send(state: ChatState, action: Extract<ChatAction, { type: 'send' }>): ChatState {
  if (state.pending !== undefined) return state;
  const threadId = state.activeThreadId;
  const next = updateThread(state, threadId, (thread) => ({
    ...thread,
    title: thread.messages.length === 0 ? titleFrom(action.text) : thread.title,
    updatedAt: action.now,
    messages: [
      ...thread.messages,
      { id: action.userMessageId, role: 'user', text: action.text },
      { id: action.replyMessageId, role: 'assistant', text: '' },
    ],
  }));
  // The thread moves to the top, as the server's list (newest first) will also have it.
  return { ...bounded(next, next.threads), pending: { threadId, messageId: action.replyMessageId } };
}

function finish(state: ChatState, action: Extract<ChatAction, { type: 'finish' }>): ChatState {
  const pending = state.pending;
  if (pending === undefined) return state;
  const next = updateThread(state, pending.threadId, (thread) => ({
    ...thread,
    messages: thread.messages.map((message) =>
      message.id === pending.messageId
        ? {
            ...message,
            text: action.text,
            outcome: action.outcome,
            ...(action.error === undefined ? {} : { error: action.error }),
            ...(action.streamId === undefined ? {} : { streamId: action.streamId }),
            ...(action.resumedFrom === undefined ? {} : { resumedFrom: action.resumedFrom }),
            ...(action.demo === undefined ? {} : { demo: action.demo }),
          }
        : message,
    ),
  }));
  const { pending: _finished, ...rest } = next;
  return rest;
}

/**
 * The chat reducer.
 *
 * @param state - current state
 * @param action - what happened
 * @returns the next state
 */
export function threadsReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'new-thread': {
      // Most recent first; the thread with the running reply is never dropped, nor one from the
      // server's list (its messages load when opened); an empty local one is (it would be a
      // second "New conversation").
      const kept = state.threads.filter(
        (thread) => thread.messages.length > 0 || thread.listed === true || thread.id === state.pending?.threadId,
      );
      const threads = [createThread(action.id, action.now), ...kept].slice(0, MAX_THREADS);
      return { ...state, threads, activeThreadId: action.id };
    }
    case 'select-thread':
      return state.threads.some((thread) => thread.id === action.threadId)
        ? { ...state, activeThreadId: action.threadId }
        : state;
    case 'send':
      return send(state, action);
    case 'bind-server-thread':
      return updateThread(state, action.threadId, (thread) =>
        thread.serverThreadId === action.serverThreadId ? thread : { ...thread, serverThreadId: action.serverThreadId },
      );
    case 'finish':
      return finish(state, action);
    case 'server-threads':
      return mergeServerThreads(state, action.threads);
    case 'server-thread':
      return loadServerThread(state, action.thread);
    case 'delete-thread':
      return deleteThread(state, action);
  }
}

/**
 * Checks that a value read back from storage has the shape of a {@link ChatState}.
 *
 * @param value - parsed JSON
 * @returns true when it can be used as state
 */
export function isChatState(value: unknown): value is ChatState {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { threads?: unknown; activeThreadId?: unknown };
  return (
    Array.isArray(candidate.threads) &&
    candidate.threads.length > 0 &&
    typeof candidate.activeThreadId === 'string' &&
    candidate.threads.every(
      (thread: unknown) =>
        typeof thread === 'object' &&
        thread !== null &&
        typeof (thread as ChatThread).id === 'string' &&
        Array.isArray((thread as ChatThread).messages),
    )
  );
}
