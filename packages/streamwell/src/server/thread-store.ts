/**
 * Threads: the conversation history the model sees, in memory and bounded.
 *
 * @module
 */
import { StreamwellError } from '../errors/index.ts';
import type { ChatMessage } from './provider.ts';

/** Limits of {@link createThreadStore}. */
export interface ThreadStoreOptions {
  /** Most threads kept; the least recently used is dropped past it. @defaultValue 10000 */
  readonly maxThreads?: number;
  /**
   * Most characters of history sent to the model (and kept per thread); older messages are left
   * out. @defaultValue 32000
   */
  readonly maxHistoryChars?: number;
  /** Most messages kept per thread. @defaultValue 200 */
  readonly maxMessages?: number;
}

interface Thread {
  readonly owner: string | undefined;
  readonly messages: ChatMessage[];
}

/** In-memory thread store. */
export interface ThreadStore {
  /**
   * The history to send for a new user message (bounded by `maxHistoryChars`), creating the
   * thread when it does not exist. Throws `not_found` when the thread belongs to someone else,
   * so that thread ids do not leak across principals.
   */
  prepare(threadId: string, owner: string | undefined, message: string): ChatMessage[];
  /** Records a finished exchange. */
  append(threadId: string, owner: string | undefined, user: string, assistant: string): void;
  /** The stored messages of a thread, or undefined. */
  get(threadId: string, owner: string | undefined): readonly ChatMessage[] | undefined;
  /** Number of threads. */
  readonly size: number;
}

/** Index of the oldest message such that it and every newer one fit in `budget` characters. */
function firstKept(messages: readonly ChatMessage[], budget: number): number {
  let chars = 0;
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    chars += (messages[index] as ChatMessage).content.length;
    if (chars > budget) return index + 1;
  }
  return 0;
}

/**
 * Creates a bounded in-memory thread store.
 *
 * @param options - limits
 * @returns the store
 */
export function createThreadStore(options: ThreadStoreOptions = {}): ThreadStore {
  const maxThreads = options.maxThreads ?? 10_000;
  const maxHistoryChars = options.maxHistoryChars ?? 32_000;
  const maxMessages = options.maxMessages ?? 200;
  // A Map iterates in insertion order; re-inserting on use makes the first key the least recent.
  const threads = new Map<string, Thread>();

  function lookup(threadId: string, owner: string | undefined): Thread | undefined {
    const thread = threads.get(threadId);
    if (thread === undefined) return undefined;
    if (thread.owner !== owner) throw new StreamwellError('not_found', `Unknown thread ${threadId}`, { status: 404 });
    threads.delete(threadId);
    threads.set(threadId, thread);
    return thread;
  }

  return {
    prepare(threadId, owner, message) {
      let thread = lookup(threadId, owner);
      if (thread === undefined) {
        thread = { owner, messages: [] };
        threads.set(threadId, thread);
        if (threads.size > maxThreads) {
          const oldest = threads.keys().next().value;
          if (oldest !== undefined) threads.delete(oldest);
        }
      }
      const start = firstKept(thread.messages, maxHistoryChars - message.length);
      return [...thread.messages.slice(start), { role: 'user', content: message }];
    },
    append(threadId, owner, user, assistant) {
      const thread = threads.get(threadId);
      if (thread === undefined || thread.owner !== owner) return;
      thread.messages.push({ role: 'user', content: user });
      if (assistant.length > 0) thread.messages.push({ role: 'assistant', content: assistant });
      // Keep only what a later `prepare` could still send: this bounds a thread by characters
      // too, not just by count (one long reply would otherwise stay in memory for good).
      const start = Math.max(firstKept(thread.messages, maxHistoryChars), thread.messages.length - maxMessages);
      if (start > 0) thread.messages.splice(0, start);
    },
    get(threadId, owner) {
      const thread = threads.get(threadId);
      return thread === undefined || thread.owner !== owner ? undefined : thread.messages;
    },
    get size() {
      return threads.size;
    },
  };
}
