/**
 * ChatKit's Store on streamwell's thread store: one store for `/api/threads` and `/chatkit`.
 *
 * How ChatKit objects map onto the port:
 * - a thread's `status` and `allowed_image_domains` live under `metadata.chatkit`; the rest of
 *   `metadata` is the integration's private state (never sent to a client);
 * - user and assistant messages are items of kind `message` whose `content` is their text (what
 *   `/api/threads` and the model's history read) and whose `data` is the whole ChatKit item;
 *   messages written by `/api/stream/message` (no `data`) read as plain ChatKit messages, so one
 *   thread can be continued from either side;
 * - every other item is an item of its own kind (`hidden_context` for `hidden_context_item`) with
 *   the ChatKit item in `data`;
 * - an assistant message still `streaming` is written at checkpoints but left out of ChatKit
 *   lists (the reference does not store it until it is done); one that ended otherwise than
 *   `complete` (cancelled, failed, interrupted by a restart) reads as its stored text.
 *
 * @module
 */
import type {
  AttachmentRecord,
  ItemKind,
  JsonObject,
  JsonValue,
  ThreadItem,
  ThreadItemInput,
  ThreadRecord,
  ThreadStore,
} from '../threads/thread-store.ts';
import type {
  ChatKitAttachment,
  ChatKitPage,
  ChatKitThread,
  ChatKitThreadItem,
  ChatKitThreadMetadata,
  ChatKitThreadStatus,
} from './chatkit-types.ts';

/** Where ChatKit's own thread fields live in a thread's metadata. */
const CHATKIT_KEY = 'chatkit';

/** Item types the client never sees. */
const HIDDEN_TYPES: ReadonlySet<string> = new Set(['hidden_context_item', 'sdk_hidden_context']);

/** Store kinds of ChatKit item types (the others are stored under their own name). */
const KIND_OF_TYPE: Readonly<Record<string, ItemKind>> = {
  user_message: 'message',
  assistant_message: 'message',
  hidden_context_item: 'hidden_context',
};

/** A page of items as the store returned it, and the cursor of that page. */
export interface ChatKitItemPage {
  /** Every item of the page, hidden ones included. */
  readonly items: readonly ChatKitThreadItem[];
  readonly hasMore: boolean;
  /** The id of the page's last stored item when `hasMore`. */
  readonly after: string | undefined;
}

/** The ChatKit view of a thread store, per principal (`owner`). */
export interface ChatKitStore {
  /** The thread store underneath. */
  readonly threads: ThreadStore;
  loadThread(threadId: string, owner: string | undefined): Promise<ChatKitThreadMetadata | undefined>;
  /** Creates or updates a thread; resolves with it as stored (a new thread's `created_at` is the store's). */
  saveThread(thread: ChatKitThreadMetadata, owner: string | undefined): Promise<ChatKitThreadMetadata>;
  /** Threads by creation time, continuing after a thread id (`threads.list`). */
  listThreads(
    owner: string | undefined,
    params: { readonly limit: number; readonly order: 'asc' | 'desc'; readonly after: string | undefined },
  ): Promise<ChatKitPage<ChatKitThreadMetadata>>;
  /** Items in insertion order, hidden ones included; messages still streaming are left out. */
  loadItems(
    threadId: string,
    owner: string | undefined,
    params: { readonly limit: number; readonly order: 'asc' | 'desc'; readonly after: string | undefined },
  ): Promise<ChatKitItemPage>;
  loadItem(threadId: string, owner: string | undefined, itemId: string): Promise<ChatKitThreadItem | undefined>;
  /** Creates or replaces an item (keeping its place). */
  saveItem(item: ChatKitThreadItem, owner: string | undefined, streamId?: string): Promise<void>;
  deleteItem(threadId: string, owner: string | undefined, itemId: string): Promise<boolean>;
  saveAttachment(attachment: ChatKitAttachment, owner: string | undefined): Promise<void>;
  loadAttachment(attachmentId: string, owner: string | undefined): Promise<ChatKitAttachment | undefined>;
  deleteAttachment(attachmentId: string, owner: string | undefined): Promise<boolean>;
}

/**
 * True for the item types a client must never receive (`hidden_context_item`, `sdk_hidden_context`).
 *
 * @param item - an item
 * @returns whether it is hidden
 */
export function isHiddenItem(item: ChatKitThreadItem): boolean {
  return HIDDEN_TYPES.has(item.type);
}

/**
 * The thread as a client sees it: no private metadata.
 *
 * @param thread - the thread
 * @param items - the embedded page (`threads.get_by_id`), empty otherwise
 * @returns the client view
 */
export function toClientThread(
  thread: ChatKitThreadMetadata,
  items: ChatKitPage<ChatKitThreadItem> = { data: [], has_more: false },
): ChatKitThread {
  return {
    ...(thread.title === undefined ? {} : { title: thread.title }),
    id: thread.id,
    created_at: thread.created_at,
    status: thread.status,
    ...(thread.allowed_image_domains === undefined ? {} : { allowed_image_domains: thread.allowed_image_domains }),
    metadata: {},
    items,
  };
}

/**
 * An attachment as a client sees it: a store's private `metadata` (the reference's
 * `Attachment.metadata`) is never sent.
 *
 * @param attachment - an attachment, possibly with private fields
 * @returns the attachment without `metadata`
 */
export function toClientAttachment(attachment: ChatKitAttachment): ChatKitAttachment {
  const { metadata: _private, ...visible } = attachment as ChatKitAttachment & { metadata?: unknown };
  return visible;
}

/**
 * The text of a ChatKit message: input text and tags of a user message, output text of an
 * assistant message (what `/api/threads` shows and the model reads).
 *
 * @param item - a message item
 * @returns the text ('' for other items)
 */
