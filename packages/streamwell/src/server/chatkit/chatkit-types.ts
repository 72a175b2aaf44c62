/**
 * The ChatKit wire protocol's objects, as a self-hosted ChatKit backend sends and receives them
 * (docs/chatkit.md; the reference is chatkit-python 1.6.5's `chatkit/types.py`). Field names are
 * snake_case, as on the wire. Optional fields are omitted when absent; the encoder also drops
 * `null` fields, as the reference's "exclude none" serialization does.
 *
 * @module
 */
import type { JsonObject, JsonValue } from '../threads/thread-store.ts';

/** A thread's status: `locked` disables the composer, `closed` replaces it with a banner. */
export type ChatKitThreadStatus =
  | { readonly type: 'active' }
  | { readonly type: 'locked'; readonly reason?: string }
  | { readonly type: 'closed'; readonly reason?: string };

/** A thread as the server keeps it: the private `metadata` is never sent to a client. */
export interface ChatKitThreadMetadata {
  title?: string | undefined;
  readonly id: string;
  readonly created_at: string;
  status: ChatKitThreadStatus;
  allowed_image_domains?: readonly string[] | undefined;
  /** Integration state (e.g. a `previous_response_id`); the client always sees `{}`. */
  metadata: JsonObject;
}

/** A page of a list: `after` (the last element's id) only when `has_more`. */
export interface ChatKitPage<T> {
  readonly data: readonly T[];
  readonly has_more: boolean;
  readonly after?: string;
}

/** A thread as a client sees it. */
export interface ChatKitThread {
  readonly title?: string;
  readonly id: string;
  readonly created_at: string;
  readonly status: ChatKitThreadStatus;
  readonly allowed_image_domains?: readonly string[];
  /** Always `{}`. */
  readonly metadata: JsonObject;
  readonly items: ChatKitPage<ChatKitThreadItem>;
}

/** Where a two-phase upload goes. */
export interface ChatKitUploadDescriptor {
  readonly url: string;
  readonly method: 'POST' | 'PUT';
  readonly headers: Readonly<Record<string, string>>;
}

/** An attachment, as a client sees it. */
export interface ChatKitAttachment {
  readonly id: string;
  readonly name: string;
  readonly mime_type: string;
  /** Present only while the upload is pending. */
  readonly upload_descriptor?: ChatKitUploadDescriptor;
  /** Set once a user message that uses it is saved. */
  readonly thread_id?: string;
  readonly type: 'file' | 'image';
  /** Required for images (a URL the UI can fetch, or a `data:` URL). */
  readonly preview_url?: string;
}

/** A part of a user message. */
export type ChatKitUserContent =
  | { readonly type: 'input_text'; readonly text: string }
  | {
      readonly type: 'input_tag';
      readonly id: string;
      readonly text: string;
      readonly data: JsonObject;
      readonly group?: string;
      readonly interactive: boolean;
    };

/** Choices the composer made for a message. */
export interface ChatKitInferenceOptions {
  readonly tool_choice?: { readonly id: string };
  readonly model?: string;
}

/** A citation in assistant text. */
export interface ChatKitAnnotation {
  readonly type: 'annotation';
  readonly source: JsonObject;
  readonly index?: number;
}

/** A part of an assistant message. */
export interface ChatKitOutputText {
  readonly annotations: readonly ChatKitAnnotation[];
  readonly text: string;
  readonly type: 'output_text';
}

interface ItemBase {
  readonly id: string;
  readonly thread_id: string;
  readonly created_at: string;
}

/** The user's message. */
export interface ChatKitUserMessageItem extends ItemBase {
  readonly type: 'user_message';
  readonly content: readonly ChatKitUserContent[];
  readonly attachments: readonly ChatKitAttachment[];
  readonly quoted_text?: string;
  readonly inference_options: ChatKitInferenceOptions;
}

/** The assistant's message (Markdown). */
export interface ChatKitAssistantMessageItem extends ItemBase {
  readonly type: 'assistant_message';
  readonly content: readonly ChatKitOutputText[];
}

