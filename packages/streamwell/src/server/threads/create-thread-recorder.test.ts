import { afterEach, describe, expect, it, vi } from 'vitest';
import { StreamwellError } from '../../errors/index.ts';
import { createMemoryThreadStore } from './create-memory-thread-store.ts';
import { createThreadRecorder, type RecorderWrite } from './create-thread-recorder.ts';
import type { ThreadStore, UpdateMessageRequest } from './thread-store.ts';

/** Lets the recorder react: a few promise hops, no timers (fake timers stay in control). */
async function settle(): Promise<void> {
  for (let index = 0; index < 20; index += 1) await Promise.resolve();
}

/** A store whose writes wait until the test lets them finish, one by one. */
function createSlowStore() {
  const writes: { request: UpdateMessageRequest; finish: (error?: unknown) => void }[] = [];
  const store = {
    updateMessage: (request: UpdateMessageRequest) =>
      new Promise<boolean>((resolve, reject) => {
        writes.push({ request, finish: (error) => (error === undefined ? resolve(true) : reject(error)) });
      }),
  } as unknown as ThreadStore;
  /** Lets the oldest unfinished write end, then lets the recorder react. */
  async function completeNext(error?: unknown): Promise<void> {
    await settle();
    const next = writes.find((write) => !('done' in write));
    if (next === undefined) throw new Error('no write in flight');
    Object.assign(next, { done: true });
    next.finish(error);
    await settle();
  }
  const texts = (): string[] => writes.map((write) => `${write.request.status}:${write.request.content}`);
  return { store, writes, completeNext, texts };
}

const unavailable = (): StreamwellError =>
  new StreamwellError('store_unavailable', 'down', { status: 503, retryable: true });

