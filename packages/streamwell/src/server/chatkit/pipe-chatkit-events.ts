/**
 * The ChatKit response pipeline (the reference's `_process_events`): takes a responder's events,
 * persists what they mean, and writes what the client may see.
 *
 * - `thread.item.done` is stored (upsert) before it is sent; `removed` deletes and `replaced`
 *   saves; hidden-context items are stored and never sent;
 * - `added` and `updated` keep an in-memory copy of the item (assistant messages and workflows);
 *   an assistant message is also stored at once as `streaming` and its text is written every
 *   `checkpointEvery` deltas (so a crash loses at most that much of it; ChatKit lists leave a
 *   streaming message out, as the reference has not stored it yet);
 * - a change the responder made to the thread (title, status) is saved and sent as
 *   `thread.updated` right after the event that followed it, or at the end;
 * - an exception becomes a final `error` event: a {@link ChatKitStreamError} as it says, anything
 *   else as ChatKit's generic `stream.error` with Retry (and it is reported to `onError`);
 * - when the client stops (closes the stream), the responder is stopped at once (the run is
 *   cancelled and its upstream request aborted), each assistant message with text is saved as it
 *   was (status `cancelled`), an empty one is dropped, and an `sdk_hidden_context` item tells the
 *   model's next turn that the user cancelled; a server shutdown keeps the text as `interrupted`.
 *
 * @module
 */
import type { ThreadRecorder } from '../threads/create-thread-recorder.ts';
import type { ItemStatus } from '../threads/thread-store.ts';
import { ChatKitStreamError } from './chatkit-stream-error.ts';
import type {
  ChatKitAssistantMessageItem,
  ChatKitEvent,
  ChatKitItemUpdate,
  ChatKitOutputText,
  ChatKitThreadItem,
  ChatKitThreadMetadata,
} from './chatkit-types.ts';
import { type ChatKitStore, isHiddenItem, messageText, toClientThread } from './create-chatkit-store.ts';

/** The hidden note the reference adds when the user stops a response. */
export const CANCELLED_CONTEXT = 'The user cancelled the stream. Stop responding to the prior request.';

/** How a response ended. */
export type ChatKitOutcome = 'complete' | 'cancelled' | 'error';

/** One response's state, shared with the responder. */
export interface ChatKitStreamSession {
  readonly store: ChatKitStore;
  readonly owner: string | undefined;
  /** The thread; a responder may change `title`, `status`, `allowed_image_domains` and `metadata`. */
  readonly thread: ChatKitThreadMetadata;
  readonly recorder: ThreadRecorder;
  /** Text deltas between two writes of a streaming assistant message; 0 writes only at the end. */
  readonly checkpointEvery: number;
  readonly createItemId: (prefix: string) => string;
  readonly now: () => string;
  /** The run producing the reply, once one started (stored with its messages). */
  streamId: string | undefined;
  /** Work that may still change the thread (a slow title): awaited before the last `thread.updated`. */
  readonly settle?: Promise<unknown> | undefined;
  /** Unexpected failures (a responder's exception, a store write that failed after the response ended). */
  readonly onError: (error: unknown) => void;
}

/** Where the pipeline writes. */
export interface ChatKitEventOutput {
  write(events: readonly ChatKitEvent[]): void;
}

const STOPPED = Symbol('stopped');

type MutableItem = ChatKitThreadItem & Record<string, unknown>;

function threadState(thread: ChatKitThreadMetadata): string {
  return JSON.stringify([thread.title, thread.status, thread.allowed_image_domains, thread.metadata]);
}

function emptyPart(): ChatKitOutputText {
  return { annotations: [], text: '', type: 'output_text' };
}