/** A tool the page runs (`onClientTool`); its result comes back with `threads.add_client_tool_output`. */
export interface ChatKitClientToolCallItem extends ItemBase {
  readonly type: 'client_tool_call';
  readonly status: 'pending' | 'completed';
  readonly call_id: string;
  readonly name: string;
  readonly arguments: JsonObject;
  readonly output?: JsonValue;
}

/** Context for the model that the client never sees. */
export interface ChatKitHiddenContextItem extends ItemBase {
  readonly type: 'hidden_context_item' | 'sdk_hidden_context';
  readonly content: JsonValue;
}

/** An answer to one structured input. */
export interface ChatKitStructuredAnswer {
  readonly values?: readonly string[];
  readonly skipped: boolean;
}

/** A question of a structured input item. */
export interface ChatKitStructuredInput extends JsonObject {
  readonly id: string;
  readonly question: string;
  readonly type: 'multiple_choice' | 'freeform';
}

/** Questions that take over the composer. */
export interface ChatKitStructuredInputItem extends ItemBase {
  readonly type: 'structured_input';
  readonly status: 'pending' | 'answered' | 'skipped';
  readonly inputs: readonly ChatKitStructuredInput[];
}

/** Every other item kind (widget, generated_image, workflow, task, end_of_turn), kept as JSON. */
export interface ChatKitOtherItem extends ItemBase {
  readonly type: 'widget' | 'generated_image' | 'workflow' | 'task' | 'end_of_turn';
  readonly [field: string]: JsonValue | undefined;
}

/** One item of a thread. */
export type ChatKitThreadItem =
  | ChatKitUserMessageItem
  | ChatKitAssistantMessageItem
  | ChatKitClientToolCallItem
  | ChatKitHiddenContextItem
  | ChatKitStructuredInputItem
  | ChatKitOtherItem;

/** An incremental change to an item that is streaming (`thread.item.updated`). */
export type ChatKitItemUpdate =
  | {
      readonly type: 'assistant_message.content_part.added' | 'assistant_message.content_part.done';
      readonly content_index: number;
      readonly content: ChatKitOutputText;
    }
  | {
      readonly type: 'assistant_message.content_part.text_delta';
      readonly content_index: number;
      readonly delta: string;
    }
  | {
      readonly type: 'assistant_message.content_part.annotation_added';
      readonly content_index: number;
      readonly annotation_index: number;
      readonly annotation: ChatKitAnnotation;
    }
  | {
      readonly type: 'workflow.task.added' | 'workflow.task.updated';
      readonly task_index: number;
      readonly task: JsonObject;
    }
  | {
      readonly type:
        | 'widget.streaming_text.value_delta'
        | 'widget.component.updated'
        | 'widget.root.updated'
        | 'generated_image.updated';
      readonly [field: string]: JsonValue;
    };

/** One event of a streamed response. */
export type ChatKitEvent =
  | { readonly type: 'thread.created' | 'thread.updated'; readonly thread: ChatKitThread }
  | {
      readonly type: 'thread.item.added' | 'thread.item.done' | 'thread.item.replaced';
      readonly item: ChatKitThreadItem;
    }
  | { readonly type: 'thread.item.updated'; readonly item_id: string; readonly update: ChatKitItemUpdate }
  | { readonly type: 'thread.item.removed'; readonly item_id: string }
  | { readonly type: 'stream_options'; readonly stream_options: { readonly allow_cancel: boolean } }
  | { readonly type: 'progress_update'; readonly icon?: string; readonly text: string }
  | { readonly type: 'client_effect'; readonly name: string; readonly data: JsonObject }
  | {
      readonly type: 'notice';
      readonly level: 'info' | 'warning' | 'danger';
      readonly message: string;
      readonly title?: string;
    }
  | {
      readonly type: 'error';
      readonly code: 'stream.error' | 'custom';
      readonly message?: string;
      readonly allow_retry: boolean;
    };