export function messageText(item: ChatKitThreadItem): string {
  if (item.type === 'user_message') return item.content.map((part) => part.text).join('');
  if (item.type === 'assistant_message') return item.content.map((part) => part.text).join('');
  return '';
}

function isObject(value: JsonValue): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toMetadata(record: ThreadRecord): ChatKitThreadMetadata {
  const { [CHATKIT_KEY]: own, ...rest } = record.metadata;
  const chatkit = isObject(own ?? null) ? (own as JsonObject) : {};
  const domains = chatkit.allowed_image_domains;
  return {
    title: record.title ?? undefined,
    id: record.id,
    created_at: record.createdAt,
    status: isObject(chatkit.status ?? null) ? (chatkit.status as unknown as ChatKitThreadStatus) : { type: 'active' },
    allowed_image_domains: Array.isArray(domains) ? (domains as string[]) : undefined,
    metadata: rest,
  };
}

/** A stored item as ChatKit sees it; undefined for one it cannot read (foreign `data`). */
function toChatKitItem(row: ThreadItem): ChatKitThreadItem | undefined {
  const base = { id: row.id, thread_id: row.threadId, created_at: row.createdAt };
  const data = isObject(row.data) ? row.data : undefined;
  if (row.kind === 'message') {
    if (row.role === 'user') {
      if (data?.type === 'user_message') return { ...data, ...base } as unknown as ChatKitThreadItem;
      return {
        ...base,
        type: 'user_message',
        content: [{ type: 'input_text', text: row.content }],
        attachments: [],
        inference_options: {},
      };
    }
    // A reply that did not complete reads as the text it had (its `data`, if any, is older).
    if (data?.type === 'assistant_message' && row.status === 'complete') {
      return { ...data, ...base } as unknown as ChatKitThreadItem;
    }
    return {
      ...base,
      type: 'assistant_message',
      content: [{ annotations: [], text: row.content, type: 'output_text' }],
    };
  }
  if (data === undefined || typeof data.type !== 'string') return undefined;
  return { ...data, ...base } as unknown as ChatKitThreadItem;
}

function toItemInput(item: ChatKitThreadItem, streamId: string | undefined): ThreadItemInput & { id: string } {
  const content =
    item.type === 'sdk_hidden_context' && typeof item.content === 'string' ? item.content : messageText(item);
  return {
    id: item.id,
    role: item.type === 'user_message' ? 'user' : 'assistant',
    kind: KIND_OF_TYPE[item.type] ?? item.type,
    content,
    status: 'complete',
    ...(streamId === undefined ? {} : { streamId }),
    createdAt: item.created_at,
    data: item as unknown as JsonValue,
  };
}

function toAttachment(record: AttachmentRecord): ChatKitAttachment | undefined {
  return isObject(record.data) ? ({ ...record.data, id: record.id } as unknown as ChatKitAttachment) : undefined;
}

/**
 * Creates the ChatKit view of a thread store.
 *
 * @param threads - the thread store (the app's, shared with `/api/threads`)
 * @returns the ChatKit store
 */
export function createChatKitStore(threads: ThreadStore): ChatKitStore {
  return {
    threads,

    async loadThread(threadId, owner) {
      const record = await threads.loadThread(threadId, owner);
      return record === undefined ? undefined : toMetadata(record);
    },

    async saveThread(thread, owner) {
      const record = await threads.saveThread({
        id: thread.id,
        owner,
        title: thread.title ?? null,
        metadata: {
          ...thread.metadata,
          [CHATKIT_KEY]: {
            status: thread.status as unknown as JsonValue,
            ...(thread.allowed_image_domains === undefined
              ? {}
              : { allowed_image_domains: [...thread.allowed_image_domains] }),
          },
        },
      });
      return toMetadata(record);
    },

    async listThreads(owner, params) {
      const page = await threads.listThreads(owner, { ...params, orderBy: 'createdAt' });
      const records = await Promise.all(page.threads.map((summary) => threads.loadThread(summary.id, owner)));
      const data = records.filter((record) => record !== undefined).map(toMetadata);
      const last = page.threads[page.threads.length - 1];
      return page.nextCursor !== null && last !== undefined
        ? { data, has_more: true, after: last.id }
        : { data, has_more: false };
    },

    async loadItems(threadId, owner, params) {
      const page = await threads.loadItems(threadId, owner, params);
      const items: ChatKitThreadItem[] = [];
      for (const row of page.items) {
        if (row.status === 'streaming') continue;
        const item = toChatKitItem(row);
        if (item !== undefined) items.push(item);
      }
      return { items, hasMore: page.hasMore, after: page.after ?? undefined };
    },

    async loadItem(threadId, owner, itemId) {
      const row = await threads.loadItem(threadId, owner, itemId);
      return row === undefined ? undefined : toChatKitItem(row);
    },

    async saveItem(item, owner, streamId) {
      await threads.saveItem(item.thread_id, owner, toItemInput(item, streamId));
    },

    deleteItem: (threadId, owner, itemId) => threads.deleteItem(threadId, owner, itemId),

    async saveAttachment(attachment, owner) {
      await threads.saveAttachment({
        id: attachment.id,
        owner,
        threadId: attachment.thread_id ?? null,
        name: attachment.name,
        mimeType: attachment.mime_type,
        data: attachment as unknown as JsonValue,
      });
    },

    async loadAttachment(attachmentId, owner) {
      const record = await threads.loadAttachment(attachmentId, owner);
      return record === undefined ? undefined : toAttachment(record);
    },

    deleteAttachment: (attachmentId, owner) => threads.deleteAttachment(attachmentId, owner),
  };
}
