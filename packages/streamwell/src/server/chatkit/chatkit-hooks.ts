/**
 * The extension points of a ChatKit backend (the hooks of the reference's `ChatKitServer`), as
 * {@link createChatKitHandler} takes them. Each has a default, so the handler works with none.
 *
 * @module
 */
import type { ChatMessage } from '../provider.ts';
import type {
  ChatKitAction,
  ChatKitAttachment,
  ChatKitEvent,
  ChatKitThreadItem,
  ChatKitThreadMetadata,
  ChatKitUserMessageItem,
} from './chatkit-types.ts';
import type { ChatKitStore } from './create-chatkit-store.ts';

/** Who asked, per request: what the HTTP layer knows. */
export interface ChatKitRequestContext {
  /** The principal of the bearer key (`undefined` when auth is off). */
  readonly principal: string | undefined;
  /** The client's `Accept-Language` (ChatKit sends its one active locale). */
  readonly locale: string | undefined;
  /**
   * A request header by lower-case name (e.g. a tenant header your page's `api.fetch` adds).
   *
   * @param name - lower-case header name
   */
  header(name: string): string | undefined;
}

/** What every streaming hook gets. */
export interface ChatKitStreamRequest {
  /** The thread; change `title`, `status`, `allowed_image_domains` or `metadata` and the client is told (`thread.updated`). */
  readonly thread: ChatKitThreadMetadata;
  readonly context: ChatKitRequestContext;
  /** The thread store, as ChatKit objects (e.g. to add a `hidden_context_item`). */
  readonly store: ChatKitStore;
  /** Aborted when the client stops the response (ChatKit's Stop closes the stream). */
  readonly signal: AbortSignal;
  /**
   * A new item id.
   *
   * @param prefix - `msg`, `tc`, `wf`, `tsk`, ... (reference/chatkit-protocol.md §3)
   */
  createItemId(prefix: string): string;
}

/** What a responder gets (`threads.create`, `add_user_message`, `add_client_tool_output`, `add_structured_input`, `retry_after_item`). */
export interface ChatKitRespondRequest extends ChatKitStreamRequest {
  /** The new user message, or null when the turn continues (a client tool's output, a structured input). */
  readonly input: ChatKitUserMessageItem | null;
  /** The thread as chat messages for a model (the newest within the handler's character budget). */
  history(): Promise<ChatMessage[]>;
  /**
   * The default reply: a streamwell run over `history` (default: {@link ChatKitRespondRequest.history})
   * with the registry's provider, as ChatKit events. Stopping the response cancels the run and its
   * upstream request.
   *
   * @param options - the messages to send instead of the thread's history
   */
  streamRun(options?: { readonly history?: readonly ChatMessage[] }): AsyncIterable<ChatKitEvent>;
}

/**
 * Produces the events of a reply. Return `request.streamRun()` for the model's reply, or your own
 * events (widgets, workflows, a mix). Throw a `ChatKitStreamError` to show an error in the thread.
 * Return an iterable that stops when asked (`return()`), or watch `request.signal`: that is
 * how Stop ends your work.
 */
export type ChatKitRespond = (request: ChatKitRespondRequest) => AsyncIterable<ChatKitEvent>;

/** What a custom action handler gets (`threads.custom_action`, `threads.sync_custom_action`). */
export interface ChatKitActionRequest extends ChatKitStreamRequest {
  readonly action: ChatKitAction;
  /** The widget item that sent it, when the action came from a widget. */
  readonly sender: ChatKitThreadItem | undefined;
}

/** Handles a widget's streaming action: the events to stream back (e.g. `widget.root.updated`, new items). */
export type ChatKitActionHandler = (request: ChatKitActionRequest) => AsyncIterable<ChatKitEvent>;

/** Handles a non-streaming action (`streaming: false`): the updated sender item, or nothing. */
export type ChatKitSyncActionHandler = (
  request: Omit<ChatKitActionRequest, 'signal'>,
) => Promise<ChatKitThreadItem | undefined> | ChatKitThreadItem | undefined;

/** Records thumbs up or down (`items.feedback`). */
export type ChatKitFeedbackHandler = (feedback: {
  readonly threadId: string;
  readonly itemIds: readonly string[];
  readonly kind: 'positive' | 'negative';
  readonly context: ChatKitRequestContext;
}) => Promise<void> | void;

/** Turns dictated audio into text (`input.transcribe`). */
export type ChatKitTranscriber = (
  audio: { readonly data: Uint8Array; readonly mimeType: string },
  context: ChatKitRequestContext,
) => Promise<{ readonly text: string }>;

/**
 * Names a thread from its first user message; undefined leaves it untitled. May be slow (e.g. a
 * model call): the reply streams meanwhile, and the title follows as `thread.updated`.
 */
export type ChatKitTitler = (request: {
  readonly thread: ChatKitThreadMetadata;
  readonly input: ChatKitUserMessageItem;
  readonly context: ChatKitRequestContext;
}) => Promise<string | undefined> | string | undefined;

/** Where attachments' bytes live (the metadata lives in the thread store). */
export interface ChatKitAttachmentStore {
  /** Largest file accepted, in bytes (`attachments.create` and the upload refuse more). */
  readonly maxBytes: number;
  /**
   * Creates an attachment awaiting its bytes: with an `upload_descriptor` (two-phase upload), and
   * a `preview_url` for images.
   */
  createAttachment(
    input: { readonly id: string; readonly name: string; readonly size: number; readonly mimeType: string },
    context: ChatKitRequestContext,
  ): Promise<ChatKitAttachment>;
  /** Deletes the bytes (the handler deletes the metadata). */
  deleteAttachment(attachmentId: string, context: ChatKitRequestContext): Promise<void>;
  /**
   * Stores an upload sent to the handler's upload URL (`{path}/attachments/{id}/upload`).
   *
   * @returns the attachment once uploaded (no `upload_descriptor`)
   */
  saveUpload?(
    attachment: ChatKitAttachment,
    bytes: Uint8Array,
    context: ChatKitRequestContext,
  ): Promise<ChatKitAttachment>;
  /** The stored bytes, for the handler's content URL (`GET {path}/attachments/{id}`). */
  readContent?(attachmentId: string): Promise<{ readonly bytes: Uint8Array; readonly mimeType: string } | undefined>;
}
