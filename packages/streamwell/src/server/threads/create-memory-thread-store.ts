/**
 * The thread store in the process's memory: for tests and for embedding without a database.
 * Bounded (threads, items per thread, attachments); everything is lost when the process ends.
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';
import type { ChatMessage } from '../provider.ts';
import { boundHistory } from './bound-history.ts';
import { createItemId } from './create-item-id.ts';
import { PAGE_LIMITS, pageLimit } from './page-limit.ts';
import { decodeThreadCursor, encodeThreadCursor } from './thread-cursor.ts';
import type {
  AttachmentRecord,
  ItemPage,
  JsonObject,
  ThreadItem,
  ThreadItemInput,
  ThreadRecord,
  ThreadStore,
  ThreadStoreCommonOptions,
  ThreadSummary,
} from './thread-store.ts';
import { titleFromMessage } from './thread-title.ts';

/** Options of {@link createMemoryThreadStore}. */
export interface MemoryThreadStoreOptions extends ThreadStoreCommonOptions {
  /** Most threads kept; the least recently written is dropped past it. @defaultValue 10000 */
  readonly maxThreads?: number;
  /** Most items kept per thread; the oldest are dropped past it. @defaultValue 1000 */
  readonly maxItemsPerThread?: number;
  /** Most attachments kept; the oldest are dropped past it. @defaultValue 10000 */
  readonly maxAttachments?: number;
}

interface MemoryThread {
  record: ThreadRecord;
  readonly owner: string | undefined;
  items: ThreadItem[];
}

const notFound = (threadId: string): StreamwellError =>
  new StreamwellError('not_found', `Unknown thread ${threadId}.`, { status: 404 });

/** Copies JSON so that callers can never change what is stored (nor what others were given). */
const copy = <T>(value: T): T => (value === null || typeof value !== 'object' ? value : structuredClone(value));

const summary = (record: ThreadRecord): ThreadSummary => ({
  id: record.id,
  title: record.title,
  createdAt: record.createdAt,
  updatedAt: record.updatedAt,
});

/**
 * Creates a thread store in memory.
 *
 * @param options - limits and clock
 * @returns the store (`kind: 'memory'`)
 * @example
 * const threads = createMemoryThreadStore({ maxThreads: 100 });
 * const turn = await threads.beginTurn({ threadId: 't1', owner: undefined, message: 'Hi', streamId: 's1' });
 */
