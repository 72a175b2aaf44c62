/**
 * Wires one streamed ChatKit response: the hook that produces its events (the responder, or the
 * custom action handler), the request object the hook gets, the automatic title, and the session
 * the pipeline persists with. Runs the hooks start are tracked, so that Stop cancels them even
 * when a hook wraps `streamRun()` in a generator of its own (a generator only sees `return()` at
 * its next `yield`, which a stalled model may never reach).
 *
 * @module
 */
import type { RunHandle } from '../run-handle.ts';
import type { RunRegistry } from '../run-registry.ts';
import type { ThreadRecorder } from '../threads/create-thread-recorder.ts';
import { loadChatKitHistory } from './chatkit-history.ts';
import type {
  ChatKitActionHandler,
  ChatKitRequestContext,
  ChatKitRespond,
  ChatKitRespondRequest,
  ChatKitStreamRequest,
  ChatKitTitler,
} from './chatkit-hooks.ts';
import type { ChatKitEvent } from './chatkit-types.ts';
import type { ChatKitStore } from './create-chatkit-store.ts';
import type { ChatKitStreamSession } from './pipe-chatkit-events.ts';
import type { PreparedChatKitStream } from './prepare-chatkit-stream.ts';
import { streamRunReply } from './stream-run-reply.ts';

/** What every response of a handler shares. */
export interface ResponderOptions {
  readonly registry: RunRegistry;
  readonly store: ChatKitStore;
  readonly respond: ChatKitRespond | undefined;
  readonly action: ChatKitActionHandler | undefined;
  readonly clientTools: readonly string[] | undefined;
  readonly maxHistoryChars: number | undefined;
  readonly titler: ChatKitTitler | false;
  readonly recorder: ThreadRecorder;
  readonly checkpointEvery: number;
  readonly createId: (prefix: string) => string;
  readonly now: () => string;
  readonly onRunStart: ((run: RunHandle) => void) | undefined;
  readonly onError: (error: unknown) => void;
}

/** One response's events and the session they are persisted with. */
export interface ChatKitResponse {
  readonly source: AsyncIterable<ChatKitEvent>;
  readonly session: ChatKitStreamSession;
}

const defaultRespond: ChatKitRespond = (request) => request.streamRun();

/**
 * Creates the function that starts each response's producer.
 *
 * @param options - registry, store, hooks
 * @returns for a prepared request, its event source and session
 *
 * @internal
 */
export function createChatKitResponder(
  options: ResponderOptions,
): (
  prepared: PreparedChatKitStream,
  request: { readonly owner: string | undefined; readonly context: ChatKitRequestContext; readonly stop: AbortSignal },
) => ChatKitResponse {
  const { registry, store } = options;
  const respond = options.respond ?? defaultRespond;
  const clientTools = new Set(options.clientTools ?? []);

  return (prepared, { owner, context, stop }) => {
    const thread = prepared.thread;
    const runs = new Set<RunHandle>();
    let settle: Promise<unknown> | undefined;
    const cancel = (run: RunHandle): void => {
      Promise.resolve(registry.cancel(run.id, owner)).catch(options.onError);
    };
    stop.addEventListener('abort', () => runs.forEach(cancel), { once: true });

    const session: ChatKitStreamSession = {
      store,
      owner,
      thread,
      recorder: options.recorder,
      checkpointEvery: options.checkpointEvery,
      createItemId: options.createId,
      now: options.now,
      streamId: undefined,
      get settle() {
        return settle;
      },
      onError: options.onError,
    };
    const base: ChatKitStreamRequest = { thread, context, store, signal: stop, createItemId: options.createId };
    const history = () => loadChatKitHistory(store, thread.id, owner, { maxChars: options.maxHistoryChars ?? 32_000 });

    let produce: () => AsyncIterable<ChatKitEvent>;
    if (prepared.producer.kind === 'action') {
      const { request, sender } = prepared.producer;
      const action = options.action as ChatKitActionHandler;
      produce = () => action({ ...base, action: request.action, sender });
    } else {
      const input = prepared.producer.input;
      const request: ChatKitRespondRequest = {
        ...base,
        input,
        history,
        streamRun: (runOptions) =>
          streamRunReply({
            registry,
            threadId: thread.id,
            owner,
            history: runOptions?.history ?? history(),
            clientTools,
            createItemId: options.createId,
            now: options.now,
            onRun(run) {
              session.streamId ??= run.id;
              runs.add(run);
              if (stop.aborted) cancel(run);
              options.onRunStart?.(run);
            },
          }),
      };
      produce = () => {
        // Named when the response starts (after the pipeline took its snapshot), so the title
        // reaches the client as `thread.updated` after the next event.
        const titler = options.titler;
        if (input !== null && thread.title === undefined && titler !== false) {
          const title = titler({ thread, input, context });
          if (title instanceof Promise) {
            settle = title.then((value) => {
              if (value !== undefined && thread.title === undefined) thread.title = value;
            }, options.onError);
          } else if (title !== undefined) thread.title = title;
        }
        return respond(request);
      };
    }
    // The producer starts when the pipeline starts iterating.
    return { source: { [Symbol.asyncIterator]: () => produce()[Symbol.asyncIterator]() }, session };
  };
}