/** A widget or custom action (`threads.custom_action`, `threads.sync_custom_action`). */
export interface ChatKitAction {
  readonly type: string;
  readonly payload?: JsonValue;
}

/** The composer's message (`threads.create`, `threads.add_user_message`). */
export interface ChatKitUserMessageInput {
  readonly content: readonly ChatKitUserContent[];
  /** Attachment ids. */
  readonly attachments: readonly string[];
  readonly quoted_text?: string;
  readonly inference_options: ChatKitInferenceOptions;
}

/** A structured input submission (`threads.add_structured_input`). */
export interface ChatKitStructuredSubmission {
  readonly status: 'answered' | 'skipped';
  readonly answers: Readonly<Record<string, ChatKitStructuredAnswer>>;
}

/** A validated request, by `type`. */
export type ChatKitRequest =
  | { readonly type: 'threads.create'; readonly input: ChatKitUserMessageInput }
  | { readonly type: 'threads.add_user_message'; readonly thread_id: string; readonly input: ChatKitUserMessageInput }
  | { readonly type: 'threads.add_client_tool_output'; readonly thread_id: string; readonly result: JsonValue }
  | {
      readonly type: 'threads.add_structured_input';
      readonly thread_id: string;
      readonly item_id: string;
      readonly input: ChatKitStructuredSubmission;
    }
  | { readonly type: 'threads.retry_after_item'; readonly thread_id: string; readonly item_id: string }
  | ({ readonly type: 'threads.custom_action' } & ChatKitActionParams)
  | ({ readonly type: 'threads.sync_custom_action' } & ChatKitActionParams)
  | { readonly type: 'threads.get_by_id' | 'threads.delete'; readonly thread_id: string }
  | ({ readonly type: 'threads.list' } & ChatKitListParams)
  | ({ readonly type: 'items.list'; readonly thread_id: string } & ChatKitListParams)
  | { readonly type: 'threads.update'; readonly thread_id: string; readonly title: string }
  | {
      readonly type: 'items.feedback';
      readonly thread_id: string;
      readonly item_ids: readonly string[];
      readonly kind: 'positive' | 'negative';
    }
  | { readonly type: 'attachments.create'; readonly name: string; readonly size: number; readonly mime_type: string }
  | { readonly type: 'attachments.delete'; readonly attachment_id: string }
  | { readonly type: 'input.transcribe'; readonly audio: Uint8Array; readonly mime_type: string };

/** Parameters of the custom action requests. */
export interface ChatKitActionParams {
  readonly thread_id: string;
  /** The widget item that sent the action. */
  readonly item_id: string | undefined;
  readonly action: ChatKitAction;
}

/** Paging parameters of the list requests. */
export interface ChatKitListParams {
  readonly limit: number;
  readonly order: 'asc' | 'desc';
  readonly after: string | undefined;
}

/** Every request type. */
export type ChatKitRequestType = ChatKitRequest['type'];

/** The request types answered with an event stream; the others are answered with one JSON document. */
export type ChatKitStreamingType =
  | 'threads.create'
  | 'threads.add_user_message'
  | 'threads.add_client_tool_output'
  | 'threads.add_structured_input'
  | 'threads.retry_after_item'
  | 'threads.custom_action';

/** {@link ChatKitStreamingType} at run time. */
export const CHATKIT_STREAMING_TYPES: ReadonlySet<ChatKitRequestType> = new Set<ChatKitStreamingType>([
  'threads.create',
  'threads.add_user_message',
  'threads.add_client_tool_output',
  'threads.add_structured_input',
  'threads.retry_after_item',
  'threads.custom_action',
]);

/** A request answered with an event stream. */
export type ChatKitStreamingRequest = Extract<ChatKitRequest, { type: ChatKitStreamingType }>;

/** A request answered with one JSON document. */
export type ChatKitJsonRequest = Exclude<ChatKitRequest, { type: ChatKitStreamingType }>;
