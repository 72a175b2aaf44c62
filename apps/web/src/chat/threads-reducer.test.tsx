import { describe, expect, it } from 'vitest';
import type { ServerMessage } from './thread-api.ts';
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

  it('merges the server list: known threads keep their messages, new ones are added, newest first', () => {
    let state = send(createChatState('local', 0), 'hi', '1');
    state = threadsReducer(state, { type: 'bind-server-thread', threadId: 'local', serverThreadId: 'srv-a' });
    state = threadsReducer(state, { type: 'finish', text: 'hello', outcome: 'done' });
    const list = [
      { id: 'srv-b', title: 'Newer', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-02T00:00:00.000Z' },
      { id: 'srv-a', title: 'hi', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' },
      { id: 'srv-c', title: null, createdAt: '2025-01-01T00:00:00.000Z', updatedAt: '2025-01-01T00:00:00.000Z' },
    ];
    state = threadsReducer(state, { type: 'server-threads', threads: list });
    expect(state.threads.map((thread) => [thread.id, thread.title, thread.messages.length])).toEqual([
      ['server:srv-b', 'Newer', 0],
      ['local', 'hi', 2],
      ['server:srv-c', 'Untitled conversation', 0],
    ]);
    // A second merge of the same list changes nothing.
    expect(threadsReducer(state, { type: 'server-threads', threads: list }).threads).toEqual(state.threads);
    // Listed threads survive "New thread" (only an empty local one is replaced).
    const fresh = threadsReducer(state, { type: 'new-thread', id: 'n', now: Date.parse('2026-02-01T00:00:00.000Z') });
    expect(fresh.threads.map((thread) => thread.id)).toEqual(['n', 'server:srv-b', 'local', 'server:srv-c']);
  });

  it('loads a thread from the server with how each reply ended, but never over the reply streaming here', () => {
    const list = [
      { id: 'srv', title: 'Q', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' },
    ];
    let state = threadsReducer(createChatState('t', 0), { type: 'server-threads', threads: list });
    const message = (id: string, role: 'user' | 'assistant', status: ServerMessage['status']): ServerMessage => ({
      id,
      role,
      content: `${id} text`,
      status,
      streamId: 's',
      createdAt: '',
    });
    state = threadsReducer(state, {
      type: 'server-thread',
      thread: {
        ...list[0]!,
        messages: [
          message('u1', 'user', 'complete'),
          message('a1', 'assistant', 'interrupted'),
          message('a2', 'assistant', 'cancelled'),
          message('a3', 'assistant', 'complete'),
        ],
      },
    });
    const loaded = state.threads.find((thread) => thread.id === 'server:srv');
    expect(loaded?.historyLoaded).toBe(true);
    expect(loaded?.messages.map((entry) => [entry.id, entry.outcome, entry.error?.code])).toEqual([
      ['u1', undefined, undefined],
      ['a1', 'error', 'interrupted'],
      ['a2', 'stopped', undefined],
      ['a3', 'done', undefined],
    ]);

    state = threadsReducer(state, { type: 'select-thread', threadId: 'server:srv' });
    state = send(state, 'more', '9');
    const busy = threadsReducer(state, { type: 'server-thread', thread: { ...list[0]!, messages: [] } });
    expect(busy).toBe(state);
  });

  it('deletes a thread; deleting the current one opens a new conversation; the busy one stays', () => {
    let state = send(createChatState('busy', 0), 'hi', '1');
    state = threadsReducer(state, { type: 'new-thread', id: 'other', now: 5 });
    expect(threadsReducer(state, { type: 'delete-thread', threadId: 'busy', newId: 'x', now: 6 })).toBe(state);
    const deleted = threadsReducer(state, { type: 'delete-thread', threadId: 'other', newId: 'x', now: 6 });
    expect(deleted.activeThreadId).toBe('x');
    expect(deleted.threads.map((thread) => thread.id)).toEqual(['x', 'busy']);
    expect(threadsReducer(deleted, { type: 'delete-thread', threadId: 'missing', newId: 'y', now: 7 })).toBe(deleted);
  });
});
