/**
 * The thread store contract: one suite that every implementation (memory, SQLite, PostgreSQL)
 * passes unchanged. Each test works on its own store space (a fresh memory store, SQLite file or,
 * for PostgreSQL, its own principals in the file's own database) and a fake clock that moves one
 * millisecond per reading, so that every order the suite checks is decided by time, as in use.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { ThreadStore, ThreadStoreCommonOptions } from 'streamwell/server';
import { afterEach, describe, expect, it } from 'vitest';

/** What a test file provides. */
export interface ContractTarget {
  /** Whether the data outlives the store object (false for memory: "restart" does not apply). */
  readonly durable: boolean;
  /**
   * Opens a store on this test's space; called again within a test, it opens the same space
   * (a restart). Stores are closed by the suite.
   */
  open(options: ThreadStoreCommonOptions): Promise<ThreadStore>;
  /** Called after each test (e.g. to remove the test's file). */
  cleanup?(): Promise<void>;
}

const expectCode = (code: string, status?: number) =>
  expect.objectContaining(status === undefined ? { code } : { code, status });

/**
 * Defines the contract tests.
 *
 * @param target - how to open the implementation under test
 */
export function describeThreadStoreContract(target: ContractTarget): void {
  const opened: ThreadStore[] = [];
  let tick = 0;
  // Unique per test: in a shared PostgreSQL database, principals keep the tests apart.
  let suffix = '';
  const who = (name: string): string => `${name}-${suffix}`;
  const thread = (name: string): string => `thr-${name}-${suffix}`;

  async function open(options: ThreadStoreCommonOptions = {}): Promise<ThreadStore> {
    const store = await target.open({ now: () => new Date(Date.UTC(2026, 0, 1) + tick++), ...options });
    opened.push(store);
    return store;
  }

  async function turn(
    store: ThreadStore,
    threadId: string,
    owner: string | undefined,
    message: string,
    reply?: string,
  ) {
    const started = await store.beginTurn({ threadId, owner, message, streamId: `stream-${message}` });
    if (reply !== undefined) {
      await store.updateMessage({
        threadId,
        messageId: started.assistantMessageId,
        content: reply,
        status: 'complete',
      });
    }
    return started;
  }

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    await target.cleanup?.();
    suffix = '';
  });

  const setup = (): void => {
    suffix = randomBytes(4).toString('hex');
    tick = 0;
  };

  describe('conversations', () => {
    it('stores two turns: history for the model, then the whole thread, oldest first', async () => {
      setup();
      const store = await open();
      const alice = who('alice');
      const id = thread('a');
      const first = await store.beginTurn({ threadId: id, owner: alice, message: '  What is\n SSE? ', streamId: 's1' });
      expect(first.threadCreated).toBe(true);
      expect(first.history).toEqual([{ role: 'user', content: '  What is\n SSE? ' }]);
      expect(first.userMessageId).not.toBe(first.assistantMessageId);
      expect(
        await store.updateMessage({
          threadId: id,
          messageId: first.assistantMessageId,
          content: 'Server-',
          status: 'streaming',
        }),
      ).toBe(true);
      expect(
        await store.updateMessage({
          threadId: id,
          messageId: first.assistantMessageId,
          content: 'Server-sent events.',
          status: 'complete',
        }),
      ).toBe(true);

      const second = await store.beginTurn({ threadId: id, owner: alice, message: 'And WebSocket?', streamId: 's2' });
      expect(second.threadCreated).toBe(false);
      expect(second.history).toEqual([
        { role: 'user', content: '  What is\n SSE? ' },
        { role: 'assistant', content: 'Server-sent events.' },
        { role: 'user', content: 'And WebSocket?' },
      ]);

      const stored = await store.getThread(id, alice);
      expect(stored).toMatchObject({ id, title: 'What is SSE?', hasMore: false });
      expect(
        stored?.messages.map(({ role, content, status, streamId }) => ({ role, content, status, streamId })),
      ).toEqual([
        { role: 'user', content: '  What is\n SSE? ', status: 'complete', streamId: 's1' },
        { role: 'assistant', content: 'Server-sent events.', status: 'complete', streamId: 's1' },
        { role: 'user', content: 'And WebSocket?', status: 'complete', streamId: 's2' },
        { role: 'assistant', content: '', status: 'streaming', streamId: 's2' },
      ]);
      expect(stored?.messages[0]?.id).toBe(first.userMessageId);
      expect(stored?.messages[3]?.id).toBe(second.assistantMessageId);
      for (const message of stored?.messages ?? []) {
        expect(message.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(message).toMatchObject({ threadId: id, kind: 'message', data: null });
      }
      expect(Date.parse(stored?.updatedAt ?? '')).toBeGreaterThan(Date.parse(stored?.createdAt ?? ''));
    });

    it('bounds the history by characters, whole messages only, and leaves out replies still streaming or empty', async () => {
      setup();
      const store = await open({ maxHistoryChars: 12 });
      const alice = who('alice');
      const id = thread('h');
      await turn(store, id, alice, 'aaaa', 'bbbb');
      const unfinished = await turn(store, id, alice, 'cc');
      const next = await store.beginTurn({ threadId: id, owner: alice, message: 'dd', streamId: 's' });
      // 'dd' (2) + 'cc' (2) + 'bbbb' (4) + 'aaaa' (4) = 12 fits; the streaming empty reply is not history.
      expect(next.history.map((message) => message.content)).toEqual(['aaaa', 'bbbb', 'cc', 'dd']);
      await store.updateMessage({
        threadId: id,
        messageId: unfinished.assistantMessageId,
        content: 'e',
        status: 'cancelled',
      });
      const last = await store.beginTurn({ threadId: id, owner: alice, message: 'ff', streamId: 's' });
      // 'ff' + 'dd' + 'e' + 'cc' = 7; 'bbbb' would make 11, 'aaaa' 15 > 12.
      expect(last.history.map((message) => message.content)).toEqual(['bbbb', 'cc', 'e', 'dd', 'ff']);
    });

    it('keeps the partial text of a cancelled reply exactly, and a final status is final', async () => {
      setup();
      const store = await open();
      const alice = who('alice');
      const id = thread('c');
      const { assistantMessageId } = await turn(store, id, alice, 'count');
      await store.updateMessage({
        threadId: id,
        messageId: assistantMessageId,
        content: 'one two',
        status: 'streaming',
      });
      expect(
        await store.updateMessage({
          threadId: id,
          messageId: assistantMessageId,
          content: 'one two thr',
          status: 'cancelled',
        }),
      ).toBe(true);
      // A checkpoint that arrives late, or a second end, changes nothing.
      expect(
        await store.updateMessage({ threadId: id, messageId: assistantMessageId, content: 'one', status: 'streaming' }),
      ).toBe(false);
      expect(
        await store.updateMessage({ threadId: id, messageId: assistantMessageId, content: 'x', status: 'complete' }),
      ).toBe(false);
      expect(
        await store.updateMessage({ threadId: id, messageId: 'msg_unknown', content: 'x', status: 'complete' }),
      ).toBe(false);
      const reply = (await store.getThread(id, alice))?.messages[1];
      expect(reply).toMatchObject({ content: 'one two thr', status: 'cancelled' });
    });

    it('stores every final status', async () => {
      setup();
      const store = await open();
      const alice = who('alice');
      for (const status of ['complete', 'cancelled', 'error', 'interrupted'] as const) {
        const id = thread(status);
        const { assistantMessageId } = await turn(store, id, alice, status);
        await store.updateMessage({ threadId: id, messageId: assistantMessageId, content: `text ${status}`, status });
        expect((await store.getThread(id, alice))?.messages[1]).toMatchObject({ content: `text ${status}`, status });
      }
    });

    it('serves two turns that start at once on a new thread: one creates it, both are stored', async () => {
      setup();
      const store = await open();
      const alice = who('alice');
      const id = thread('race');
      const [left, right] = await Promise.all([turn(store, id, alice, 'left'), turn(store, id, alice, 'right')]);
      expect([left.threadCreated, right.threadCreated].sort()).toEqual([false, true]);
      const contents = (await store.getThread(id, alice))?.messages.map((message) => message.content);
      expect(contents).toHaveLength(4);
      expect([...(contents ?? [])].sort()).toEqual(['', '', 'left', 'right']);
    });
  });

  describe('lists', () => {
    it('lists only the owner threads, newest first by updatedAt, in pages with a stable cursor', async () => {
      setup();
      const store = await open();
      const alice = who('alice');
      for (const name of ['t1', 't2', 't3', 't4', 't5']) await turn(store, thread(name), alice, `hello ${name}`, 'hi');
      await turn(store, thread('other'), who('bob'), 'not yours', 'hi');
      // A new turn moves t2 to the top.
      await turn(store, thread('t2'), alice, 'again', 'hi');

      const first = await store.listThreads(alice, { limit: 2 });
      expect(first.threads.map((entry) => entry.id)).toEqual([thread('t2'), thread('t5')]);
      expect(first.threads[0]).toEqual({
        id: thread('t2'),
        title: 'hello t2',
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(first.nextCursor).toEqual(expect.any(String));
      const second = await store.listThreads(alice, { limit: 2, cursor: first.nextCursor ?? '' });
      expect(second.threads.map((entry) => entry.id)).toEqual([thread('t4'), thread('t3')]);
      const third = await store.listThreads(alice, { limit: 2, cursor: second.nextCursor ?? '' });
      expect(third.threads.map((entry) => entry.id)).toEqual([thread('t1')]);
      expect(third.nextCursor).toBeNull();
      // A thread written after the first page was read does not shift the pages after it.
      await turn(store, thread('t1'), alice, 'bump', 'hi');
      const again = await store.listThreads(alice, { limit: 2, cursor: first.nextCursor ?? '' });
      expect(again.threads.map((entry) => entry.id)).toEqual([thread('t4'), thread('t3')]);

      const oldestFirst = await store.listThreads(alice, { order: 'asc', limit: 10 });
      expect(oldestFirst.threads.map((entry) => entry.id)).toEqual([
        thread('t3'),
        thread('t4'),
        thread('t5'),
        thread('t2'),
        thread('t1'),
      ]);
      expect(oldestFirst.nextCursor).toBeNull();
      expect((await store.listThreads(alice)).threads).toHaveLength(5);
      expect((await store.listThreads(who('nobody'))).threads).toEqual([]);
    });

    it('moves a thread up while its reply streams (updateMessage bumps updatedAt)', async () => {
      setup();
      const store = await open();
      const alice = who('alice');
      const streaming = await turn(store, thread('old'), alice, 'first');
      await turn(store, thread('new'), alice, 'second', 'done');
      expect((await store.listThreads(alice)).threads[0]?.id).toBe(thread('new'));
      await store.updateMessage({
        threadId: thread('old'),
        messageId: streaming.assistantMessageId,
        content: 'x',
        status: 'streaming',
      });
      expect((await store.listThreads(alice)).threads[0]?.id).toBe(thread('old'));
    });

    it('refuses a cursor it did not give out, and clamps the page size', async () => {
      setup();
      const store = await open();
      const alice = who('alice');
      await expect(store.listThreads(alice, { cursor: 'not-a-cursor' })).rejects.toThrow(
        expectCode('invalid_cursor', 400),
      );
      for (let index = 0; index < 3; index += 1) await turn(store, thread(`p${index}`), alice, 'x');
      expect((await store.listThreads(alice, { limit: 0 })).threads).toHaveLength(1);
      expect((await store.listThreads(alice, { limit: 1000 })).threads).toHaveLength(3);
    });

    it('returns the newest messages of a long thread, oldest first, with hasMore', async () => {
      setup();
      const store = await open();
      const alice = who('alice');
      const id = thread('long');
      for (let index = 1; index <= 3; index += 1) await turn(store, id, alice, `q${index}`, `a${index}`);
      const page = await store.getThread(id, alice, { limit: 3 });
      expect(page?.messages.map((message) => message.content)).toEqual(['a2', 'q3', 'a3']);
      expect(page?.hasMore).toBe(true);
      expect(await store.getThread(thread('missing'), alice)).toBeUndefined();
    });
  });

  describe('ownership and deletion', () => {
    it('hides a thread from every other principal and refuses their turns, leaving it unchanged', async () => {
      setup();
      const store = await open();
      const alice = who('alice');
      const bob = who('bob');
      const id = thread('private');
      await turn(store, id, alice, 'secret', 'ok');
      for (const intruder of [bob, undefined]) {
        expect(await store.getThread(id, intruder)).toBeUndefined();
        expect(await store.loadThread(id, intruder)).toBeUndefined();
        expect((await store.listThreads(intruder)).threads.map((entry) => entry.id)).not.toContain(id);
        await expect(store.beginTurn({ threadId: id, owner: intruder, message: 'hi', streamId: 's' })).rejects.toThrow(
          expectCode('not_found', 404),
        );
        expect(await store.deleteThread(id, intruder)).toBe(false);
        await expect(store.addItem(id, intruder, { role: 'user', content: 'x' })).rejects.toThrow(
          expectCode('not_found', 404),
        );
        await expect(store.saveThread({ id, owner: intruder, title: 'mine' })).rejects.toThrow(
          expectCode('not_found', 404),
        );
        await expect(store.loadItems(id, intruder)).rejects.toThrow(expectCode('not_found', 404));
      }
      const intact = await store.getThread(id, alice);
      expect(intact?.title).toBe('secret');
      expect(intact?.messages.map((message) => message.content)).toEqual(['secret', 'ok']);
    });

    it('keeps the anonymous principal (auth off) apart from named ones', async () => {
      setup();
      const store = await open();
      const id = thread('anon');
      await turn(store, id, undefined, 'hello', 'hi');
      expect((await store.getThread(id, undefined))?.messages).toHaveLength(2);
      expect(await store.getThread(id, who('alice'))).toBeUndefined();
    });

    it('deletes a thread with its items and attachments; a second delete finds nothing', async () => {
      setup();
      const store = await open();
      const alice = who('alice');
      const id = thread('gone');
      await turn(store, id, alice, 'bye', 'ok');
      await store.saveAttachment({
        id: `atc-${suffix}`,
        owner: alice,
        threadId: id,
        name: 'a.png',
        mimeType: 'image/png',
        data: null,
      });
      expect(await store.deleteThread(id, alice)).toBe(true);
      expect(await store.deleteThread(id, alice)).toBe(false);
      expect(await store.getThread(id, alice)).toBeUndefined();
      expect((await store.listThreads(alice)).threads).toEqual([]);
      expect(await store.loadAttachment(`atc-${suffix}`, alice)).toBeUndefined();
      // The id is free again: a new conversation starts from nothing.
      const fresh = await turn(store, id, alice, 'new start');
      expect(fresh.threadCreated).toBe(true);
      expect(fresh.history).toEqual([{ role: 'user', content: 'new start' }]);
    });
  });

  describe('restart', () => {
    it.runIf(target.durable)('finds every thread again after a restart, and the messages left streaming', async () => {
      setup();
      const store = await open();
      const alice = who('alice');
      const id = thread('durable');
      await turn(store, id, alice, 'first', 'reply one');
      const cut = await turn(store, id, alice, 'second');
      await store.updateMessage({
        threadId: id,
        messageId: cut.assistantMessageId,
        content: 'up to the checkpoint',
        status: 'streaming',
      });
      await store.close();

      const reopened = await open();
      expect((await reopened.listThreads(alice)).threads.map((entry) => entry.id)).toEqual([id]);
      const streaming = (await reopened.listStreamingMessages()).filter((message) => message.threadId === id);
      expect(streaming).toEqual([
        {
          threadId: id,
          messageId: cut.assistantMessageId,
          owner: alice,
          streamId: 'stream-second',
          content: 'up to the checkpoint',
          createdAt: expect.any(String),
        },
      ]);
      // Recovery: the run is gone, so the reply is interrupted with the text it had.
      await reopened.updateMessage({
        threadId: id,
        messageId: cut.assistantMessageId,
        content: 'up to the checkpoint',
        status: 'interrupted',
      });
      expect((await reopened.listStreamingMessages()).filter((message) => message.threadId === id)).toEqual([]);
      const next = await reopened.beginTurn({ threadId: id, owner: alice, message: 'third', streamId: 's3' });
      expect(next.history.map((message) => message.content)).toEqual([
        'first',
        'reply one',
        'second',
        'up to the checkpoint',
        'third',
      ]);
    });
  });

  describe('items and attachments (the ChatKit store)', () => {
    it('saves thread metadata and items of any kind, in insertion order, with JSON data', async () => {
      setup();
      const store = await open();
      const alice = who('alice');
      const id = thread('ck');
      const created = await store.saveThread({ id, owner: alice, metadata: { status: { type: 'active' } } });
      expect(created).toMatchObject({ id, title: null, metadata: { status: { type: 'active' } } });
      expect((await store.saveThread({ id, owner: alice, title: 'Named' })).metadata).toEqual({
        status: { type: 'active' },
      });
      expect(await store.loadThread(id, alice)).toMatchObject({
        title: 'Named',
        metadata: { status: { type: 'active' } },
      });

      const user = await store.addItem(id, alice, { id: 'msg_1', role: 'user', content: 'Weather?' });
      const widget = await store.addItem(id, alice, {
        id: 'msg_2',
        role: 'assistant',
        kind: 'widget',
        data: { type: 'Card', children: [{ type: 'Text', value: 'Sunny' }], copy: 'ü ✓' },
      });
      await store.addItem(id, alice, {
        id: 'shcx_1',
        role: 'assistant',
        kind: 'sdk_hidden_context',
        content: 'cancelled',
      });
      const generated = await store.addItem(id, alice, { role: 'assistant', content: 'It is sunny.' });
      expect(generated.id).toMatch(/^msg_/);
      expect(user).toMatchObject({ threadId: id, kind: 'message', status: 'complete', streamId: null, data: null });
      expect(await store.loadItem(id, alice, 'msg_2')).toEqual(widget);
      await expect(store.addItem(id, alice, { id: 'msg_1', role: 'user' })).rejects.toThrow(expectCode('bad_request'));

      // Upsert keeps the item's place and creation time.
      const updated = await store.saveItem(id, alice, {
        id: 'msg_2',
        role: 'assistant',
        kind: 'widget',
        data: { type: 'Card', children: [] },
      });
      expect(updated.createdAt).toBe(widget.createdAt);
      await store.saveItem(id, alice, {
        id: 'tc_1',
        role: 'assistant',
        kind: 'client_tool_call',
        status: 'complete',
        data: { name: 'x' },
      });
      const all = await store.loadItems(id, alice, { limit: 10 });
      expect(all.items.map((item) => item.id)).toEqual(['msg_1', 'msg_2', 'shcx_1', generated.id, 'tc_1']);
      expect(all.items[1]?.data).toEqual({ type: 'Card', children: [] });
      expect(all).toMatchObject({ hasMore: false, after: null });
      // getThread returns messages only.
      expect((await store.getThread(id, alice))?.messages.map((message) => message.id)).toEqual([
        'msg_1',
        generated.id,
      ]);

      const page1 = await store.loadItems(id, alice, { limit: 2, order: 'desc' });
      expect(page1).toMatchObject({ hasMore: true, after: generated.id });
      expect(page1.items.map((item) => item.id)).toEqual(['tc_1', generated.id]);
      const page2 = await store.loadItems(id, alice, { limit: 2, order: 'desc', after: page1.after ?? '' });
      expect(page2.items.map((item) => item.id)).toEqual(['shcx_1', 'msg_2']);
      const asc = await store.loadItems(id, alice, { limit: 2, after: 'msg_2' });
      expect(asc.items.map((item) => item.id)).toEqual(['shcx_1', generated.id]);
      await expect(store.loadItems(id, alice, { after: 'nope' })).rejects.toThrow(expectCode('invalid_cursor', 400));

      expect(await store.deleteItem(id, alice, 'shcx_1')).toBe(true);
      expect(await store.deleteItem(id, alice, 'shcx_1')).toBe(false);
      expect(await store.deleteItem(id, who('bob'), 'msg_1')).toBe(false);
      expect(await store.loadItem(id, who('bob'), 'msg_1')).toBeUndefined();
      expect((await store.loadItems(id, alice)).items).toHaveLength(4);
    });

    it('keeps attachment metadata per owner, upserted by id', async () => {
      setup();
      const store = await open();
      const alice = who('alice');
      const id = `atc-${suffix}`;
      const saved = await store.saveAttachment({
        id,
        owner: alice,
        threadId: null,
        name: 'a.png',
        mimeType: 'image/png',
        data: { upload: 1 },
      });
      const again = await store.saveAttachment({ ...saved, threadId: thread('x'), data: { preview_url: 'data:,' } });
      expect(again).toEqual({ ...saved, threadId: thread('x'), data: { preview_url: 'data:,' } });
      expect(await store.loadAttachment(id, alice)).toEqual(again);
      expect(await store.loadAttachment(id, who('bob'))).toBeUndefined();
      await expect(store.saveAttachment({ ...saved, owner: who('bob') })).rejects.toThrow(expectCode('not_found', 404));
      expect(await store.deleteAttachment(id, who('bob'))).toBe(false);
      expect(await store.deleteAttachment(id, alice)).toBe(true);
      expect(await store.loadAttachment(id, alice)).toBeUndefined();
    });
  });
}
