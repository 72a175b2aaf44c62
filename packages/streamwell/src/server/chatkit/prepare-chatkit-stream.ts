/**
 * The work a streaming ChatKit request does before its response starts, per request type, as
 * the reference does it: create or load the thread, store the user message (with its
 * attachments stamped), complete a pending client tool call, answer a structured input, drop the
 * items after a retried message, find a custom action's sender. The result says which events
 * come before `stream_options`, which after it, and which hook produces the rest.
 *
 * A request that names something the thread does not have (a thread, an item, a pending tool
 * call) is answered, as the protocol note recommends, with a stream of one `error` event
 * ({@link ChatKitStreamError}), not a broken stream.
 *
 * @module
 */
import type { ChatKitRequestContext } from './chatkit-hooks.ts';
import { ChatKitStreamError } from './chatkit-stream-error.ts';
import type {
  ChatKitAttachment,
  ChatKitEvent,
  ChatKitRequest,
  ChatKitStreamingRequest,
  ChatKitStructuredInputItem,
  ChatKitStructuredSubmission,
  ChatKitThreadItem,
  ChatKitThreadMetadata,
  ChatKitUserMessageInput,
  ChatKitUserMessageItem,
} from './chatkit-types.ts';
import { type ChatKitStore, toClientAttachment, toClientThread } from './create-chatkit-store.ts';

/** What a streaming request prepared. */
export interface PreparedChatKitStream {
  readonly thread: ChatKitThreadMetadata;
  /** Events before `stream_options` (`thread.created`, the user message). */
  readonly before: readonly ChatKitEvent[];
  /** Events right after `stream_options` (the answered structured input). */
  readonly after: readonly ChatKitEvent[];
  /** Who produces the rest: the responder (with its input), or the custom action handler. */
  readonly producer:
    | { readonly kind: 'respond'; readonly input: ChatKitUserMessageItem | null }
    | {
        readonly kind: 'action';
        readonly request: Extract<ChatKitRequest, { type: 'threads.custom_action' }>;
        readonly sender: ChatKitThreadItem | undefined;
      };
}

/** What preparing needs. */
export interface PrepareDependencies {
  readonly store: ChatKitStore;
  readonly owner: string | undefined;
  readonly context: ChatKitRequestContext;
  readonly createItemId: (prefix: string) => string;
  readonly now: () => string;
}

const refuse = (message: string): ChatKitStreamError => new ChatKitStreamError(message, { allowRetry: false });

async function loadThread(deps: PrepareDependencies, threadId: string): Promise<ChatKitThreadMetadata> {
  const thread = await deps.store.loadThread(threadId, deps.owner);
  if (thread === undefined) throw refuse(`There is no thread ${threadId}.`);
  return thread;
}

/** The message's attachments, all of which must exist (checked before anything is written). */
async function loadAttachments(
  deps: PrepareDependencies,
  input: ChatKitUserMessageInput,
): Promise<ChatKitAttachment[]> {
  const attachments = [];
  for (const attachmentId of input.attachments) {
    const attachment = await deps.store.loadAttachment(attachmentId, deps.owner);
    if (attachment === undefined) throw refuse(`There is no attachment ${attachmentId}.`);
    attachments.push(attachment);
  }
  return attachments;
}

/** Builds and stores the user message; each attachment is stamped with the thread and saved. */
async function addUserMessage(
  deps: PrepareDependencies,
  thread: ChatKitThreadMetadata,
  input: ChatKitUserMessageInput,
  loaded: readonly ChatKitAttachment[],
): Promise<ChatKitUserMessageItem> {
  const attachments = [];
  for (const attachment of loaded) {
    const { upload_descriptor: _pending, ...uploaded } = attachment;
    const stamped = { ...uploaded, thread_id: thread.id };
    await deps.store.saveAttachment(stamped, deps.owner);
    attachments.push(toClientAttachment(stamped));
  }
  const item: ChatKitUserMessageItem = {
    id: deps.createItemId('msg'),
    thread_id: thread.id,
    created_at: deps.now(),
    type: 'user_message',
    content: input.content,
    attachments,
    ...(input.quoted_text === undefined ? {} : { quoted_text: input.quoted_text }),
    inference_options: input.inference_options,
  };
  await deps.store.saveItem(item, deps.owner);
  return item;
}

/** The newest pending client tool call (among the newest 20 items) gets the output; older pending ones go. */
async function completeToolCall(
  deps: PrepareDependencies,
  thread: ChatKitThreadMetadata,
  result: unknown,
): Promise<void> {
  const page = await deps.store.loadItems(thread.id, deps.owner, { limit: 20, order: 'desc', after: undefined });
  const pending = page.items.filter((item) => item.type === 'client_tool_call' && item.status === 'pending');
  const [newest, ...older] = pending;
  if (newest === undefined) throw refuse('This thread has no client tool call waiting for its output.');
  await deps.store.saveItem({ ...newest, status: 'completed', output: result } as ChatKitThreadItem, deps.owner);
  for (const stale of older) await deps.store.deleteItem(thread.id, deps.owner, stale.id);
}

