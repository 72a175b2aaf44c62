/**
 * Writes assistant messages to the thread store while they stream, off the per-token path.
 *
 * A run calls `checkpoint` at each checkpoint and `finish` once at its end. A checkpoint never
 * waits for the database: per message at most one write is in flight, and while it is, newer
 * checkpoints only replace the text queued behind it (the latest text wins; the ones in between
 * were never needed). So a slow database costs one pending write per streaming message, never a
 * queue per token, and it never slows the stream. `finish` drops the queued text and writes the
 * final text and status at once, retrying a few times while the database is unreachable. It does
 * not wait for a checkpoint in flight: the store keeps a final status final (a late checkpoint
 * changes nothing), and SQLite holds checkpoints back to share a commit with other writes, which
 * a final write waiting behind one would defeat. So a message has at most two writes in flight.
 *
 * @module
 */
import type { ItemStatus, ThreadStore } from './thread-store.ts';
import { isStoreUnavailableError } from './to-store-error.ts';

/** What a failed write was. */
export interface RecorderWrite {
  readonly threadId: string;
  readonly messageId: string;
  /** True for the final write (from `finish`). */
  readonly final: boolean;
  /** 1 for the first try of a write. */
  readonly attempt: number;
}

/** Options of {@link createThreadRecorder}. */
export interface ThreadRecorderOptions {
  /** Every failed write (the store's error, e.g. `store_unavailable`); the recorder never throws. */
  readonly onError?: (error: unknown, write: RecorderWrite) => void;
  /**
   * Delays before the retries of a final write that failed because the database was unreachable
   * (checkpoints are not retried: the next one supersedes them). @defaultValue [250, 1000, 4000]
   */
  readonly finalRetryDelaysMs?: readonly number[];
  /**
   * Least time between two checkpoint writes of one message. A checkpoint that comes sooner only
   * replaces the text queued behind the last write (which waits out the rest of the interval;
   * `finish` and `drain` cut the wait short). 0 writes each checkpoint as soon as the write
   * before it ended. A fast stream reaches a checkpoint many times a second (`CHECKPOINT_EVERY=50`
   * at 250 tokens/s: 5), and each write is a transaction that rewrites the whole text so far.
   * @defaultValue 0
   */
  readonly minCheckpointIntervalMs?: number;
}

/** The recorder of one process. */
export interface ThreadRecorder {
  /**
   * Records the text so far of a streaming message. Returns at once; the write happens later.
   *
   * @param threadId - the message's thread
   * @param messageId - the assistant message (`beginTurn`'s `assistantMessageId`)
   * @param text - the whole text so far
   */
  checkpoint(threadId: string, messageId: string, text: string): void;
  /**
   * Records the end of a message: writes `text` and `status` (a checkpoint still in flight cannot
   * undo them). Resolves when that write, and a checkpoint still in flight, have ended. Never
   * rejects (failures go to `onError`).
   *
   * @param status - `complete`, `cancelled`, `error` or `interrupted`
   */
  finish(threadId: string, messageId: string, status: ItemStatus, text: string): Promise<void>;
  /** Resolves when no write is in flight or queued (for shutdown, before closing the store). */
  drain(): Promise<void>;
  /** Messages with a write in flight or queued. */
  readonly pending: number;
}

