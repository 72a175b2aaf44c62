import { describe, expect, it } from 'vitest';
import { createThreadStore } from './thread-store.ts';

describe('thread store', () => {
  it('sends the newest history that fits the character budget, then the new message', () => {
    const store = createThreadStore({ maxHistoryChars: 10 });
    expect(store.prepare('t', undefined, 'hi')).toEqual([{ role: 'user', content: 'hi' }]);
    store.append('t', undefined, 'hi', 'abcd');
    store.append('t', undefined, 'xy', 'z');
    expect(store.prepare('t', undefined, 'q')).toEqual([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'abcd' },
      { role: 'user', content: 'xy' },
      { role: 'assistant', content: 'z' },
      { role: 'user', content: 'q' },
    ]);
    // A longer new message leaves less room for history.
    expect(store.prepare('t', undefined, 'qqqqqq')).toEqual([
      { role: 'user', content: 'xy' },
      { role: 'assistant', content: 'z' },
      { role: 'user', content: 'qqqqqq' },
    ]);
  });

  it('keeps no more than the character budget and the message cap per thread', () => {
    const store = createThreadStore({ maxHistoryChars: 10, maxMessages: 3 });
    store.prepare('t', undefined, 'a');
    store.append('t', undefined, 'a', 'x'.repeat(1000));
    // The long reply could never be sent again: it is not kept either.
    expect(store.get('t', undefined)).toEqual([]);
    store.append('t', undefined, 'b', 'c');
    store.append('t', undefined, 'd', 'e');
    expect(store.get('t', undefined)).toEqual([
      { role: 'assistant', content: 'c' },
      { role: 'user', content: 'd' },
      { role: 'assistant', content: 'e' },
    ]);
  });

  it('hides a thread from other principals and drops the least recently used past maxThreads', () => {
    const store = createThreadStore({ maxThreads: 2 });
    store.prepare('a', 'alice', 'hi');
    expect(() => store.prepare('a', 'bob', 'hi')).toThrow(expect.objectContaining({ code: 'not_found', status: 404 }));
    expect(store.get('a', 'bob')).toBeUndefined();
    store.prepare('b', 'alice', 'hi');
    store.prepare('a', 'alice', 'again');
    store.prepare('c', 'alice', 'hi');
    expect(store.size).toBe(2);
    expect(store.get('b', 'alice')).toBeUndefined();
    expect(store.get('a', 'alice')).toEqual([]);
  });
});
