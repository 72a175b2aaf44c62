/**
 * The page's chat state: threads, their messages, and which assistant message is being streamed.
 * A pure reducer, so that it is easy to test and to persist; tokens never pass through it (the
 * streaming text lives in the hook and is copied into the thread once, when the reply ends).
 *
 * @module
 */

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
export const MAX_THREADS = 30;

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
  return { ...next, pending: { threadId, messageId: action.replyMessageId } };
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
      // Most recent first; the thread with the running reply is never dropped.
      const kept = state.threads.filter(
        (thread) => thread.messages.length > 0 || thread.id === state.pending?.threadId,
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
