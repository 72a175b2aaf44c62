/**
 * The thread store contract against the memory store, and its bounds.
 */
import { createMemoryThreadStore } from 'streamwell/server';
import { describe, expect, it } from 'vitest';
import { describeThreadStoreContract } from './thread-store-contract.ts';

describe('memory thread store', () => {
  describeThreadStoreContract({ durable: false, open: async (options) => createMemoryThreadStore(options) });

  it('keeps at most maxThreads threads (the least recently written goes) and maxItemsPerThread items', async () => {
    const store = createMemoryThreadStore({ maxThreads: 2, maxItemsPerThread: 3 });
    await store.beginTurn({ threadId: 'a', owner: undefined, message: 'a', streamId: 's' });
    await store.beginTurn({ threadId: 'b', owner: undefined, message: 'b', streamId: 's' });
    await store.beginTurn({ threadId: 'a', owner: undefined, message: 'a2', streamId: 's' });
    await store.beginTurn({ threadId: 'c', owner: undefined, message: 'c', streamId: 's' });
    expect(await store.getThread('b', undefined)).toBeUndefined();
    expect((await store.getThread('a', undefined))?.messages.map((message) => message.content)).toEqual(['', 'a2', '']);
  });
});
