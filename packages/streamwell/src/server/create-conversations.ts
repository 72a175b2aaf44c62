/**
 * Durable conversations around any run registry: each new message is written to a
 * {@link ThreadStore} before any of its reply reaches the client (the ownership check, the user
 * message and an empty assistant message, one transaction; on a thread the client names, before
 * the model is called; on a new thread, while the model's request is on its way), the assistant
 * message is written at every checkpoint and at the end of its run (through a
 * {@link ThreadRecorder}: never on the per-token path, never making a stream wait), and after a
 * restart a message whose run is gone is marked `interrupted` with the text it had.
 *
 * The registry does not know about the store: {@link Conversations.wrap} decorates its `start`,
 * and {@link Conversations.observer} goes into the registry's observer, so the same wrapper
 * serves the in-process registry and the Redis one.
 *
 * @module
 */
import { decorateRegistry } from './decorate-registry.ts';
import type { ChatMessage } from './provider.ts';
import type { Run, RunObserver, RunStatus, RunSummary } from './run.ts';
import { createStreamId, type RunRegistry, type StartRequest, type StartResult } from './run-registry.ts';
import { createThreadRecorder, type ThreadRecorder } from './threads/create-thread-recorder.ts';
import type { ItemStatus, ThreadStore } from './threads/thread-store.ts';

/** Options of {@link createConversations}. */
export interface ConversationsOptions {
  /** Where threads and messages are kept. */
  readonly store: ThreadStore;
  /** A write that failed (logs); never thrown. */
  readonly onError?: (error: unknown, context: string) => void;
  /**
   * Least time between two checkpoint writes of one message (see the thread recorder): a fast
   * reply's checkpoints in between only replace the text waiting to be written. @defaultValue 0
   */
  readonly minCheckpointIntervalMs?: number;
}

/** What {@link createConversations} returns. */
export interface Conversations {
  /** The store. */
  readonly store: ThreadStore;
  /** Pass to the run registry (merged with any other observer): checkpoint and end writes. */
  readonly observer: Required<Pick<RunObserver, 'onCheckpoint' | 'onEnd'>>;
  /**
   * The registry with conversations: a start without `history` writes its turn before it
   * answers (and is refused when the thread belongs to another principal, before any model call,
   * or when the store is down: on a thread the client named, before any model call; on a new
   * thread, whose model request left at once, by cancelling the run); a repeated
   * `Idempotency-Key` writes nothing.
   */
  wrap(registry: RunRegistry): RunRegistry;
  /**
   * Marks messages still `streaming` whose run is not alive as `interrupted` (after a restart).
   *
   * @param isRunAlive - whether a stream's run is still running somewhere (Redis) or here
   * @returns how many messages were marked
   */
  recover(isRunAlive: (streamId: string) => Promise<boolean>): Promise<number>;
  /** Waits for pending writes (shutdown, before closing the store). */
  drain(): Promise<void>;
}

/**
 * Resolves in the next event-loop turn's check phase (after the I/O of this one). The core also
 * runs behind fetch-style servers; where a runtime has no `setImmediate`, a zero timer is the
 * nearest turn.
 */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}

interface Turn {
  readonly threadId: string;
  readonly messageId: string;
}

/**
 * The stored status of an assistant message whose run ended with `status`.
 *
 * @param status - the run's final status
 * @returns the message status
 */
export function messageStatusOf(status: Exclude<RunStatus, 'running'>): ItemStatus {
  if (status === 'complete') return 'complete';
  if (status === 'cancelled') return 'cancelled';
  return 'error';
}

/**
 * Creates the conversations layer over a store.
 *
 * @param options - the store and error reporting
 * @returns the layer
 * @example
 * const conversations = createConversations({ store: await createSqlThreadStore({ url }) });
 * const registry = conversations.wrap(createRunRegistry({ provider, observer: conversations.observer }));
 */
