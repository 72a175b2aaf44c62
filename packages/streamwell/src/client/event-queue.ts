/**
 * A bounded push queue read as an async iterator: the bridge between a stream's callbacks and
 * `for await`.
 *
 * @module
 */
import { StreamwellError } from '../errors/index.ts';

/**
 * A queue made by {@link createEventQueue}.
 *
 * @internal
 */
export interface EventQueue<T> {
  /** Adds an item; past the limit the queue stops taking items and the reader gets an error. */
  push(item: T): void;
  /** No more items; the reader ends after draining (or throws `error` when given). */
  close(error?: unknown): void;
  /** The reading side. Single consumer. */
  next(): Promise<IteratorResult<T, undefined>>;
}

/**
 * Creates a bounded queue.
 *
 * @param limit - most unread items; beyond it the reader gets `buffer_overflow` after draining
 * @returns the queue
 *
 * @internal
 */
export function createEventQueue<T>(limit: number): EventQueue<T> {
  let items: T[] = [];
  let head = 0;
  let closed = false;
  let failure: unknown;
  let overflowed = false;
  let waiter: ((result: IteratorResult<T, undefined>) => void) | undefined;
  let failWaiter: ((error: unknown) => void) | undefined;

  function settle(): void {
    if (waiter === undefined) return;
    const resolve = waiter;
    const reject = failWaiter as (error: unknown) => void;
    if (head < items.length) {
      waiter = undefined;
      failWaiter = undefined;
      resolve({ done: false, value: take() });
    } else if (closed) {
      waiter = undefined;
      failWaiter = undefined;
      if (failure !== undefined) reject(failure);
      else resolve({ done: true, value: undefined });
    }
  }

  function take(): T {
    const item = items[head] as T;
    items[head] = undefined as T;
    head += 1;
    // Drop the consumed front now and then, so a long stream does not keep it alive.
    if (head > 1024 && head * 2 > items.length) {
      items = items.slice(head);
      head = 0;
    }
    return item;
  }

  return {
    push(item) {
      if (closed || overflowed) return;
      if (items.length - head >= limit) {
        overflowed = true;
        closed = true;
        failure = new StreamwellError(
          'buffer_overflow',
          `More than ${limit} events were waiting to be read; iterate the stream as it arrives or raise maxQueuedEvents.`,
        );
      } else {
        items.push(item);
      }
      settle();
    },
    close(error) {
      if (closed) return;
      closed = true;
      failure = error;
      settle();
    },
    next() {
      if (head < items.length) return Promise.resolve({ done: false, value: take() });
      if (closed) {
        return failure === undefined ? Promise.resolve({ done: true, value: undefined }) : Promise.reject(failure);
      }
      return new Promise((resolve, reject) => {
        waiter = resolve;
        failWaiter = reject;
      });
    },
  };
}
