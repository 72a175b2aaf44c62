/**
 * The ChatKit requests answered with one JSON document: thread and item reads with the
 * reference's pagination (`threads.get_by_id` embeds the oldest 20 items, oldest first; lists
 * default to 20, newest first; `after` is the last element's id), renames and deletes, feedback,
 * attachments, dictation and non-streaming widget actions. Hidden-context items are never part
 * of an answer.
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';
import type {
  ChatKitAttachmentStore,
  ChatKitFeedbackHandler,
  ChatKitRequestContext,
  ChatKitSyncActionHandler,
  ChatKitTranscriber,
} from './chatkit-hooks.ts';
import type { ChatKitJsonRequest, ChatKitPage, ChatKitThreadItem, ChatKitThreadMetadata } from './chatkit-types.ts';
import {
  type ChatKitItemPage,
  type ChatKitStore,
  isHiddenItem,
  toClientAttachment,
  toClientThread,
} from './create-chatkit-store.ts';

/** What the JSON requests need. */
export interface OperationDependencies {
  readonly store: ChatKitStore;
  readonly owner: string | undefined;
  readonly context: ChatKitRequestContext;
  readonly createItemId: (prefix: string) => string;
  readonly attachments: ChatKitAttachmentStore | undefined;
  readonly transcribe: ChatKitTranscriber | undefined;
  readonly syncAction: ChatKitSyncActionHandler | undefined;
  readonly addFeedback: ChatKitFeedbackHandler | undefined;
}

const notFound = (what: string): StreamwellError =>
  new StreamwellError('not_found', `There is no ${what}.`, { status: 404 });

const notImplemented = (message: string): StreamwellError =>
  new StreamwellError('not_implemented', message, { status: 501 });

/** A page of items for the client: hidden items dropped after the store's page (as the reference). */
function visiblePage(page: ChatKitItemPage): ChatKitPage<ChatKitThreadItem> {
  const data = page.items.filter((item) => !isHiddenItem(item));
  return page.hasMore && page.after !== undefined
    ? { data, has_more: true, after: page.after }
    : { data, has_more: false };
}

async function loadThread(deps: OperationDependencies, threadId: string): Promise<ChatKitThreadMetadata> {
  const thread = await deps.store.loadThread(threadId, deps.owner);
  if (thread === undefined) throw notFound(`thread ${threadId}`);
  return thread;
}

/** Bytes of the attachments of a thread's user messages (metadata goes with the thread). */
async function deleteThreadFiles(deps: OperationDependencies, attachments: ChatKitAttachmentStore, threadId: string) {
  let after: string | undefined;
  for (;;) {
    const page = await deps.store.loadItems(threadId, deps.owner, { limit: 100, order: 'asc', after });
    for (const item of page.items) {
      if (item.type !== 'user_message') continue;
      for (const attachment of item.attachments) await attachments.deleteAttachment(attachment.id, deps.context);
    }
    if (!page.hasMore || page.after === undefined) return;
    after = page.after;
  }
}

/**
 * Answers a JSON request.
 *
 * @param request - the validated request
 * @param deps - store, principal and hooks
 * @returns the answer (serialized without `null` fields)
 * @throws StreamwellError `not_found` (404), `body_too_large` (413), `not_implemented` (501) when
 *   the request needs a hook that is not set up, and the store's errors
 *
 * @internal
 */
export async function runChatKitOperation(request: ChatKitJsonRequest, deps: OperationDependencies): Promise<unknown> {
  const { store, owner } = deps;
  switch (request.type) {
    case 'threads.get_by_id': {
      const thread = await loadThread(deps, request.thread_id);
      const page = await store.loadItems(thread.id, owner, { limit: 20, order: 'asc', after: undefined });
      return toClientThread(thread, visiblePage(page));
    }
    case 'threads.list': {
      const page = await store.listThreads(owner, request);
      return { ...page, data: page.data.map((thread) => toClientThread(thread)) };
    }
    case 'items.list': {
      await loadThread(deps, request.thread_id);
      return visiblePage(await store.loadItems(request.thread_id, owner, request));
    }
    case 'threads.update': {
      const thread = await loadThread(deps, request.thread_id);
      thread.title = request.title;
      await store.saveThread(thread, owner);
      return toClientThread(thread);
    }
    case 'threads.delete': {
      if (deps.attachments !== undefined && (await store.loadThread(request.thread_id, owner)) !== undefined) {
        await deleteThreadFiles(deps, deps.attachments, request.thread_id);
      }
      // Deleting a thread that is gone already is done.
      await store.threads.deleteThread(request.thread_id, owner);
      return {};
    }
    case 'items.feedback': {
      await loadThread(deps, request.thread_id);
      await deps.addFeedback?.({
        threadId: request.thread_id,
        itemIds: request.item_ids,
        kind: request.kind,
        context: deps.context,
      });
      return {};
    }
    case 'attachments.create': {
      const attachments = deps.attachments;
      if (attachments === undefined) throw notImplemented('This server takes no attachments.');
      if (request.size > attachments.maxBytes) {
        throw new StreamwellError('body_too_large', `Attachments are at most ${attachments.maxBytes} bytes.`, {
          status: 413,
        });
      }
      const attachment = await attachments.createAttachment(
        { id: deps.createItemId('atc'), name: request.name, size: request.size, mimeType: request.mime_type },
        deps.context,
      );
      await store.saveAttachment(attachment, owner);
      return toClientAttachment(attachment);
    }
    case 'attachments.delete': {
      if ((await store.loadAttachment(request.attachment_id, owner)) === undefined) {
        throw notFound(`attachment ${request.attachment_id}`);
      }
      await deps.attachments?.deleteAttachment(request.attachment_id, deps.context);
      await store.deleteAttachment(request.attachment_id, owner);
      return {};
    }
    case 'input.transcribe': {
      if (deps.transcribe === undefined) {
        throw notImplemented('Dictation is not set up on this server (the reference server: set TRANSCRIBE_MODEL).');
      }
      const result = await deps.transcribe({ data: request.audio, mimeType: request.mime_type }, deps.context);
      return { text: result.text };
    }
    case 'threads.sync_custom_action': {
      if (deps.syncAction === undefined) throw notImplemented('This server handles no widget actions.');
      const thread = await loadThread(deps, request.thread_id);
      const sender =
        request.item_id === undefined ? undefined : await store.loadItem(thread.id, owner, request.item_id);
      const updated = await deps.syncAction({
        thread,
        action: request.action,
        sender,
        context: deps.context,
        store,
        createItemId: deps.createItemId,
      });
      if (updated === undefined) return {};
      await store.saveItem(updated, owner);
      return { updated_item: updated };
    }
  }
}