/** Applies an update to the in-memory copy of a pending item (the reference's rules). */
function applyUpdate(item: MutableItem, update: ChatKitItemUpdate): void {
  if (item.type === 'assistant_message' && update.type.startsWith('assistant_message.')) {
    const content = item.content as ChatKitOutputText[];
    const index = (update as { content_index: number }).content_index;
    while (content.length <= index) content.push(emptyPart());
    const current = content[index] as ChatKitOutputText;
    if (update.type === 'assistant_message.content_part.text_delta') {
      content[index] = { ...current, text: current.text + update.delta };
    } else if (update.type === 'assistant_message.content_part.annotation_added') {
      const annotations = [...current.annotations];
      annotations.splice(Math.min(update.annotation_index, annotations.length), 0, update.annotation);
      content[index] = { ...current, annotations };
    } else if ('content' in update) {
      content[index] = update.content as ChatKitOutputText;
    }
    return;
  }
  if (item.type === 'workflow' && (update.type === 'workflow.task.added' || update.type === 'workflow.task.updated')) {
    const workflow = item.workflow as { tasks: unknown[] };
    if (update.type === 'workflow.task.added') workflow.tasks.push(update.task);
    else workflow.tasks[update.task_index] = update.task;
  }
}

/** The persistence side of one response. */
class PipelineState {
  #session: ChatKitStreamSession;
  #pending = new Map<string, MutableItem>();
  #deltas = new Map<string, number>();
  #saved: string;

  constructor(session: ChatKitStreamSession) {
    this.#session = session;
    this.#saved = threadState(session.thread);
  }

  /** Persists what an event means; resolves whether the client may see it. */
  async apply(event: ChatKitEvent): Promise<boolean> {
    const session = this.#session;
    const { store, owner, thread } = session;
    switch (event.type) {
      case 'thread.item.added': {
        const item = structuredClone(event.item) as MutableItem;
        this.#pending.set(item.id, item);
        if (item.type === 'assistant_message') {
          await store.threads.saveItem(thread.id, owner, {
            id: item.id,
            role: 'assistant',
            status: 'streaming',
            streamId: session.streamId ?? null,
            createdAt: item.created_at,
          });
        }
        return true;
      }
      case 'thread.item.updated': {
        const item = this.#pending.get(event.item_id);
        if (item !== undefined) this.#update(item, event.update);
        return true;
      }
      case 'thread.item.done':
        await store.saveItem(event.item, owner, session.streamId);
        this.#forget(event.item.id);
        return !isHiddenItem(event.item);
      case 'thread.item.removed':
        await store.deleteItem(thread.id, owner, event.item_id);
        this.#forget(event.item_id);
        return true;
      case 'thread.item.replaced':
        await store.saveItem(event.item, owner, session.streamId);
        return !isHiddenItem(event.item);
      default:
        return true;
    }
  }

