/**
 * The thread store port: conversations (threads), their items (user and assistant messages, and
 * the other item kinds ChatKit stores) and attachment metadata, durable or in memory. Every method
 * is async; implementations are {@link createMemoryThreadStore} and {@link createSqlThreadStore}
 * (SQLite or PostgreSQL, one code path).
 *
 * Ownership: every thread has an owner, the principal that created it (`undefined` when auth is
 * off: the one anonymous principal). Another principal's thread does not exist for a caller: reads
 * answer `undefined`, writes throw `not_found`, so thread ids never leak across principals.
 *
 * Times are ISO 8601 strings in UTC with milliseconds (`2026-12-01T10:00:00.000Z`).
 *
 * @module
 */
import type { ChatMessage } from '../provider.ts';

/** A JSON value, as stored in `metadata` and `data` columns. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** A JSON object. */
export type JsonObject = { readonly [key: string]: JsonValue };

/** Who wrote an item: the user, or the server's side (the model, tools, widgets). */
export type ItemRole = 'user' | 'assistant';

/**
 * The state of an item. User messages are `complete`. An assistant message is `streaming` from
 * the start of its run until the run ends: `complete` (done), `cancelled` (stopped; the partial
 * text is kept), `error` (failed), or `interrupted` (the run was lost, e.g. the process died; the
 * text is what the last checkpoint wrote).
 */
export type ItemStatus = 'complete' | 'streaming' | 'cancelled' | 'error' | 'interrupted';

/** Every {@link ItemStatus}, for validation. */
export const ITEM_STATUSES: readonly ItemStatus[] = ['complete', 'streaming', 'cancelled', 'error', 'interrupted'];

/**
 * What an item is. `message` is a chat message (its text in `content`); the others are ChatKit's
 * item types, whose whole object lives in `data`. Any other string is allowed for an
 * integration's own kinds.
 */
export type ItemKind =
  | 'message'
  | 'hidden_context'
  | 'sdk_hidden_context'
  | 'client_tool_call'
  | 'widget'
  | 'generated_image'
  | 'structured_input'
  | 'task'
  | 'workflow'
  | 'end_of_turn'
  | (string & {});

/** A thread in a list. */
export interface ThreadSummary {
  readonly id: string;
  /** From the first user message (trimmed to 80 characters), or set by `saveThread`; null until known. */
  readonly title: string | null;
  readonly createdAt: string;
  /** Changes with every new item and every write of a streaming message. */
  readonly updatedAt: string;
}

/** A thread with its private metadata (never sent to a browser by the reference server). */
export interface ThreadRecord extends ThreadSummary {
  /** Integration state, e.g. ChatKit's thread status or a `previous_response_id`. */
  readonly metadata: JsonObject;
}

/** One item of a thread. */
export interface ThreadItem {
  readonly id: string;
  readonly threadId: string;
  readonly role: ItemRole;
  readonly kind: ItemKind;
  /** The text of a message ('' for other kinds, and for an assistant message before its first checkpoint). */
  readonly content: string;
  readonly status: ItemStatus;
  /** The stream (run) that produced this item, or whose turn it started; null when none. */
  readonly streamId: string | null;
  readonly createdAt: string;
  /** The item's own JSON (a ChatKit item object, tool call arguments, ...); null for plain messages. */
  readonly data: JsonValue;
}

/** An item to add or save. Omitted fields take the defaults shown. */
export interface ThreadItemInput {
  /** @defaultValue a new random id (`msg_...`) */
  readonly id?: string;
  readonly role: ItemRole;
  /** @defaultValue 'message' */
  readonly kind?: ItemKind;
  /** @defaultValue '' */
  readonly content?: string;
  /** @defaultValue 'complete' */
  readonly status?: ItemStatus;
  /** @defaultValue null */
  readonly streamId?: string | null;
  /** @defaultValue now */
  readonly createdAt?: string;
  /** @defaultValue null */
  readonly data?: JsonValue;
}

/** A thread with its newest messages. */
export interface ThreadWithMessages extends ThreadSummary {
  /** Items of kind `message`, oldest first: at most `limit` of the newest. */
  readonly messages: readonly ThreadItem[];
  /** True when older messages were left out (read them with `loadItems`). */
  readonly hasMore: boolean;
}

