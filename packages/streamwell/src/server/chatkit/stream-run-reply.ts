/**
 * The default ChatKit reply: a streamwell run (the registry's provider, timeouts, checkpoints,
 * metrics, logs, and the Redis store when several instances share runs), its events mapped to
 * ChatKit events as they arrive:
 *
 * - text: `thread.item.added` (an assistant message, at the first token), `content_part.added`,
 *   one `text_delta` per token, then `content_part.done` and `thread.item.done` at the end;
 * - a tool call named in `clientTools`: a pending `client_tool_call` item (the page's
 *   `onClientTool` runs it); any other tool call or a handoff: a `progress_update`;
 * - the run's terminal `error` (a timeout, an upstream failure): a {@link ChatKitStreamError}
 *   with the run's message and a Retry button.
 *
 * Returning the iterator early (the client closed the stream) cancels the run at once, which
 * aborts the upstream model request.
 *
 * @module
 */
import { isStreamwellError } from '../../errors/index.ts';
import type { ErrorData, HandoffData, ToolCallData } from '../../protocol/index.ts';
import type { ChatMessage } from '../provider.ts';
import type { RunEvent, RunEventBatch, RunSubscriber } from '../run-event-log.ts';
import type { RunHandle } from '../run-handle.ts';
import type { RunRegistry } from '../run-registry.ts';
import type { JsonObject } from '../threads/thread-store.ts';
import { ChatKitStreamError } from './chatkit-stream-error.ts';
import type { ChatKitEvent, ChatKitOutputText, ChatKitThreadItem } from './chatkit-types.ts';

/** Options of {@link streamRunReply}. */
export interface RunReplyOptions {
  readonly registry: RunRegistry;
  readonly threadId: string;
  readonly owner: string | undefined;
  /** The messages for the model, ending with the newest. */
  readonly history: readonly ChatMessage[] | Promise<readonly ChatMessage[]>;
  /** Tool names the page runs itself (`onClientTool`). */
  readonly clientTools: ReadonlySet<string>;
  /** Makes item ids (`msg`, `tc` prefixes). */
  readonly createItemId: (prefix: string) => string;
  /** The clock, as ISO strings. */
  readonly now: () => string;
  /** Told the run once it started (logs, the stream id of the reply's items). */
  readonly onRun?: (run: RunHandle) => void;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

function parseArguments(text: string): JsonObject {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as JsonObject;
    return { value: value as JsonObject[string] };
  } catch {
    return { arguments: text };
  }
}

/** Maps one run's events to ChatKit events, queued for the async iterator. */
class RunReplyIterator implements AsyncIterator<ChatKitEvent>, RunSubscriber {
  #options: RunReplyOptions;
  #queue: ChatKitEvent[] = [];
  #waiter: ((result: IteratorResult<ChatKitEvent>) => void) | undefined;
  #failWaiter: ((error: unknown) => void) | undefined;
  #started: Promise<void> | undefined;
  #run: RunHandle | undefined;
  #detach: (() => void) | undefined;
  #ended = false;
  #failure: unknown;
  #message: { readonly id: string; readonly created_at: string; text: string } | undefined;

  constructor(options: RunReplyOptions) {
    this.#options = options;
  }