/** The reference's answer rules: missing, skipped or empty is skipped; single choice keeps one value. */
function answerInputs(
  item: ChatKitStructuredInputItem,
  submission: ChatKitStructuredSubmission,
): ChatKitStructuredInputItem {
  const inputs = item.inputs.map((input) => {
    const answer = submission.answers[input.id];
    const values = answer?.values ?? [];
    if (answer === undefined || answer.skipped || values.length === 0) return { ...input, answer: { skipped: true } };
    const single = input.type === 'multiple_choice' && input.multiple !== true;
    return { ...input, answer: { values: single ? values.slice(0, 1) : [...values], skipped: false } };
  });
  return { ...item, status: submission.status, inputs };
}

/** Walks newest first to the retried user message, deleting every newer item (no events: the UI drops them). */
async function retryFrom(
  deps: PrepareDependencies,
  thread: ChatKitThreadMetadata,
  itemId: string,
): Promise<ChatKitUserMessageItem> {
  const newer: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await deps.store.loadItems(thread.id, deps.owner, { limit: 100, order: 'desc', after });
    for (const item of page.items) {
      if (item.id !== itemId) {
        newer.push(item.id);
        continue;
      }
      if (item.type !== 'user_message') throw refuse('Only a user message can be retried.');
      for (const id of newer) await deps.store.deleteItem(thread.id, deps.owner, id);
      return item;
    }
    if (!page.hasMore || page.after === undefined) throw refuse(`There is no item ${itemId} in this thread.`);
    after = page.after;
  }
}

/**
 * Does a streaming request's work before its response.
 *
 * @param request - the validated request
 * @param deps - store, principal and id makers
 * @returns the thread, the opening events and the producer of the rest
 * @throws ChatKitStreamError when the request names something that is not there (answer it as
 *   an `error` event); StreamwellError `store_unavailable` and the like (answer them over HTTP)
 *
 * @internal
 */
export async function prepareChatKitStream(
  request: ChatKitStreamingRequest,
  deps: PrepareDependencies,
): Promise<PreparedChatKitStream> {
  switch (request.type) {
    case 'threads.create': {
      // An unknown attachment refuses the request before an empty thread is left behind.
      const attachments = await loadAttachments(deps, request.input);
      const thread = await deps.store.saveThread(
        { id: deps.createItemId('thr'), created_at: deps.now(), status: { type: 'active' }, metadata: {} },
        deps.owner,
      );
      const input = await addUserMessage(deps, thread, request.input, attachments);
      return {
        thread,
        before: [
          { type: 'thread.created', thread: toClientThread(thread) },
          { type: 'thread.item.done', item: input },
        ],
        after: [],
        producer: { kind: 'respond', input },
      };
    }
    case 'threads.add_user_message': {
      const thread = await loadThread(deps, request.thread_id);
      const input = await addUserMessage(deps, thread, request.input, await loadAttachments(deps, request.input));
      return {
        thread,
        before: [{ type: 'thread.item.done', item: input }],
        after: [],
        producer: { kind: 'respond', input },
      };
    }
    case 'threads.add_client_tool_output': {
      const thread = await loadThread(deps, request.thread_id);
      await completeToolCall(deps, thread, request.result);
      return { thread, before: [], after: [], producer: { kind: 'respond', input: null } };
    }
    case 'threads.add_structured_input': {
      const thread = await loadThread(deps, request.thread_id);
      const item = await deps.store.loadItem(thread.id, deps.owner, request.item_id);
      if (item?.type !== 'structured_input' || item.status !== 'pending') {
        throw refuse('That item is not a structured input waiting for an answer.');
      }
      const answered = answerInputs(item, request.input);
      await deps.store.saveItem(answered, deps.owner);
      return {
        thread,
        before: [],
        after: [{ type: 'thread.item.replaced', item: answered }],
        producer: { kind: 'respond', input: null },
      };
    }
    case 'threads.retry_after_item': {
      const thread = await loadThread(deps, request.thread_id);
      const input = await retryFrom(deps, thread, request.item_id);
      return { thread, before: [], after: [], producer: { kind: 'respond', input } };
    }
    case 'threads.custom_action': {
      const thread = await loadThread(deps, request.thread_id);
      let sender: ChatKitThreadItem | undefined;
      if (request.item_id !== undefined) {
        sender = await deps.store.loadItem(thread.id, deps.owner, request.item_id);
        // The reference answers a sender that is not a widget with its generic error, no retry.
        if (sender?.type !== 'widget')
          throw new ChatKitStreamError('The action did not come from a widget.', {
            code: 'stream.error',
            allowRetry: false,
          });
      }
      return { thread, before: [], after: [], producer: { kind: 'action', request, sender } };
    }
  }
}