/** Arguments of {@link ThreadStore.beginTurn}. */
export interface BeginTurnRequest {
  /** The thread; created when it does not exist. */
  readonly threadId: string;
  /** The caller; `undefined` when auth is off. */
  readonly owner: string | undefined;
  /** The new user message. */
  readonly message: string;
  /** The stream (run) that will write the reply. */
  readonly streamId: string;
}

/** What {@link ThreadStore.beginTurn} returns. */
export interface BeginTurn {
  /**
   * The history for the model, ending with the new user message: the newest earlier messages
   * that fit in `maxHistoryChars` (messages still streaming and empty ones are left out).
   */
  readonly history: readonly ChatMessage[];
  readonly userMessageId: string;
  /** The assistant message, stored empty with status `streaming`: write it with `updateMessage`. */
  readonly assistantMessageId: string;
  /** True when this call created the thread. */
  readonly threadCreated: boolean;
}

/** Arguments of {@link ThreadStore.updateMessage}. */
export interface UpdateMessageRequest {
  readonly threadId: string;
  readonly messageId: string;
  /** The whole text so far (not a delta). */
  readonly content: string;
  /** `streaming` for a checkpoint, a final status at the end. */
  readonly status: ItemStatus;
}

/** A page of threads. */
export interface ThreadPage {
  readonly threads: readonly ThreadSummary[];
  /** Pass as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

/** Options of {@link ThreadStore.listThreads}. */
export interface ListThreadsOptions {
  /** @defaultValue 20 (at most 100) */
  readonly limit?: number;
  /** A `nextCursor` from the previous page. */
  readonly cursor?: string | undefined;
  /** By `updatedAt`: `desc` is newest first. @defaultValue 'desc' */
  readonly order?: 'asc' | 'desc';
}

/** Options of {@link ThreadStore.loadItems}. */
export interface LoadItemsOptions {
  /** The id of the last item of the previous page (ChatKit's `after`). */
  readonly after?: string | undefined;
  /** @defaultValue 20 (at most 100) */
  readonly limit?: number;
  /** In insertion order: `asc` is oldest first. @defaultValue 'asc' */
  readonly order?: 'asc' | 'desc';
}

/** A page of items (ChatKit's `Page`). */
export interface ItemPage {
  readonly items: readonly ThreadItem[];
  readonly hasMore: boolean;
  /** The id of the last item when `hasMore`, else null. */
  readonly after: string | null;
}

/** An assistant message still marked `streaming` (for recovery after a restart). */
export interface StreamingMessage {
  readonly threadId: string;
  readonly messageId: string;
  readonly owner: string | undefined;
  readonly streamId: string | null;
  readonly content: string;
  readonly createdAt: string;
}

/** Attachment metadata (ChatKit's attachment object lives in `data`; the bytes live elsewhere). */
export interface AttachmentRecord {
  readonly id: string;
  readonly owner: string | undefined;
  /** Set once a message that uses it is saved. */
  readonly threadId: string | null;
  readonly name: string;
  readonly mimeType: string;
  readonly data: JsonValue;
  readonly createdAt: string;
}

/** The attachment to save; `createdAt` defaults to now. */
export type AttachmentInput = Omit<AttachmentRecord, 'createdAt'> & { readonly createdAt?: string };

/** Arguments of {@link ThreadStore.saveThread}. */
export interface SaveThreadRequest {
  readonly id: string;
  readonly owner: string | undefined;
  /** Omitted: unchanged (null for a new thread). */
  readonly title?: string | null;
  /** Omitted: unchanged (`{}` for a new thread). */
  readonly metadata?: JsonObject;
}

/** Options of {@link ThreadStore.getThread}. */
export interface GetThreadOptions {
  /** Most messages returned (the newest). @defaultValue 500 (at most 1000) */
  readonly limit?: number;
}

/**
 * Durable conversations. Every method may throw `StreamwellError` `store_unavailable` (503,
 * retryable) when the database cannot be reached; the store recovers by itself when it returns.
 */
export interface ThreadStore {
  /** `memory`, `sqlite` or `postgres`. */
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  /**
   * Starts a turn in one transaction: checks ownership, creates the thread when missing (titled
   * from the message), stores the user message (`complete`) and an empty assistant message
   * (`streaming`, with `streamId`), and returns the history to send to the model.
   *
   * @throws StreamwellError `not_found` (404) when the thread belongs to another principal
   */
  beginTurn(request: BeginTurnRequest): Promise<BeginTurn>;
  /**
   * Writes a message's text and status, and bumps its thread's `updatedAt`. Only a message that
   * is still `streaming` changes: a final status is final, so a late checkpoint can never undo it.
   *
   * @returns false when the message does not exist or has already ended
   */
  updateMessage(request: UpdateMessageRequest): Promise<boolean>;
  /** The owner's threads, by `updatedAt` (newest first by default), with a keyset cursor. */
  listThreads(owner: string | undefined, options?: ListThreadsOptions): Promise<ThreadPage>;
  /** A thread and its newest messages, or undefined (also for another principal's thread). */
  getThread(
    threadId: string,
    owner: string | undefined,
    options?: GetThreadOptions,
  ): Promise<ThreadWithMessages | undefined>;
  /** Deletes a thread, its items and its attachments' metadata. @returns false when there was no such thread of `owner` */
  deleteThread(threadId: string, owner: string | undefined): Promise<boolean>;
  /** Assistant messages still `streaming`, oldest first: after a restart, those whose run is gone are `interrupted`. */
  listStreamingMessages(options?: { readonly limit?: number }): Promise<readonly StreamingMessage[]>;