describe('thread recorder', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('never waits on a checkpoint, and writes only the newest text queued behind a slow write', async () => {
    const slow = createSlowStore();
    const recorder = createThreadRecorder(slow.store);
    expect(recorder.checkpoint('t', 'm', 'a')).toBeUndefined();
    recorder.checkpoint('t', 'm', 'ab');
    recorder.checkpoint('t', 'm', 'abc');
    // One write in flight for the message; the rest only replaced the queued text.
    expect(slow.texts()).toEqual(['streaming:a']);
    expect(recorder.pending).toBe(1);
    await slow.completeNext();
    expect(slow.texts()).toEqual(['streaming:a', 'streaming:abc']);
    await slow.completeNext();
    expect(recorder.pending).toBe(0);
    recorder.checkpoint('t', 'm', 'abcd');
    expect(slow.texts()).toEqual(['streaming:a', 'streaming:abc', 'streaming:abcd']);
  });

  it('writes each message on its own: a slow message does not hold up another', () => {
    const slow = createSlowStore();
    const recorder = createThreadRecorder(slow.store);
    recorder.checkpoint('t', 'm1', 'x');
    recorder.checkpoint('t', 'm2', 'y');
    expect(slow.writes.map((write) => write.request.messageId)).toEqual(['m1', 'm2']);
  });

  it('finish writes the final text and status at once, drops queued checkpoints, and ends after the write in flight', async () => {
    const slow = createSlowStore();
    const recorder = createThreadRecorder(slow.store);
    recorder.checkpoint('t', 'm', 'one');
    recorder.checkpoint('t', 'm', 'one two');
    let finished = false;
    const finishing = recorder.finish('t', 'm', 'cancelled', 'one two thr').then(() => {
      finished = true;
    });
    recorder.checkpoint('t', 'm', 'late');
    await settle();
    // Not behind the checkpoint in flight (SQLite may hold that one back to share a commit).
    expect(slow.texts()).toEqual(['streaming:one', 'cancelled:one two thr']);
    await slow.completeNext();
    expect(finished).toBe(false);
    expect(recorder.pending).toBe(1);
    await slow.completeNext();
    await finishing;
    expect(slow.texts()).toEqual(['streaming:one', 'cancelled:one two thr']);
    expect(recorder.pending).toBe(0);
  });

  it('reports failed writes and goes on; retries a final write only while the store is unavailable', async () => {
    vi.useFakeTimers();
    const slow = createSlowStore();
    const failures: { error: unknown; write: RecorderWrite }[] = [];
    const recorder = createThreadRecorder(slow.store, {
      onError: (error, write) => failures.push({ error, write }),
      finalRetryDelaysMs: [100, 200],
    });
    recorder.checkpoint('t', 'm', 'a');
    await slow.completeNext(new Error('constraint'));
    recorder.checkpoint('t', 'm', 'ab');
    await slow.completeNext();
    expect(failures.map((failure) => failure.write)).toEqual([
      { threadId: 't', messageId: 'm', final: false, attempt: 1 },
    ]);

    const finishing = recorder.finish('t', 'm', 'complete', 'abc');
    await slow.completeNext(unavailable());
    expect(slow.writes).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(99);
    expect(slow.writes).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(slow.writes).toHaveLength(4);
    await slow.completeNext(unavailable());
    await vi.advanceTimersByTimeAsync(200);
    await slow.completeNext(unavailable());
    // Out of retries: reported, and finish still resolves.
    await finishing;
    expect(slow.texts().slice(2)).toEqual(['complete:abc', 'complete:abc', 'complete:abc']);
    expect(failures.slice(1).map((failure) => failure.write.attempt)).toEqual([1, 2, 3]);
    expect(failures.slice(1).every((failure) => failure.write.final)).toBe(true);

    const other = recorder.finish('t', 'm2', 'error', 'x');
    await slow.completeNext(new Error('bug'));
    await other;
    expect(slow.writes).toHaveLength(6);
  });

  it('drain resolves once every write has ended', async () => {
    const slow = createSlowStore();
    const recorder = createThreadRecorder(slow.store);
    recorder.checkpoint('t', 'm1', 'x');
    void recorder.finish('t', 'm2', 'complete', 'y');
    let drained = false;
    const draining = recorder.drain().then(() => {
      drained = true;
    });
    await slow.completeNext();
    expect(drained).toBe(false);
    await slow.completeNext();
    await draining;
    expect(recorder.pending).toBe(0);
  });

  it('with an interval, writes a message at most once per interval: the newest text waits, finish and drain cut the wait', async () => {
    vi.useFakeTimers();
    const slow = createSlowStore();
    const recorder = createThreadRecorder(slow.store, { minCheckpointIntervalMs: 1000 });
    recorder.checkpoint('t', 'm', 'a');
    await slow.completeNext();
    recorder.checkpoint('t', 'm', 'ab');
    recorder.checkpoint('t', 'm', 'abc');
    await settle();
    // The write ended, but the interval has not: the newer texts only replaced each other.
    expect(slow.texts()).toEqual(['streaming:a']);
    await vi.advanceTimersByTimeAsync(999);
    expect(slow.texts()).toEqual(['streaming:a']);
    await vi.advanceTimersByTimeAsync(1);
    expect(slow.texts()).toEqual(['streaming:a', 'streaming:abc']);
    await slow.completeNext();
    // Another message is not held by this one's interval.
    recorder.checkpoint('t', 'm2', 'x');
    expect(slow.texts()).toEqual(['streaming:a', 'streaming:abc', 'streaming:x']);
    await slow.completeNext();
    // finish does not wait out the interval, and the queued checkpoint is superseded.
    recorder.checkpoint('t', 'm', 'abcd');
    const finished = recorder.finish('t', 'm', 'complete', 'abcde');
    await settle();
    expect(slow.texts().at(-1)).toBe('complete:abcde');
    await slow.completeNext();
    await finished;
    // drain writes a queued checkpoint now rather than after its interval.
    recorder.checkpoint('t', 'm2', 'xy');
    let drained = false;
    const draining = recorder.drain().then(() => {
      drained = true;
    });
    await settle();
    expect(slow.texts().at(-1)).toBe('streaming:xy');
    await slow.completeNext();
    await draining;
    expect(drained).toBe(true);
    expect(recorder.pending).toBe(0);
  });

  it('records into a real store: the final status wins over every checkpoint', async () => {
    const store = createMemoryThreadStore();
    const recorder = createThreadRecorder(store);
    const turn = await store.beginTurn({ threadId: 't', owner: undefined, message: 'hi', streamId: 's' });
    for (const text of ['a', 'ab', 'abc']) recorder.checkpoint('t', turn.assistantMessageId, text);
    await recorder.finish('t', turn.assistantMessageId, 'complete', 'abcd');
    recorder.checkpoint('t', turn.assistantMessageId, 'stale');
    await recorder.drain();
    expect((await store.getThread('t', undefined))?.messages[1]).toMatchObject({ content: 'abcd', status: 'complete' });
  });
});