export function createMemoryThreadStore(options: MemoryThreadStoreOptions = {}): ThreadStore {
  const maxThreads = options.maxThreads ?? 10_000;
  const maxItems = options.maxItemsPerThread ?? 1000;
  const maxAttachments = options.maxAttachments ?? 10_000;
  const maxHistoryChars = options.maxHistoryChars ?? 32_000;
  const maxHistoryMessages = options.maxHistoryMessages ?? 200;
  const now = (): string => (options.now?.() ?? new Date()).toISOString();
  // Map order is the eviction order: a written thread is re-inserted, so the first key is the
  // least recently written one.
  const threads = new Map<string, MemoryThread>();
  const attachments = new Map<string, AttachmentRecord>();

  function owned(threadId: string, owner: string | undefined): MemoryThread | undefined {
    const thread = threads.get(threadId);
    return thread === undefined || thread.owner !== owner ? undefined : thread;
  }

  function ownedOrThrow(threadId: string, owner: string | undefined): MemoryThread {
    const thread = owned(threadId, owner);
    if (thread === undefined) throw notFound(threadId);
    return thread;
  }

  function touch(thread: MemoryThread, at: string): void {
    thread.record = { ...thread.record, updatedAt: at };
    threads.delete(thread.record.id);
    threads.set(thread.record.id, thread);
  }

  function createThread(id: string, owner: string | undefined, title: string | null, at: string): MemoryThread {
    const thread: MemoryThread = {
      record: { id, title, createdAt: at, updatedAt: at, metadata: {} },
      owner,
      items: [],
    };
    threads.set(id, thread);
    if (threads.size > maxThreads) {
      const oldest = threads.keys().next().value;
      if (oldest !== undefined) threads.delete(oldest);
    }
    return thread;
  }

  function append(thread: MemoryThread, item: ThreadItem): void {
    thread.items.push(item);
    if (thread.items.length > maxItems) thread.items.splice(0, thread.items.length - maxItems);
  }

  function toItem(threadId: string, input: ThreadItemInput, at: string): ThreadItem {
    return {
      id: input.id ?? createItemId(),
      threadId,
      role: input.role,
      kind: input.kind ?? 'message',
      content: input.content ?? '',
      status: input.status ?? 'complete',
      streamId: input.streamId ?? null,
      createdAt: input.createdAt ?? at,
      data: copy(input.data ?? null),
    };
  }

  const store: ThreadStore = {
    kind: 'memory',

    async beginTurn({ threadId, owner, message, streamId }) {
      const existing = threads.get(threadId);
      if (existing !== undefined && existing.owner !== owner) throw notFound(threadId);
      const at = now();
      const thread = existing ?? createThread(threadId, owner, titleFromMessage(message), at);
      if (thread.record.title === null) thread.record = { ...thread.record, title: titleFromMessage(message) };
      const earlier: ChatMessage[] = thread.items
        .filter((item) => item.kind === 'message' && item.status !== 'streaming' && item.content !== '')
        .slice(-maxHistoryMessages)
        .map((item) => ({ role: item.role, content: item.content }));
      const history = boundHistory(earlier, message, maxHistoryChars);
      const user = toItem(threadId, { role: 'user', content: message, streamId }, at);
      const assistant = toItem(threadId, { role: 'assistant', status: 'streaming', streamId }, at);
      append(thread, user);
      append(thread, assistant);
      touch(thread, at);
      return {
        history,
        userMessageId: user.id,
        assistantMessageId: assistant.id,
        threadCreated: existing === undefined,
      };
    },

    async updateMessage({ threadId, messageId, content, status }) {
      const thread = threads.get(threadId);
      const index = thread?.items.findIndex((item) => item.id === messageId) ?? -1;
      if (thread === undefined || index === -1) return false;
      const item = thread.items[index] as ThreadItem;
      if (item.status !== 'streaming') return false;
      thread.items[index] = { ...item, content, status };
      touch(thread, now());
      return true;
    },

    async listThreads(owner, listOptions = {}) {
      const limit = pageLimit(listOptions.limit, PAGE_LIMITS.defaultPage, PAGE_LIMITS.maxPage);
      const sign = listOptions.order === 'asc' ? 1 : -1;
      const compare = (left: ThreadRecord, right: { updatedAt: string; id: string }): number =>
        sign *
        (left.updatedAt < right.updatedAt
          ? -1
          : left.updatedAt > right.updatedAt
            ? 1
            : left.id < right.id
              ? -1
              : left.id > right.id
                ? 1
                : 0);
      const cursor = listOptions.cursor === undefined ? undefined : decodeThreadCursor(listOptions.cursor);
      const page = [...threads.values()]
        .filter((thread) => thread.owner === owner && (cursor === undefined || compare(thread.record, cursor) > 0))
        .map((thread) => thread.record)
        .sort((left, right) => compare(left, right))
        .slice(0, limit + 1);
      const last = page[limit - 1];
      return {
        threads: page.slice(0, limit).map(summary),
        nextCursor: page.length > limit && last !== undefined ? encodeThreadCursor(last) : null,
      };
    },

    async getThread(threadId, owner, getOptions = {}) {
      const thread = owned(threadId, owner);
      if (thread === undefined) return undefined;
      const limit = pageLimit(getOptions.limit, PAGE_LIMITS.defaultThreadMessages, PAGE_LIMITS.maxThreadMessages);
      const messages = thread.items.filter((item) => item.kind === 'message');
      return {
        ...summary(thread.record),
        messages: messages.slice(-limit).map(copy),
        hasMore: messages.length > limit,
      };
    },

    async deleteThread(threadId, owner) {
      if (owned(threadId, owner) === undefined) return false;
      threads.delete(threadId);
      for (const [id, attachment] of attachments) if (attachment.threadId === threadId) attachments.delete(id);
      return true;
    },

    async listStreamingMessages(listOptions = {}) {
      const limit = listOptions.limit ?? 1000;
      const found = [];
      for (const thread of threads.values()) {
        for (const item of thread.items) {
          if (item.status !== 'streaming') continue;
          found.push({
            threadId: thread.record.id,
            messageId: item.id,
            owner: thread.owner,
            streamId: item.streamId,
            content: item.content,
            createdAt: item.createdAt,
          });
        }
      }
      return found
        .sort((left, right) => (left.createdAt < right.createdAt ? -1 : left.createdAt > right.createdAt ? 1 : 0))
        .slice(0, limit);
    },

    async loadThread(threadId, owner) {
      const thread = owned(threadId, owner);
      return thread === undefined ? undefined : copy(thread.record);
    },

    async saveThread({ id, owner, title, metadata }) {
      const existing = threads.get(id);
      if (existing !== undefined && existing.owner !== owner) throw notFound(id);
      const at = now();
      const thread = existing ?? createThread(id, owner, null, at);
      thread.record = {
        ...thread.record,
        ...(title === undefined ? {} : { title }),
        ...(metadata === undefined ? {} : { metadata: copy(metadata) as JsonObject }),
      };
      touch(thread, at);
      return copy(thread.record);
    },

    async addItem(threadId, owner, input) {
      const thread = ownedOrThrow(threadId, owner);
      if (input.id !== undefined && thread.items.some((item) => item.id === input.id)) {
        throw new StreamwellError('bad_request', `Item ${input.id} already exists.`, { status: 400 });
      }
      const at = now();
      const item = toItem(threadId, input, at);
      append(thread, item);
      touch(thread, at);
      return copy(item);
    },

    async saveItem(threadId, owner, input) {
      const thread = ownedOrThrow(threadId, owner);
      const at = now();
      const index = thread.items.findIndex((item) => item.id === input.id);
      const previous = thread.items[index];
      const item = toItem(threadId, { ...input, createdAt: input.createdAt ?? previous?.createdAt ?? at }, at);
      if (index === -1) append(thread, item);
      else thread.items[index] = item;
      touch(thread, at);
      return copy(item);
    },

    async loadItem(threadId, owner, itemId) {
      const item = owned(threadId, owner)?.items.find((candidate) => candidate.id === itemId);
      return item === undefined ? undefined : copy(item);
    },

    async deleteItem(threadId, owner, itemId) {
      const thread = owned(threadId, owner);
      const index = thread?.items.findIndex((item) => item.id === itemId) ?? -1;
      if (thread === undefined || index === -1) return false;
      thread.items.splice(index, 1);
      return true;
    },

    async loadItems(threadId, owner, loadOptions = {}): Promise<ItemPage> {
      const thread = ownedOrThrow(threadId, owner);
      const limit = pageLimit(loadOptions.limit, PAGE_LIMITS.defaultPage, PAGE_LIMITS.maxPage);
      const ordered = loadOptions.order === 'desc' ? [...thread.items].reverse() : thread.items;
      let start = 0;
      if (loadOptions.after !== undefined) {
        start = ordered.findIndex((item) => item.id === loadOptions.after) + 1;
        if (start === 0)
          throw new StreamwellError('invalid_cursor', `Unknown item ${loadOptions.after}.`, { status: 400 });
      }
      const page = ordered.slice(start, start + limit + 1);
      const items = page.slice(0, limit).map(copy);
      const hasMore = page.length > limit;
      return { items, hasMore, after: hasMore ? (items[items.length - 1]?.id ?? null) : null };
    },

    async saveAttachment(input) {
      const existing = attachments.get(input.id);
      if (existing !== undefined && existing.owner !== input.owner) throw notFound(input.id);
      const record: AttachmentRecord = {
        ...input,
        data: copy(input.data),
        createdAt: input.createdAt ?? existing?.createdAt ?? now(),
      };
      attachments.delete(input.id);
      attachments.set(input.id, record);
      if (attachments.size > maxAttachments) {
        const oldest = attachments.keys().next().value;
        if (oldest !== undefined) attachments.delete(oldest);
      }
      return copy(record);
    },

    async loadAttachment(attachmentId, owner) {
      const attachment = attachments.get(attachmentId);
      return attachment === undefined || attachment.owner !== owner ? undefined : copy(attachment);
    },

    async deleteAttachment(attachmentId, owner) {
      const attachment = attachments.get(attachmentId);
      if (attachment === undefined || attachment.owner !== owner) return false;
      attachments.delete(attachmentId);
      return true;
    },

    async close() {
      threads.clear();
      attachments.clear();
    },
  };
  return store;
}