  /** A thread with its metadata, or undefined. */
  loadThread(threadId: string, owner: string | undefined): Promise<ThreadRecord | undefined>;
  /**
   * Creates or updates a thread's title and metadata.
   *
   * @throws StreamwellError `not_found` when the id belongs to another principal
   */
  saveThread(request: SaveThreadRequest): Promise<ThreadRecord>;
  /**
   * Appends an item; bumps the thread's `updatedAt`.
   *
   * @throws StreamwellError `not_found` when the thread is not the owner's, `bad_request` when the id exists
   */
  addItem(threadId: string, owner: string | undefined, item: ThreadItemInput): Promise<ThreadItem>;
  /**
   * Replaces an item by id (keeping its place), or appends it when new.
   *
   * @throws StreamwellError `not_found` when the thread is not the owner's
   */
  saveItem(
    threadId: string,
    owner: string | undefined,
    item: ThreadItemInput & { readonly id: string },
  ): Promise<ThreadItem>;
  /** One item, or undefined. */
  loadItem(threadId: string, owner: string | undefined, itemId: string): Promise<ThreadItem | undefined>;
  /** @returns false when there was no such item */
  deleteItem(threadId: string, owner: string | undefined, itemId: string): Promise<boolean>;
  /**
   * Items of every kind in insertion order, paginated by item id.
   *
   * @throws StreamwellError `not_found` when the thread is not the owner's, `invalid_cursor` for an unknown `after`
   */
  loadItems(threadId: string, owner: string | undefined, options?: LoadItemsOptions): Promise<ItemPage>;
  /** Creates or replaces attachment metadata. @throws StreamwellError `not_found` when the id is another principal's */
  saveAttachment(attachment: AttachmentInput): Promise<AttachmentRecord>;
  /** Attachment metadata, or undefined. */
  loadAttachment(attachmentId: string, owner: string | undefined): Promise<AttachmentRecord | undefined>;
  /** @returns false when there was no such attachment */
  deleteAttachment(attachmentId: string, owner: string | undefined): Promise<boolean>;
  /** Releases connections; the store cannot be used afterwards. Idempotent. */
  close(): Promise<void>;
}

/** Options every thread store takes. */
export interface ThreadStoreCommonOptions {
  /**
   * Most characters of history `beginTurn` returns (the new message included); older messages
   * are left out. @defaultValue 32000
   */
  readonly maxHistoryChars?: number;
  /** Most earlier messages `beginTurn` reads for the history. @defaultValue 200 */
  readonly maxHistoryMessages?: number;
  /** The clock (tests pass a fake one). @defaultValue `() => new Date()` */
  readonly now?: () => Date;
}