export function createConversations(options: ConversationsOptions): Conversations {
  const { store } = options;
  const onError = options.onError ?? (() => {});
  const recorder: ThreadRecorder = createThreadRecorder(store, {
    onError: (error, write) => onError(error, write.final ? 'final message write' : 'checkpoint write'),
    ...(options.minCheckpointIntervalMs === undefined
      ? {}
      : { minCheckpointIntervalMs: options.minCheckpointIntervalMs }),
  });
  // Runs of this process whose assistant message is being written. Bounded by the running runs.
  const turns = new Map<string, Turn>();

  function finish(turn: Turn, run: Run, status: Exclude<RunStatus, 'running'>): void {
    void recorder.finish(turn.threadId, turn.messageId, messageStatusOf(status), run.text);
  }

  const observer: Conversations['observer'] = {
    onCheckpoint(run: Run) {
      const turn = turns.get(run.id);
      if (turn !== undefined) recorder.checkpoint(turn.threadId, turn.messageId, run.text);
    },
    onEnd(run: Run, summary: RunSummary) {
      const turn = turns.get(run.id);
      if (turn === undefined) return;
      turns.delete(run.id);
      finish(turn, run, summary.status);
    },
  };

  async function startTurn(registry: RunRegistry, request: StartRequest): Promise<StartResult> {
    const streamId = request.streamId ?? createStreamId();
    // A thread named here is new: its history is the message alone (what every store's
    // `beginTurn` returns for a thread it creates), so the model is called at once and the turn
    // is written while the model's request is on its way. Nothing of the reply reaches the client
    // before the write has committed (the reply waits for this function), and a failed write
    // cancels the run, which aborts the request. A thread the client names may hold history, or
    // belong to someone else: the model waits for the store's answer.
    const fresh = request.threadId === undefined;
    const threadId = request.threadId ?? createStreamId();
    let resolveHistory: (history: readonly ChatMessage[]) => void = () => {};
    // The run starts now (a repeated Idempotency-Key must be recognized before anything is
    // written) but, on a thread the client named, calls the model only once the turn is stored
    // and its history known.
    const history: readonly ChatMessage[] | Promise<readonly ChatMessage[]> = fresh
      ? [{ role: 'user', content: request.message }]
      : new Promise<readonly ChatMessage[]>((resolve) => {
          resolveHistory = resolve;
        });
    let started: StartResult;
    try {
      // Every field of StartRequest, written out: an object spread here took ~3 µs per start
      // (V8's slow clone path), a literal ~20 ns.
      const pending = registry.start({
        message: request.message,
        threadId,
        owner: request.owner,
        idempotencyKey: request.idempotencyKey,
        history,
        streamId,
      });
      // The in-process registry answers synchronously: no microtask hop before the turn is written.
      started = pending instanceof Promise ? await pending : pending;
    } catch (error) {
      resolveHistory([]);
      throw error;
    }
    if (!started.created) {
      resolveHistory([]);
      return started;
    }
    // `created` runs are produced here: the registry hands back the run itself.
    const run = started.run as Run;
    try {
      // The run's model request was queued in this turn (undici writes it from a `setImmediate`,
      // like the store's group commit): the turn is handed to the store from the check phase, so
      // its commit comes after the request has left and overlaps the model's time to first token
      // instead of preceding it.
      if (fresh) await nextTurn();
      const turn = await store.beginTurn({
        threadId,
        owner: request.owner,
        message: request.message,
        streamId: run.id,
      });
      const record: Turn = { threadId, messageId: turn.assistantMessageId };
      if (run.status === 'running') turns.set(run.id, record);
      else finish(record, run, run.status);
      resolveHistory(turn.history);
      return started;
    } catch (error) {
      // Refused (another principal's thread: no model call was made) or the store is down (on a
      // new thread the model's request is aborted).
      run.cancel();
      resolveHistory([]);
      throw error;
    }
  }

  return {
    store,
    observer,
    wrap(registry) {
      return decorateRegistry(registry, {
        start: (request) => (request.history !== undefined ? registry.start(request) : startTurn(registry, request)),
      });
    },
    async recover(isRunAlive) {
      let marked = 0;
      for (const message of await store.listStreamingMessages()) {
        if (message.streamId !== null && (await isRunAlive(message.streamId))) continue;
        try {
          await store.updateMessage({
            threadId: message.threadId,
            messageId: message.messageId,
            content: message.content,
            status: 'interrupted',
          });
          marked += 1;
        } catch (error) {
          onError(error, 'recovery');
        }
      }
      return marked;
    },
    drain: () => recorder.drain(),
  };
}