  /** `thread.updated` when the thread changed since it was last saved (then saved). */
  async threadUpdate(): Promise<ChatKitEvent | undefined> {
    const state = threadState(this.#session.thread);
    if (state === this.#saved) return undefined;
    this.#saved = state;
    await this.#session.store.saveThread(this.#session.thread, this.#session.owner);
    return { type: 'thread.updated', thread: toClientThread(this.#session.thread) };
  }

  /**
   * Ends the assistant messages still pending: with text, stored with `status`; empty ones
   * dropped. Other pending items are not stored (as in the reference).
   */
  async settlePending(status: ItemStatus): Promise<void> {
    const session = this.#session;
    for (const item of this.#pending.values()) {
      if (item.type !== 'assistant_message') continue;
      const text = messageText(item as ChatKitAssistantMessageItem);
      if (text.trim() === '') await session.store.deleteItem(session.thread.id, session.owner, item.id);
      else await session.recorder.finish(session.thread.id, item.id, status, text);
    }
    this.#pending.clear();
  }

  #update(item: MutableItem, update: ChatKitItemUpdate): void {
    applyUpdate(item, update);
    const every = this.#session.checkpointEvery;
    if (update.type !== 'assistant_message.content_part.text_delta' || every <= 0) return;
    const count = (this.#deltas.get(item.id) ?? 0) + 1;
    this.#deltas.set(item.id, count);
    if (count % every === 0) {
      const text = messageText(item as ChatKitAssistantMessageItem);
      this.#session.recorder.checkpoint(this.#session.thread.id, item.id, text);
    }
  }

  #forget(itemId: string): void {
    this.#pending.delete(itemId);
    this.#deltas.delete(itemId);
  }
}

/** The `error` event of a failure. */
function errorEvent(error: unknown): ChatKitEvent {
  if (error instanceof ChatKitStreamError) {
    return error.chatkitCode === 'custom'
      ? { type: 'error', code: 'custom', message: error.message, allow_retry: error.allowRetry }
      : { type: 'error', code: 'stream.error', allow_retry: error.allowRetry };
  }
  return { type: 'error', code: 'stream.error', allow_retry: true };
}

/**
 * Runs a responder's events through persistence to the client.
 *
 * @param source - the responder's events
 * @param session - store, thread and recorder of this response
 * @param output - the event stream (writes after the client left are ignored by it)
 * @param stop - aborted when the response was stopped; its reason is the writer's close reason
 *   (`client_closed`, `slow_consumer`: the user's Stop; `shutdown`: the server's)
 * @returns how the response ended
 */
export async function pipeChatKitEvents(
  source: AsyncIterable<ChatKitEvent>,
  session: ChatKitStreamSession,
  output: ChatKitEventOutput,
  stop: AbortSignal,
): Promise<ChatKitOutcome> {
  const state = new PipelineState(session);
  const iterator = source[Symbol.asyncIterator]();
  // Stopping must reach the responder now (it cancels the run), not at its next event.
  const stopResponder = (): void => {
    Promise.resolve()
      .then(() => iterator.return?.())
      .catch(session.onError);
  };
  const stopped = new Promise<typeof STOPPED>((resolve) => {
    if (stop.aborted) resolve(STOPPED);
    else stop.addEventListener('abort', () => resolve(STOPPED), { once: true });
  });
  stop.addEventListener('abort', stopResponder, { once: true });
  try {
    while (!stop.aborted) {
      const next = iterator.next();
      // Left behind when the client stops first: its failure is nobody's to report.
      next.catch(() => {});
      const result = await Promise.race([next, stopped]);
      if (result === STOPPED || result.done === true) break;
      const events: ChatKitEvent[] = [];
      if (await state.apply(result.value)) events.push(result.value);
      const updated = await state.threadUpdate();
      if (updated !== undefined) events.push(updated);
      output.write(events);
    }
    if (stop.aborted) return await settleStopped(state, session, stop.reason);
    await session.settle;
    const updated = await state.threadUpdate();
    if (updated !== undefined) output.write([updated]);
    await state.settlePending('complete');
    return 'complete';
  } catch (error) {
    if (stop.aborted) return await settleStopped(state, session, stop.reason);
    if (!(error instanceof ChatKitStreamError)) session.onError(error);
    const events: ChatKitEvent[] = [];
    try {
      await state.settlePending('error');
      const updated = await state.threadUpdate();
      if (updated !== undefined) events.push(updated);
    } catch (storeError) {
      session.onError(storeError);
    }
    events.push(errorEvent(error));
    output.write(events);
    return 'error';
  } finally {
    stop.removeEventListener('abort', stopResponder);
  }
}

/**
 * The reference's `handle_stream_cancelled` when the client stopped the response, and the thread
 * saved (the reference loses that change). A server shutdown is no user's Stop: the partial reply
 * is kept as `interrupted` and the model is told nothing.
 */
async function settleStopped(
  state: PipelineState,
  session: ChatKitStreamSession,
  reason: unknown,
): Promise<ChatKitOutcome> {
  try {
    if (reason === 'shutdown') {
      await state.settlePending('interrupted');
      await state.threadUpdate();
      return 'cancelled';
    }
    await state.settlePending('cancelled');
    await session.store.saveItem(
      {
        id: session.createItemId('shcx'),
        thread_id: session.thread.id,
        created_at: session.now(),
        type: 'sdk_hidden_context',
        content: CANCELLED_CONTEXT,
      },
      session.owner,
      session.streamId,
    );
    await state.threadUpdate();
  } catch (error) {
    session.onError(error);
  }
  return 'cancelled';
}