  async next(): Promise<IteratorResult<ChatKitEvent>> {
    this.#started ??= this.#start();
    await this.#started;
    const event = this.#queue.shift();
    if (event !== undefined) return { done: false, value: event };
    if (this.#failure !== undefined) {
      const failure = this.#failure;
      this.#failure = undefined;
      throw failure;
    }
    if (this.#ended) return DONE;
    return new Promise((resolve, reject) => {
      this.#waiter = resolve;
      this.#failWaiter = reject;
    });
  }

  /** The consumer stopped (the client closed the stream): cancel the run and its upstream call. */
  async return(): Promise<IteratorResult<ChatKitEvent>> {
    const run = this.#run;
    const wasRunning = !this.#ended;
    this.#finish();
    if (run !== undefined && wasRunning) await this.#options.registry.cancel(run.id, this.#options.owner);
    return DONE;
  }

  onEvent(event: RunEvent): void {
    this.#map(event);
    this.#wake();
  }

  onEvents(batch: RunEventBatch): void {
    for (const event of batch.events) this.#map(event);
    this.#wake();
  }

  onEvicted(): void {
    this.#fail(new ChatKitStreamError('The reply is no longer available.', { allowRetry: true }));
  }

  async #start(): Promise<void> {
    const options = this.#options;
    try {
      const history = await options.history;
      if (this.#ended) return;
      const last = history[history.length - 1];
      const started = await options.registry.start({
        message: last?.role === 'user' ? last.content : '',
        threadId: options.threadId,
        owner: options.owner,
        history,
      });
      const run = started.run;
      this.#run = run;
      options.onRun?.(run);
      // Stopped while the run was starting: it has nobody to stream to.
      if (this.#ended) {
        await options.registry.cancel(run.id, options.owner);
        return;
      }
      const attachment = options.registry.attach(run, undefined, this);
      this.#detach = attachment.detach;
      for (const event of attachment.backlog) this.#map(event);
      if (!attachment.live && !this.#ended) this.#finish();
    } catch (error) {
      // Refused before it started: busy (429), shutting down or a store outage (503), or a
      // request-level refusal. Said in the thread (with Retry when waiting may help); anything
      // else is a failure the pipeline reports as ChatKit's generic error.
      if (!isStreamwellError(error) || ((error.status ?? 500) >= 500 && error.status !== 503)) throw error;
      throw new ChatKitStreamError(error.message, {
        allowRetry: error.status === 429 || error.status === 503,
        cause: error,
      });
    }
  }

  #map(event: RunEvent): void {
    if (this.#ended) return;
    switch (event.event) {
      case 'token':
        this.#text((JSON.parse(event.json) as { token: string }).token);
        break;
      case 'tool-call':
        this.#toolCall(JSON.parse(event.json) as ToolCallData);
        break;
      case 'handoff': {
        const data = JSON.parse(event.json) as HandoffData;
        this.#queue.push({ type: 'progress_update', icon: 'agent', text: `Handing off to ${data.to}…` });
        break;
      }
      case 'done':
        // Also a cancel from elsewhere (`POST /api/streams/{id}/cancel`): the text so far is the reply.
        this.#closeMessage();
        this.#finish();
        break;
      case 'error': {
        const data = JSON.parse(event.json) as ErrorData;
        this.#fail(new ChatKitStreamError(data.error, { allowRetry: true }));
        break;
      }
      default:
        // start, checkpoint (persistence is the pipeline's), tool-result: nothing to show.
        break;
    }
  }

  #text(text: string): void {
    const options = this.#options;
    if (this.#message === undefined) {
      const message = { id: options.createItemId('msg'), created_at: options.now(), text: '' };
      this.#message = message;
      this.#queue.push(
        {
          type: 'thread.item.added',
          item: {
            id: message.id,
            thread_id: options.threadId,
            created_at: message.created_at,
            type: 'assistant_message',
            content: [],
          },
        },
        {
          type: 'thread.item.updated',
          item_id: message.id,
          update: { type: 'assistant_message.content_part.added', content_index: 0, content: part('') },
        },
      );
    }
    this.#message.text += text;
    this.#queue.push({
      type: 'thread.item.updated',
      item_id: this.#message.id,
      update: { type: 'assistant_message.content_part.text_delta', content_index: 0, delta: text },
    });
  }

  #toolCall(call: ToolCallData): void {
    const options = this.#options;
    if (!options.clientTools.has(call.name)) {
      this.#queue.push({ type: 'progress_update', icon: 'bolt', text: `Calling ${call.name}…` });
      return;
    }
    this.#closeMessage();
    const item: ChatKitThreadItem = {
      id: options.createItemId('tc'),
      thread_id: options.threadId,
      created_at: options.now(),
      type: 'client_tool_call',
      status: 'pending',
      call_id: call.callId,
      name: call.name,
      arguments: parseArguments(call.arguments),
    };
    this.#queue.push({ type: 'thread.item.done', item });
  }

  #closeMessage(): void {
    const message = this.#message;
    if (message === undefined) return;
    this.#message = undefined;
    this.#queue.push(
      {
        type: 'thread.item.updated',
        item_id: message.id,
        update: { type: 'assistant_message.content_part.done', content_index: 0, content: part(message.text) },
      },
      {
        type: 'thread.item.done',
        item: {
          id: message.id,
          thread_id: this.#options.threadId,
          created_at: message.created_at,
          type: 'assistant_message',
          content: [part(message.text)],
        },
      },
    );
  }

  #fail(error: unknown): void {
    if (this.#ended) return;
    this.#failure = error;
    this.#finish();
  }

  #finish(): void {
    this.#ended = true;
    this.#detach?.();
    this.#detach = undefined;
    this.#wake();
  }

  /** Hands the next queued event (or the end, or the failure) to a waiting `next()`. */
  #wake(): void {
    const resolve = this.#waiter;
    const reject = this.#failWaiter;
    if (resolve === undefined || reject === undefined) return;
    const event = this.#queue.shift();
    if (event === undefined && this.#failure === undefined && !this.#ended) return;
    this.#waiter = undefined;
    this.#failWaiter = undefined;
    if (event !== undefined) resolve({ done: false, value: event });
    else if (this.#failure !== undefined) {
      const failure = this.#failure;
      this.#failure = undefined;
      reject(failure);
    } else resolve(DONE);
  }
}

function part(text: string): ChatKitOutputText {
  return { annotations: [], text, type: 'output_text' };
}

/**
 * A reply produced by a streamwell run, as ChatKit events.
 *
 * @param options - registry, thread, history and mapping
 * @returns the events; iterate once
 */
export function streamRunReply(options: RunReplyOptions): AsyncIterable<ChatKitEvent> {
  return { [Symbol.asyncIterator]: () => new RunReplyIterator(options) };
}
