import { describe, expect, it } from 'vitest';
import { type ChatState, createChatState, isChatState, MAX_THREADS, threadsReducer } from './threads-reducer.ts';

const send = (state: ChatState, text: string, suffix: string): ChatState =>
  threadsReducer(state, {
    type: 'send',
    text,
    userMessageId: `u${suffix}`,
    replyMessageId: `a${suffix}`,
    now: 1,
  });

describe('threadsReducer', () => {
  it('adds the user message and an empty reply, titles the thread, and marks the reply pending', () => {
    const state = send(createChatState('t1', 0), 'How do I stream?\nmore', '1');
    const thread = state.threads[0];
    expect(thread?.title).toBe('How do I stream?');
    expect(thread?.messages.map((message) => [message.role, message.text])).toEqual([
      ['user', 'How do I stream?\nmore'],
      ['assistant', ''],
    ]);
    expect(state.pending).toEqual({ threadId: 't1', messageId: 'a1' });
  });

  it('refuses a second send while a reply is pending', () => {
    const state = send(createChatState('t1', 0), 'one', '1');
    expect(send(state, 'two', '2')).toBe(state);
  });

  it('finishes the pending reply with its text, outcome and error, and clears pending', () => {
    let state = send(createChatState('t1', 0), 'hi', '1');
    state = threadsReducer(state, { type: 'new-thread', id: 't2', now: 2 });
    state = threadsReducer(state, {
      type: 'finish',
      text: 'partial',
      outcome: 'error',
      error: { code: 'idle_timeout', message: 'no token for 30 s' },
      resumedFrom: 12,
    });
    expect(state.pending).toBeUndefined();
    const reply = state.threads.find((thread) => thread.id === 't1')?.messages[1];
    expect(reply).toMatchObject({
      text: 'partial',
      outcome: 'error',
      resumedFrom: 12,
      error: { code: 'idle_timeout' },
    });
  });

  it('binds the server thread id so follow-up messages continue the same conversation', () => {
    const state = threadsReducer(send(createChatState('t1', 0), 'hi', '1'), {
      type: 'bind-server-thread',
      threadId: 't1',
      serverThreadId: 'srv',
    });
    expect(state.threads[0]?.serverThreadId).toBe('srv');
  });

  it('keeps at most MAX_THREADS threads, never the empty ones twice, and never drops the busy one', () => {
    let state = send(createChatState('busy', 0), 'hi', 'b');
    for (let index = 0; index < MAX_THREADS + 5; index += 1) {
      state = threadsReducer(state, { type: 'new-thread', id: `t${index}`, now: index });
      state = threadsReducer(state, { type: 'bind-server-thread', threadId: `t${index}`, serverThreadId: 'x' });
    }
    expect(state.threads.length).toBeLessThanOrEqual(MAX_THREADS);
    expect(state.threads.filter((thread) => thread.messages.length === 0)).toHaveLength(1);
    expect(state.threads.some((thread) => thread.id === 'busy')).toBe(true);
  });

  it('validates stored state before using it', () => {
    expect(isChatState(createChatState('t', 0))).toBe(true);
    expect(isChatState({ threads: [], activeThreadId: 'x' })).toBe(false);
    expect(isChatState({ threads: [{ id: 1 }], activeThreadId: 'x' })).toBe(false);
    expect(isChatState('nope')).toBe(false);
  });
});
