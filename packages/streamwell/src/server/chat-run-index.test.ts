import { describe, expect, it } from 'vitest';
import { createMemoryChatRunIndex } from './chat-run-index.ts';

describe('memory chat run index', () => {
  it('records the latest run per principal and chat, and returns the one it replaces', () => {
    const index = createMemoryChatRunIndex();
    expect(index.set('alice', 'c1', 's1')).toBeUndefined();
    expect(index.set('alice', 'c1', 's2')).toBe('s1');
    expect(index.get('alice', 'c1')).toBe('s2');
    // Another principal's chat of the same id is another chat.
    expect(index.get('bob', 'c1')).toBeUndefined();
    expect(index.get(undefined, 'c1')).toBeUndefined();
  });

  it('forgets entries after their TTL', () => {
    const index = createMemoryChatRunIndex({ ttlMs: 0 });
    index.set(undefined, 'c1', 's1');
    expect(index.get(undefined, 'c1')).toBeUndefined();
    expect(index.set(undefined, 'c1', 's2')).toBeUndefined();
  });

  it('stays bounded: past maxEntries the least recently started chat is dropped', () => {
    const index = createMemoryChatRunIndex({ maxEntries: 2 });
    index.set(undefined, 'a', '1');
    index.set(undefined, 'b', '2');
    index.set(undefined, 'a', '3');
    index.set(undefined, 'c', '4');
    expect([index.get(undefined, 'a'), index.get(undefined, 'b'), index.get(undefined, 'c')]).toEqual([
      '3',
      undefined,
      '4',
    ]);
  });
});