interface MessageState {
  readonly threadId: string;
  readonly messageId: string;
  /** The loop writing this message's checkpoints, or its final write. */
  inFlight: Promise<void> | undefined;
  /** The newest checkpoint text not written yet. */
  queued: string | undefined;
  finished: boolean;
  /** Ends the wait between two checkpoint writes now (set while the loop waits). */
  wake: (() => void) | undefined;
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Creates a recorder over a store.
 *
 * @param store - the thread store
 * @param options - error reporting and final-write retries
 * @returns the recorder
 * @example
 * const recorder = createThreadRecorder(threads, { onError: (error) => log.warn({ err: error }, 'thread write failed') });
 * recorder.checkpoint(threadId, assistantMessageId, run.text); // at each checkpoint
 * await recorder.finish(threadId, assistantMessageId, 'complete', run.text); // at the end
 */
export function createThreadRecorder(store: ThreadStore, options: ThreadRecorderOptions = {}): ThreadRecorder {
  const retryDelays = options.finalRetryDelaysMs ?? [250, 1000, 4000];
  const minInterval = options.minCheckpointIntervalMs ?? 0;
  let draining = false;
  const states = new Map<string, MessageState>();
  const keyOf = (threadId: string, messageId: string): string => `${threadId}\u0000${messageId}`;

  function report(error: unknown, state: MessageState, final: boolean, attempt: number): void {
    try {
      options.onError?.(error, { threadId: state.threadId, messageId: state.messageId, final, attempt });
    } catch {
      // A throwing reporter must not turn into an unhandled rejection.
    }
  }

  function forget(state: MessageState): void {
    const key = keyOf(state.threadId, state.messageId);
    if (states.get(key) === state) states.delete(key);
  }

  async function writeCheckpoints(state: MessageState): Promise<void> {
    for (let text = state.queued; text !== undefined && !state.finished; text = state.queued) {
      state.queued = undefined;
      try {
        await store.updateMessage({
          threadId: state.threadId,
          messageId: state.messageId,
          content: text,
          status: 'streaming',
        });
      } catch (error) {
        report(error, state, false, 1);
      }
      if (minInterval > 0 && !state.finished && !draining) await pause(state);
    }
    // Finished: `finish` owns the state now (its final write is `inFlight`). Otherwise idle:
    // nothing is kept per message between checkpoints, so a message that never finishes leaves
    // nothing behind; a later checkpoint starts afresh.
    if (state.finished) return;
    state.inFlight = undefined;
    forget(state);
  }

  /** Waits out the interval after a checkpoint write; `state.wake` ends the wait early. */
  function pause(state: MessageState): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        state.wake = undefined;
        resolve();
      };
      const timer = setTimeout(wake, minInterval);
      state.wake = wake;
    });
  }

  async function writeFinal(state: MessageState, status: ItemStatus, text: string) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await store.updateMessage({ threadId: state.threadId, messageId: state.messageId, content: text, status });
        return;
      } catch (error) {
        report(error, state, true, attempt);
        const delay = retryDelays[attempt - 1];
        if (delay === undefined || !isStoreUnavailableError(error)) return;
        await wait(delay);
      }
    }
  }

  return {
    checkpoint(threadId, messageId, text) {
      const key = keyOf(threadId, messageId);
      let state = states.get(key);
      if (state === undefined) {
        state = { threadId, messageId, inFlight: undefined, queued: undefined, finished: false, wake: undefined };
        states.set(key, state);
      }
      if (state.finished) return;
      state.queued = text;
      if (state.inFlight === undefined) state.inFlight = writeCheckpoints(state);
    },

    async finish(threadId, messageId, status, text) {
      const key = keyOf(threadId, messageId);
      const state = states.get(key) ?? {
        threadId,
        messageId,
        inFlight: undefined,
        queued: undefined,
        finished: false,
        wake: undefined,
      };
      states.set(key, state);
      state.finished = true;
      // The final text supersedes any checkpoint not yet written, and is not held by the interval.
      state.queued = undefined;
      state.wake?.();
      const final = writeFinal(state, status, text);
      // `drain` waits for both: the checkpoint in flight, if any, and the final write.
      state.inFlight = state.inFlight === undefined ? final : Promise.all([state.inFlight, final]).then(() => {});
      await state.inFlight;
      forget(state);
    },

    async drain() {
      // Shutdown: queued checkpoints are written now, not after their interval.
      draining = true;
      for (const state of states.values()) state.wake?.();
      // Writes that start while draining are waited for too.
      while (states.size > 0) await Promise.all([...states.values()].map((state) => state.inFlight));
    },

    get pending() {
      return states.size;
    },
  };
}
