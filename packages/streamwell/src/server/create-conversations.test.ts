import { afterEach, describe, expect, it } from 'vitest';
import { StreamwellError } from '../errors/index.ts';
import { createConversations } from './create-conversations.ts';
import type { ChatMessage, Provider } from './provider.ts';
import type { Run } from './run.ts';
import { createRunRegistry, type LocalRunRegistry } from './run-registry.ts';
import { createMemoryThreadStore } from './threads/create-memory-thread-store.ts';
import type { ThreadStore } from './threads/thread-store.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A memory store whose `beginTurn` waits for the test's word (`release`, or `fail` with an error)
 * while it is held, and a provider that answers one token; both record when they were called.
 */
function setup() {
  const order: string[] = [];
  const inner = createMemoryThreadStore();
  let held = false;
  let waiting: { release: () => void; fail: (error: unknown) => void } | undefined;
  const store: ThreadStore = {
    ...inner,
    async beginTurn(request) {
      order.push('beginTurn');
      if (held) {
        await new Promise<void>((resolve, reject) => {
          waiting = { release: resolve, fail: reject };
        });
      }
      return inner.beginTurn(request);
    },
  };
  const seen: { messages?: readonly ChatMessage[]; aborted: boolean } = { aborted: false };
  const provider: Provider = {
    name: 'scripted',
    model: 'test',
    async *stream(request) {
      order.push('model');
      seen.messages = request.messages;
      request.signal.addEventListener('abort', () => {
        seen.aborted = true;
      });
      yield { type: 'text', text: 'ok' };
      await new Promise<void>((resolve) => {
        if (request.signal.aborted) resolve();
        request.signal.addEventListener('abort', () => resolve());
        setTimeout(resolve, 20);
      });
    },
  };
  const conversations = createConversations({ store });
  registry = createRunRegistry({ provider, observer: conversations.observer });
  return {
    order,
    seen,
    registry: conversations.wrap(registry),
    hold: () => {
      held = true;
    },
    waiting: () => waiting,
    store,
  };
}

let registry: LocalRunRegistry | undefined;
afterEach(() => {
  registry?.close();
  registry = undefined;
});

describe('createConversations: when the model is called', () => {
  it('on a new thread, calls the model at once and answers only once the turn is stored', async () => {
    const { order, seen, registry, hold, waiting } = setup();
    hold();
    let answered = false;
    const started = Promise.resolve(registry.start({ message: 'hi', owner: 'alice' })).then((result) => {
      answered = true;
      return result;
    });
    for (let turn = 0; turn < 5 && waiting() === undefined; turn += 1) await tick();
    // The model's request left before the turn was handed to the store, and the start waits for it.
    expect(order).toEqual(['model', 'beginTurn']);
    expect(seen.messages).toEqual([{ role: 'user', content: 'hi' }]);
    await tick();
    expect(answered).toBe(false);
    waiting()?.release();
    const { run, created } = await started;
    expect(created).toBe(true);
    await (run as Run).finished;
    expect(run.status).toBe('complete');
  });

  it('on a thread the client names, calls the model only with the stored history', async () => {
    const { order, seen, registry, store } = setup();
    const first = await registry.start({ message: 'first', owner: 'alice' });
    await (first.run as Run).finished;
    const threadId = first.run.threadId;
    // The end write goes through the recorder: wait until the reply is stored.
    for (let turn = 0; turn < 50; turn += 1) {
      if ((await store.getThread(threadId, 'alice'))?.messages[1]?.status === 'complete') break;
      await tick();
    }
    order.length = 0;
    const second = await registry.start({ message: 'second', owner: 'alice', threadId });
    await (second.run as Run).finished;
    expect(order).toEqual(['beginTurn', 'model']);
    expect(seen.messages).toEqual([
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'second' },
    ]);
  });

  it('on a new thread whose turn cannot be stored, fails the start and aborts the model request', async () => {
    const { seen, registry, hold, waiting } = setup();
    hold();
    const started = Promise.resolve(registry.start({ message: 'hi', owner: 'alice' }));
    for (let turn = 0; turn < 5 && waiting() === undefined; turn += 1) await tick();
    waiting()?.fail(new StreamwellError('store_unavailable', 'The database is down.', { status: 503 }));
    await expect(started).rejects.toMatchObject({ code: 'store_unavailable' });
    expect(seen.aborted).toBe(true);
  });

  it('on a thread of another principal, refuses before any model call', async () => {
    const { order, registry } = setup();
    const first = await registry.start({ message: 'mine', owner: 'alice' });
    await (first.run as Run).finished;
    order.length = 0;
    await expect(
      Promise.resolve(registry.start({ message: 'let me in', owner: 'bob', threadId: first.run.threadId })),
    ).rejects.toMatchObject({ code: 'not_found' });
    await tick();
    expect(order).toEqual(['beginTurn']);
  });
});
