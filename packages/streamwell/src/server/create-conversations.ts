/**
 * Durable conversations around any run registry: each new message is written to a
 * {@link ThreadStore} before the model is called (the ownership check, the user message and an
 * empty assistant message, one transaction), the assistant message is written at every
 * checkpoint and at the end of its run (through a {@link ThreadRecorder}: never on the per-token
 * path, never making a stream wait), and after a restart a message whose run is gone is marked
 * `interrupted` with the text it had.
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
   * The registry with conversations: a start without `history` writes its turn first (and is
   * refused, before any model call, when the thread belongs to another principal or the store is
   * down); a repeated `Idempotency-Key` writes nothing.
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
    const threadId = request.threadId ?? createStreamId();
    let resolveHistory: (history: readonly ChatMessage[]) => void = () => {};
    // The run starts now (a repeated Idempotency-Key must be recognized before anything is
    // written) but calls the model only once the turn is stored and its history known.
    const history = new Promise<readonly ChatMessage[]>((resolve) => {
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
      // Refused (another principal's thread) or the store is down: no model call is made.
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
