/**
 * ChatKit protocol conformance, from reference/chatkit-protocol.md (whose JSON examples are the
 * reference server's exact output): every request type over a real socket, request → the exact
 * event kinds and order, the JSON shapes, persistence, pagination and every error path. The
 * responders here yield the note's documented events, as the reference's own tests do.
 */
import {
  type ChatKitEvent,
  type ChatKitRespond,
  ChatKitStreamError,
  type ChatKitThreadItem,
  createApiKeyAuth,
  createCorsPolicy,
} from 'streamwell/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createScriptedProvider } from '../server/helpers/scripted-provider.ts';
import { callChatKit, kinds, streamChatKit, userInput } from './helpers/chatkit-client.ts';
import { type ChatKitTestServer, startChatKitServer } from './helpers/start-chatkit-server.ts';

const ANY_ID = expect.any(String);
const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

/** A thread as the client sees it (the reference's shape): `metadata` always `{}`, an empty items page. */
const clientThread = (fields: Record<string, unknown>) => ({
  created_at: ISO,
  status: { type: 'active' },
  metadata: {},
  items: { data: [], has_more: false },
  ...fields,
});

/** A responder that yields fixed events (their `thread_id` filled in). */
function yields(...make: ((threadId: string) => ChatKitEvent)[]): ChatKitRespond {
  return async function* (request) {
    for (const event of make) yield event(request.thread.id);
  };
}

const assistantDone =
  (id: string, text: string) =>
  (threadId: string): ChatKitEvent => ({
    type: 'thread.item.done',
    item: {
      id,
      thread_id: threadId,
      created_at: new Date().toISOString(),
      type: 'assistant_message',
      content: [{ annotations: [], text, type: 'output_text' }],
    },
  });

const itemDone =
  (item: Record<string, unknown>) =>
  (threadId: string): ChatKitEvent => ({
    type: 'thread.item.done',
    item: { thread_id: threadId, created_at: new Date().toISOString(), ...item } as unknown as ChatKitThreadItem,
  });

describe('ChatKit protocol', () => {
  let server: ChatKitTestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(...args: Partial<Parameters<typeof startChatKitServer>>): Promise<ChatKitTestServer> {
    const [provider = createScriptedProvider({ autoReply: ['Hel', 'lo'] }).provider, options, registryOptions] = args;
    server = await startChatKitServer(provider, options, registryOptions);
    return server;
  }

  async function createThread(url: string, text = 'Hi'): Promise<string> {
    const read = await streamChatKit(url, { type: 'threads.create', params: { input: userInput(text) } });
    return read.events[0]?.thread.id as string;
  }

  describe('framing and requests', () => {
    it('streams text/event-stream with one data line of compact JSON per event, nothing else, ended by the server', async () => {
      const { url } = await start(undefined, { title: false });
      const read = await streamChatKit(url, { type: 'threads.create', params: { input: userInput('Hi') } });
      expect(read.status).toBe(200);
      expect(read.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(read.headers.get('cache-control')).toContain('no-cache');
      expect(read.text).toMatch(/^(data: [^\n]+\n\n)+$/);
      for (const frame of read.text.split('\n\n').filter((part) => part !== '')) {
        const json = frame.slice('data: '.length);
        expect(json).toBe(JSON.stringify(JSON.parse(json)));
      }
      expect(read.text).not.toMatch(/^(id|event|retry):/m);
      expect(read.text).not.toContain('null');
    });

    it('answers the other request types with one JSON document', async () => {
      const { url } = await start();
      const answer = await callChatKit(url, { type: 'threads.list', params: {} });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(answer.json).toEqual({ data: [], has_more: false });
    });

    it('refuses what is not a request with 400 JSON errors, and ignores fields it does not know', async () => {
      const { url } = await start();
      const invalid = async (body: unknown, code = 'bad_request') => {
        const answer = await callChatKit(url, body);
        expect(answer.status).toBe(400);
        expect(answer.json).toEqual({ error: { code, message: expect.any(String) } });
        return answer.json.error.message as string;
      };
      await invalid('{"type":', 'invalid_json');
      expect(await invalid({ type: 'threads.nope', params: {} })).toContain('threads.nope');
      expect(
        await invalid({
          type: 'threads.create',
          params: { input: { content: [{ type: 'input_text', text: 'x' }], attachments: [] } },
        }),
      ).toContain('inference_options');
      await invalid({ type: 'threads.get_by_id', params: { thread_id: 7 } });
      await invalid({ type: 'threads.list', params: { order: 'sideways' } });
      await invalid({ type: 'items.feedback', params: { thread_id: 't', item_ids: [], kind: 'meh' } });
      await invalid({ type: 'input.transcribe', params: { audio_base64: '***', mime_type: 'audio/webm' } });
      const extra = await callChatKit(url, {
        type: 'threads.list',
        params: { limit: 5, surprise: true },
        metadata: { a: 1 },
        x: 1,
      });
      expect(extra.status).toBe(200);
    });

    it('checks origin, method, key, content type and size before anything else, like the stream endpoints', async () => {
      const { url } = await start(undefined, {
        auth: createApiKeyAuth([{ id: 'alice', key: 'k-alice' }]),
        cors: createCorsPolicy({ origins: ['http://app.test'] }),
        maxBodyBytes: 1024,
      });
      const list = { type: 'threads.list', params: {} };
      const auth = { authorization: 'Bearer k-alice' };
      expect((await callChatKit(url, list, { headers: { ...auth, origin: 'http://evil.test' } })).json.error.code).toBe(
        'origin_not_allowed',
      );
      expect((await callChatKit(url, list)).status).toBe(401);
      const allowed = await callChatKit(url, list, { headers: { ...auth, origin: 'http://app.test' } });
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('http://app.test');
      expect(allowed.headers.get('vary')).toBe('Origin');
      const form = await callChatKit(url, list, {
        headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(form.status).toBe(415);
      const big = await callChatKit(url, { ...list, padding: 'x'.repeat(2000) }, { headers: auth });
      expect(big.status).toBe(413);
      const get = await fetch(url, { headers: auth });
      expect(get.status).toBe(405);
      expect(get.headers.get('allow')).toBe('POST, OPTIONS');
      const preflight = await fetch(url, {
        method: 'OPTIONS',
        headers: { origin: 'http://app.test', 'access-control-request-method': 'POST' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('http://app.test');
    });
  });

  describe('streaming request types', () => {
    it('threads.create: thread.created, the user message, stream_options, the responder: 4 events for one item', async () => {
      const { url } = await start(undefined, { title: false, respond: yields(assistantDone('msg_a', 'Hi there')) });
      const read = await streamChatKit(url, {
        type: 'threads.create',
        params: {
          input: userInput('Hi', {
            quoted_text: 'earlier',
            inference_options: { model: 'm', tool_choice: { id: 'search' } },
          }),
        },
      });
      expect(kinds(read.events)).toEqual([
        'thread.created',
        'done:user_message',
        'stream_options',
        'done:assistant_message',
      ]);
      const [created, user, options, reply] = read.events;
      expect(created).toEqual({
        type: 'thread.created',
        thread: clientThread({ id: ANY_ID }),
      });
      const threadId = created?.thread.id;
      expect(threadId).toMatch(/^thr_/);
      expect(user).toEqual({
        type: 'thread.item.done',
        item: {
          id: expect.stringMatching(/^msg_/),
          thread_id: threadId,
          created_at: ISO,
          type: 'user_message',
          content: [{ type: 'input_text', text: 'Hi' }],
          attachments: [],
          quoted_text: 'earlier',
          inference_options: { tool_choice: { id: 'search' }, model: 'm' },
        },
      });
      expect(options).toEqual({ type: 'stream_options', stream_options: { allow_cancel: true } });
      expect(reply?.item).toMatchObject({ id: 'msg_a', thread_id: threadId, type: 'assistant_message' });
      // The thread as stored is the thread as announced.
      const stored = await callChatKit(url, { type: 'threads.get_by_id', params: { thread_id: threadId } });
      expect(stored.json.created_at).toBe(created?.thread.created_at);
      expect(stored.json.items.data.map((item: ChatKitThreadItem) => item.id)).toEqual([user?.item.id, 'msg_a']);
    });

    it('one more event before the item is 5 events', async () => {
      const { url } = await start(undefined, {
        title: false,
        respond: yields(
          () => ({ type: 'progress_update', icon: 'search', text: 'Searching...' }),
          assistantDone('msg_a', 'x'),
        ),
      });
      const read = await streamChatKit(url, { type: 'threads.create', params: { input: userInput('Hi') } });
      expect(kinds(read.events)).toEqual([
        'thread.created',
        'done:user_message',
        'stream_options',
        'progress_update',
        'done:assistant_message',
      ]);
      expect(read.events[3]).toEqual({ type: 'progress_update', icon: 'search', text: 'Searching...' });
    });

    it('the default reply is a run: added, content part, a delta per token, part done, item done; the title follows the next event', async () => {
      const { url } = await start();
      const read = await streamChatKit(url, { type: 'threads.create', params: { input: userInput('  Hi   there ') } });
      expect(kinds(read.events)).toEqual([
        'thread.created',
        'done:user_message',
        'stream_options',
        'added:assistant_message',
        'thread.updated',
        'updated:added',
        'updated:text_delta',
        'updated:text_delta',
        'updated:done',
        'done:assistant_message',
      ]);
      const threadId = read.events[0]?.thread.id;
      const added = read.events[3];
      expect(added?.item).toEqual({
        id: expect.stringMatching(/^msg_/),
        thread_id: threadId,
        created_at: ISO,
        type: 'assistant_message',
        content: [],
      });
      expect(read.events[4]?.thread).toEqual(clientThread({ title: 'Hi there', id: threadId }));
      const id = added?.item.id;
      expect(read.events.slice(5, 9)).toEqual([
        {
          type: 'thread.item.updated',
          item_id: id,
          update: {
            type: 'assistant_message.content_part.added',
            content_index: 0,
            content: { annotations: [], text: '', type: 'output_text' },
          },
        },
        {
          type: 'thread.item.updated',
          item_id: id,
          update: { type: 'assistant_message.content_part.text_delta', content_index: 0, delta: 'Hel' },
        },
        {
          type: 'thread.item.updated',
          item_id: id,
          update: { type: 'assistant_message.content_part.text_delta', content_index: 0, delta: 'lo' },
        },
        {
          type: 'thread.item.updated',
          item_id: id,
          update: {
            type: 'assistant_message.content_part.done',
            content_index: 0,
            content: { annotations: [], text: 'Hello', type: 'output_text' },
          },
        },
      ]);
      expect(read.events[9]?.item).toEqual({
        ...added?.item,
        content: [{ annotations: [], text: 'Hello', type: 'output_text' }],
      });
      const stored = await callChatKit(url, { type: 'threads.get_by_id', params: { thread_id: threadId } });
      expect(stored.json.title).toBe('Hi there');
      expect(stored.json.items.data.map((item: ChatKitThreadItem) => item.type)).toEqual([
        'user_message',
        'assistant_message',
      ]);
    });

    it('threads.add_user_message: the user message, stream_options, the responder with the new message and the history', async () => {
      const scripted = createScriptedProvider({ autoReply: ['ok'] });
      const { url } = await start(scripted.provider);
      const threadId = await createThread(url, 'first');
      const read = await streamChatKit(url, {
        type: 'threads.add_user_message',
        params: { thread_id: threadId, input: userInput('second') },
      });
      expect(kinds(read.events).slice(0, 3)).toEqual([
        'done:user_message',
        'stream_options',
        'added:assistant_message',
      ]);
      expect(kinds(read.events)).not.toContain('thread.updated');
      expect(scripted.calls[1]?.request.messages).toEqual([
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: 'second' },
      ]);
      const missing = await streamChatKit(url, {
        type: 'threads.add_user_message',
        params: { thread_id: 'thr_missing', input: userInput('x') },
      });
      expect(missing.status).toBe(200);
      expect(missing.events).toEqual([
        { type: 'error', code: 'custom', message: expect.stringContaining('thr_missing'), allow_retry: false },
      ]);
    });

    it('threads.add_client_tool_output: stream_options first, the call completed with the output, older pending calls dropped', async () => {
      let turn = 0;
      const inputs: unknown[] = [];
      const call = (id: string) =>
        itemDone({
          id,
          type: 'client_tool_call',
          status: 'pending',
          call_id: `call_${id}`,
          name: 'get_sel',
          arguments: { a: 1 },
        });
      const { url } = await start(undefined, {
        title: false,
        respond: (request) => {
          inputs.push(request.input);
          turn += 1;
          return turn === 1
            ? yields(call('tc_old'), call('tc_1'))(request)
            : yields(assistantDone('msg_r', 'done'))(request);
        },
      });
      const threadId = await createThread(url);
      const read = await streamChatKit(url, {
        type: 'threads.add_client_tool_output',
        params: { thread_id: threadId, result: { selection: 'abc' } },
      });
      expect(kinds(read.events)).toEqual(['stream_options', 'done:assistant_message']);
      expect(inputs[1]).toBeNull();
      const items = (await callChatKit(url, { type: 'items.list', params: { thread_id: threadId, order: 'asc' } })).json
        .data;
      expect(items.map((item: ChatKitThreadItem) => item.id)).toEqual([expect.any(String), 'tc_1', 'msg_r']);
      expect(items[1]).toMatchObject({
        status: 'completed',
        output: { selection: 'abc' },
        call_id: 'call_tc_1',
        arguments: { a: 1 },
      });
      const again = await streamChatKit(url, {
        type: 'threads.add_client_tool_output',
        params: { thread_id: threadId, result: {} },
      });
      expect(again.events).toEqual([
        { type: 'error', code: 'custom', message: expect.any(String), allow_retry: false },
      ]);
    });

    it('threads.add_structured_input: stream_options, the answered item replaced, the responder; answers as the reference fills them', async () => {
      let turn = 0;
      const { url } = await start(undefined, {
        title: false,
        respond: (request) => {
          turn += 1;
          if (turn > 1) return yields(assistantDone('msg_after', 'thanks'))(request);
          return yields(
            itemDone({
              id: 'msg_s',
              type: 'structured_input',
              status: 'pending',
              inputs: [
                {
                  id: 'p',
                  question: 'Priority?',
                  type: 'multiple_choice',
                  options: [{ value: 'Low' }, { value: 'High' }],
                  multiple: false,
                },
                { id: 'n', question: 'Notes?', type: 'freeform' },
                { id: 'x', question: 'Skip me', type: 'freeform' },
              ],
            }),
          )(request);
        },
      });
      const threadId = await createThread(url);
      const read = await streamChatKit(url, {
        type: 'threads.add_structured_input',
        params: {
          thread_id: threadId,
          item_id: 'msg_s',
          input: {
            status: 'answered',
            answers: {
              p: { values: ['High', 'Low'], skipped: false },
              x: { values: ['y'], skipped: true },
              zz: { values: ['?'], skipped: false },
            },
          },
        },
      });
      expect(kinds(read.events)).toEqual(['stream_options', 'replaced:structured_input', 'done:assistant_message']);
      const replaced = read.events[1]?.item;
      expect(replaced).toMatchObject({ id: 'msg_s', status: 'answered' });
      expect(replaced.inputs.map((input: { answer: unknown }) => input.answer)).toEqual([
        { values: ['High'], skipped: false },
        { skipped: true },
        { skipped: true },
      ]);
      const stored = await callChatKit(url, { type: 'items.list', params: { thread_id: threadId, order: 'asc' } });
      expect(stored.json.data[1]).toEqual(replaced);
      const twice = await streamChatKit(url, {
        type: 'threads.add_structured_input',
        params: { thread_id: threadId, item_id: 'msg_s', input: { status: 'skipped', answers: {} } },
      });
      expect(kinds(twice.events)).toEqual(['error']);
    });

    it('threads.retry_after_item: stream_options and the reply to that message; newer items deleted without events', async () => {
      let turn = 0;
      const inputs: unknown[] = [];
      const { url } = await start(undefined, {
        title: false,
        respond: (request) => {
          inputs.push(request.input);
          turn += 1;
          return yields(assistantDone(`msg_reply${turn}`, `reply ${turn}`))(request);
        },
      });
      const threadId = await createThread(url, 'question');
      await streamChatKit(url, {
        type: 'threads.add_user_message',
        params: { thread_id: threadId, input: userInput('second') },
      });
      const before = (await callChatKit(url, { type: 'items.list', params: { thread_id: threadId, order: 'asc' } }))
        .json.data;
      const first = before[0];
      expect(before.map((item: ChatKitThreadItem) => item.type)).toEqual([
        'user_message',
        'assistant_message',
        'user_message',
        'assistant_message',
      ]);
      const read = await streamChatKit(url, {
        type: 'threads.retry_after_item',
        params: { thread_id: threadId, item_id: first.id },
      });
      expect(kinds(read.events)).toEqual(['stream_options', 'done:assistant_message']);
      expect(inputs[2]).toEqual(first);
      const after = (await callChatKit(url, { type: 'items.list', params: { thread_id: threadId, order: 'asc' } })).json
        .data;
      expect(after.map((item: ChatKitThreadItem) => item.id)).toEqual([first.id, 'msg_reply3']);
      const notUser = await streamChatKit(url, {
        type: 'threads.retry_after_item',
        params: { thread_id: threadId, item_id: 'msg_reply3' },
      });
      expect(notUser.events).toEqual([
        { type: 'error', code: 'custom', message: expect.any(String), allow_retry: false },
      ]);
      const missing = await streamChatKit(url, {
        type: 'threads.retry_after_item',
        params: { thread_id: threadId, item_id: 'msg_nope' },
      });
      expect(kinds(missing.events)).toEqual(['error']);
    });

    it('threads.custom_action: stream_options and the action events on the widget; a sender that is no widget: stream.error without retry', async () => {
      const widget = { type: 'Card', children: [{ id: 't', type: 'Text', value: 'Hello' }] };
      const seen: unknown[] = [];
      const { url } = await start(undefined, {
        title: false,
        respond: yields(
          itemDone({ id: 'msg_w', type: 'widget', widget, copy_text: 'Hello' }),
          assistantDone('msg_t', 'text'),
        ),
        action: async function* (request) {
          seen.push({ action: request.action, sender: request.sender?.id });
          yield {
            type: 'thread.item.updated',
            item_id: 'msg_w',
            update: { type: 'widget.root.updated', widget: { ...widget, status: 'saved' } },
          };
        },
      });
      const threadId = await createThread(url);
      const read = await streamChatKit(url, {
        type: 'threads.custom_action',
        params: { thread_id: threadId, item_id: 'msg_w', action: { type: 'save', payload: { id: 1 } } },
      });
      expect(kinds(read.events)).toEqual(['stream_options', 'updated:widget.root.updated']);
      expect(seen).toEqual([{ action: { type: 'save', payload: { id: 1 } }, sender: 'msg_w' }]);
      const notWidget = await streamChatKit(url, {
        type: 'threads.custom_action',
        params: { thread_id: threadId, item_id: 'msg_t', action: { type: 'save' } },
      });
      expect(notWidget.events).toEqual([{ type: 'error', code: 'stream.error', allow_retry: false }]);
    });

    it('a custom action without a handler is an error event', async () => {
      const { url } = await start(undefined, { title: false });
      const threadId = await createThread(url);
      const read = await streamChatKit(url, {
        type: 'threads.custom_action',
        params: { thread_id: threadId, action: { type: 'x' } },
      });
      expect(read.events).toEqual([{ type: 'error', code: 'custom', message: expect.any(String), allow_retry: false }]);
    });

    it('a thread the responder changes is saved and sent as thread.updated after the next event, or at the end', async () => {
      const { url } = await start(undefined, {
        title: false,
        respond: async function* (request) {
          request.thread.title = 'T';
          request.thread.status = { type: 'locked', reason: 'x' };
          request.thread.metadata = { previous_response_id: 'resp_1' };
          yield { type: 'progress_update', text: 'one' };
          yield { type: 'progress_update', text: 'two' };
          request.thread.status = { type: 'closed' };
        },
      });
      const read = await streamChatKit(url, { type: 'threads.create', params: { input: userInput('Hi') } });
      expect(kinds(read.events)).toEqual([
        'thread.created',
        'done:user_message',
        'stream_options',
        'progress_update',
        'thread.updated',
        'progress_update',
        'thread.updated',
      ]);
      expect(read.events[4]?.thread).toEqual(
        clientThread({ title: 'T', id: read.events[0]?.thread.id, status: { type: 'locked', reason: 'x' } }),
      );
      expect(read.events[6]?.thread.status).toEqual({ type: 'closed' });
      const stored = await callChatKit(url, {
        type: 'threads.get_by_id',
        params: { thread_id: read.events[0]?.thread.id },
      });
      expect(stored.json).toMatchObject({ title: 'T', status: { type: 'closed' }, metadata: {} });
    });
  });

  describe('persistence', () => {
    it('stores done items, not added or updated ones; applies removed and replaced; hidden items are stored for the model only', async () => {
      const scripted = createScriptedProvider({ autoReply: ['ok'] });
      let turn = 0;
      const { url, threads } = await start(scripted.provider, {
        title: false,
        respond: (request) => {
          turn += 1;
          if (turn === 1) {
            return yields(
              () => ({
                type: 'thread.item.added',
                item: {
                  id: 'wf_1',
                  thread_id: request.thread.id,
                  created_at: new Date().toISOString(),
                  type: 'workflow',
                  workflow: { type: 'custom', tasks: [], expanded: false },
                } as unknown as ChatKitThreadItem,
              }),
              () => ({
                type: 'thread.item.updated',
                item_id: 'wf_1',
                update: {
                  type: 'workflow.task.added',
                  task_index: 0,
                  task: { status_indicator: 'none', type: 'thought', content: 'thinking' },
                },
              }),
              assistantDone('msg_a', 'visible'),
              itemDone({ id: 'hc_1', type: 'hidden_context_item', content: 'The user prefers French.' }),
              itemDone({ id: 'msg_w', type: 'widget', widget: { type: 'Card', children: [] } }),
            )(request);
          }
          if (turn === 2) {
            return yields(
              (threadId) => ({
                type: 'thread.item.replaced',
                item: {
                  id: 'msg_w',
                  thread_id: threadId,
                  created_at: new Date().toISOString(),
                  type: 'widget',
                  widget: { type: 'Card', children: [{ type: 'Text', value: 'new' }] },
                } as unknown as ChatKitThreadItem,
              }),
              () => ({ type: 'thread.item.removed', item_id: 'msg_a' }),
            )(request);
          }
          return request.streamRun();
        },
      });
      const first = await streamChatKit(url, { type: 'threads.create', params: { input: userInput('Hi') } });
      const threadId = first.events[0]?.thread.id as string;
      expect(kinds(first.events)).toEqual([
        'thread.created',
        'done:user_message',
        'stream_options',
        'added:workflow',
        'updated:workflow.task.added',
        'done:assistant_message',
        'done:widget',
      ]);
      const listed = async () =>
        (await callChatKit(url, { type: 'items.list', params: { thread_id: threadId, order: 'asc' } })).json.data.map(
          (item: ChatKitThreadItem) => item.id,
        );
      expect((await listed()).slice(1)).toEqual(['msg_a', 'msg_w']);
      // Stored all the same, for the model.
      expect((await threads.loadItems(threadId, undefined)).items.map((item) => item.id).slice(1)).toEqual([
        'msg_a',
        'hc_1',
        'msg_w',
      ]);

      const second = await streamChatKit(url, {
        type: 'threads.add_user_message',
        params: { thread_id: threadId, input: userInput('more') },
      });
      expect(kinds(second.events)).toEqual([
        'done:user_message',
        'stream_options',
        'replaced:widget',
        'thread.item.removed',
      ]);
      expect(second.events[3]).toEqual({ type: 'thread.item.removed', item_id: 'msg_a' });
      const byId = await callChatKit(url, { type: 'threads.get_by_id', params: { thread_id: threadId } });
      expect(byId.json.items.data.find((item: ChatKitThreadItem) => item.id === 'msg_w').widget.children).toEqual([
        { type: 'Text', value: 'new' },
      ]);
      expect(byId.json.items.data.map((item: ChatKitThreadItem) => item.id)).not.toContain('msg_a');

      await streamChatKit(url, {
        type: 'threads.add_user_message',
        params: { thread_id: threadId, input: userInput('third') },
      });
      const messages = scripted.calls[0]?.request.messages ?? [];
      expect(messages).toContainEqual({ role: 'user', content: 'The user prefers French.' });
      expect(messages.at(-1)).toEqual({ role: 'user', content: 'third' });
      expect(JSON.stringify(messages)).toContain('graphical UI widget (id: msg_w)');
    });
  });

  describe('pagination', () => {
    it('threads.list: 20 newest first with has_more and after (the last id), then the rest; ascending; an unknown after is 400', async () => {
      const { url } = await start(undefined, { title: false, respond: yields() });
      const ids: string[] = [];
      for (let index = 0; index < 25; index += 1) ids.push(await createThread(url, `t${index}`));
      const first = await callChatKit(url, { type: 'threads.list', params: { limit: 20, order: 'desc' } });
      expect(first.json.data.map((thread: { id: string }) => thread.id)).toEqual(ids.slice(5).reverse());
      expect(first.json).toMatchObject({ has_more: true, after: ids[5] });
      expect(first.json.data[0]).toEqual(clientThread({ id: ids[24] }));
      const second = await callChatKit(url, {
        type: 'threads.list',
        params: { limit: 20, order: 'desc', after: first.json.after },
      });
      expect(second.json).toEqual({ data: expect.any(Array), has_more: false });
      expect(second.json.data.map((thread: { id: string }) => thread.id)).toEqual(ids.slice(0, 5).reverse());
      const defaults = await callChatKit(url, { type: 'threads.list', params: {} });
      expect(defaults.json.data).toHaveLength(20);
      expect(defaults.json.data[0].id).toBe(ids[24]);
      const asc = await callChatKit(url, { type: 'threads.list', params: { limit: 3, order: 'asc' } });
      expect(asc.json).toMatchObject({ has_more: true, after: ids[2] });
      expect((await callChatKit(url, { type: 'threads.list', params: { after: 'thr_unknown' } })).json.error.code).toBe(
        'invalid_cursor',
      );
    });

    it('threads.get_by_id embeds the oldest 20 items ascending; items.list pages newest first; hidden items drop after the page', async () => {
      const many = Array.from({ length: 24 }, (_, index) =>
        index === 1
          ? itemDone({ id: 'hc_x', type: 'sdk_hidden_context', content: 'hidden' })
          : assistantDone(`msg_${String(index).padStart(2, '0')}`, `a${index}`),
      );
      const { url } = await start(undefined, { title: false, respond: yields(...many) });
      const created = await streamChatKit(url, { type: 'threads.create', params: { input: userInput('Hi') } });
      expect(JSON.stringify(created.events)).not.toContain('hc_x');
      const threadId = created.events[0]?.thread.id;
      const byId = await callChatKit(url, { type: 'threads.get_by_id', params: { thread_id: threadId } });
      const data = byId.json.items.data;
      // The user message, msg_00, (hidden), msg_02 ... msg_18: 20 stored, 19 shown.
      expect(data).toHaveLength(19);
      expect(data[0].type).toBe('user_message');
      expect(data.slice(1).map((item: ChatKitThreadItem) => item.id)).toEqual([
        'msg_00',
        ...Array.from({ length: 17 }, (_, index) => `msg_${String(index + 2).padStart(2, '0')}`),
      ]);
      expect(byId.json.items).toMatchObject({ has_more: true, after: 'msg_18' });
      const rest = await callChatKit(url, {
        type: 'items.list',
        params: { thread_id: threadId, order: 'asc', after: 'msg_18' },
      });
      expect(rest.json).toEqual({ data: expect.any(Array), has_more: false });
      expect(rest.json.data.map((item: ChatKitThreadItem) => item.id)).toEqual([
        'msg_19',
        'msg_20',
        'msg_21',
        'msg_22',
        'msg_23',
      ]);
      const newest = await callChatKit(url, { type: 'items.list', params: { thread_id: threadId, limit: 2 } });
      expect(newest.json).toEqual({
        data: [expect.objectContaining({ id: 'msg_23' }), expect.objectContaining({ id: 'msg_22' })],
        has_more: true,
        after: 'msg_22',
      });
      const tail = await callChatKit(url, {
        type: 'items.list',
        params: { thread_id: threadId, limit: 3, after: 'msg_02' },
      });
      // msg_00 and the user message remain after the hidden item: a short page, as the reference.
      expect(tail.json.data.map((item: ChatKitThreadItem) => item.type)).toEqual(['assistant_message', 'user_message']);
      expect(tail.json.has_more).toBe(false);
      expect(
        (await callChatKit(url, { type: 'items.list', params: { thread_id: threadId, after: 'msg_nope' } })).status,
      ).toBe(400);
    });
  });

  describe('errors', () => {
    it('an exception in the responder ends the stream with stream.error and Retry; a ChatKitStreamError shows its message', async () => {
      let turn = 0;
      const { url, errors } = await start(undefined, {
        title: false,
        respond: async function* () {
          turn += 1;
          yield { type: 'progress_update', text: 'working' };
          if (turn === 1) throw new Error('boom');
          throw new ChatKitStreamError('Blocked');
        },
      });
      const failed = await streamChatKit(url, { type: 'threads.create', params: { input: userInput('Hi') } });
      expect(kinds(failed.events).slice(-2)).toEqual(['progress_update', 'error']);
      expect(failed.events.at(-1)).toEqual({ type: 'error', code: 'stream.error', allow_retry: true });
      expect(errors).toEqual([expect.objectContaining({ message: 'boom' })]);
      const custom = await streamChatKit(url, { type: 'threads.create', params: { input: userInput('Hi') } });
      expect(custom.events.at(-1)).toEqual({ type: 'error', code: 'custom', message: 'Blocked', allow_retry: false });
      expect(errors).toHaveLength(1);
    });

    it('a run that times out ends with its message and Retry; the text it had is kept', async () => {
      const scripted = createScriptedProvider();
      const { url } = await start(scripted.provider, { title: false }, { idleTimeoutMs: 200 });
      const reading = streamChatKit(url, { type: 'threads.create', params: { input: userInput('Hi') } });
      (await scripted.call(0)).tokens('partial');
      const read = await reading;
      expect(read.events.at(-1)).toEqual({
        type: 'error',
        code: 'custom',
        message: 'The model sent nothing for 200 ms.',
        allow_retry: true,
      });
      const threadId = read.events[0]?.thread.id;
      const items = (await callChatKit(url, { type: 'items.list', params: { thread_id: threadId, order: 'asc' } })).json
        .data;
      expect(items.map((item: ChatKitThreadItem) => item.type)).toEqual(['user_message', 'assistant_message']);
      expect(items[1].content[0].text).toBe('partial');
    });

    it("another principal's thread does not exist for a caller", async () => {
      const { url } = await start(undefined, {
        title: false,
        auth: createApiKeyAuth([
          { id: 'alice', key: 'k-a' },
          { id: 'bob', key: 'k-b' },
        ]),
      });
      const alice = { headers: { authorization: 'Bearer k-a' } };
      const bob = { headers: { authorization: 'Bearer k-b' } };
      const created = await streamChatKit(url, { type: 'threads.create', params: { input: userInput('mine') } }, alice);
      const threadId = created.events[0]?.thread.id;
      expect((await callChatKit(url, { type: 'threads.get_by_id', params: { thread_id: threadId } }, bob)).status).toBe(
        404,
      );
      expect((await callChatKit(url, { type: 'threads.list', params: {} }, bob)).json.data).toEqual([]);
      const write = await streamChatKit(
        url,
        { type: 'threads.add_user_message', params: { thread_id: threadId, input: userInput('x') } },
        bob,
      );
      expect(kinds(write.events)).toEqual(['error']);
      expect((await callChatKit(url, { type: 'threads.list', params: {} }, alice)).json.data).toHaveLength(1);
    });
  });

  describe('JSON request types', () => {
    it('threads.get_by_id, threads.update, threads.delete and items.feedback', async () => {
      const feedback: unknown[] = [];
      const { url } = await start(undefined, { title: false, addFeedback: (entry) => void feedback.push(entry) });
      const threadId = await createThread(url);
      const missing = await callChatKit(url, { type: 'threads.get_by_id', params: { thread_id: 'thr_nope' } });
      expect(missing.status).toBe(404);
      expect(missing.json.error.code).toBe('not_found');
      const renamed = await callChatKit(url, {
        type: 'threads.update',
        params: { thread_id: threadId, title: 'Renamed' },
      });
      expect(renamed.json).toEqual(clientThread({ title: 'Renamed', id: threadId }));
      const liked = await callChatKit(url, {
        type: 'items.feedback',
        params: { thread_id: threadId, item_ids: ['msg_1'], kind: 'positive' },
      });
      expect(liked.json).toEqual({});
      expect(feedback).toEqual([{ threadId, itemIds: ['msg_1'], kind: 'positive', context: expect.any(Object) }]);
      expect((await callChatKit(url, { type: 'threads.delete', params: { thread_id: threadId } })).json).toEqual({});
      expect((await callChatKit(url, { type: 'threads.get_by_id', params: { thread_id: threadId } })).status).toBe(404);
      expect((await callChatKit(url, { type: 'threads.delete', params: { thread_id: threadId } })).json).toEqual({});
    });

    it('threads.sync_custom_action answers the updated item (saved) or {}; without a handler 501', async () => {
      const { url } = await start(undefined, {
        title: false,
        respond: yields(itemDone({ id: 'msg_w', type: 'widget', widget: { type: 'Card', children: [] } })),
        syncAction: ({ action, sender }) =>
          action.type === 'noop' || sender === undefined
            ? undefined
            : ({ ...sender, widget: { type: 'Card', children: [{ type: 'Text', value: 'on' }] } } as ChatKitThreadItem),
      });
      const threadId = await createThread(url);
      const updated = await callChatKit(url, {
        type: 'threads.sync_custom_action',
        params: { thread_id: threadId, item_id: 'msg_w', action: { type: 'toggle' } },
      });
      expect(updated.json).toEqual({
        updated_item: expect.objectContaining({
          id: 'msg_w',
          widget: { type: 'Card', children: [{ type: 'Text', value: 'on' }] },
        }),
      });
      const stored = await callChatKit(url, { type: 'items.list', params: { thread_id: threadId, limit: 1 } });
      expect(stored.json.data[0].widget.children).toHaveLength(1);
      expect(
        (
          await callChatKit(url, {
            type: 'threads.sync_custom_action',
            params: { thread_id: threadId, action: { type: 'noop' } },
          })
        ).json,
      ).toEqual({});
      await server?.close();
      const bare = await start();
      const none = await callChatKit(bare.url, {
        type: 'threads.sync_custom_action',
        params: { thread_id: 't', action: { type: 'x' } },
      });
      expect(none.status).toBe(501);
      expect(none.json.error.code).toBe('not_implemented');
    });

    it('input.transcribe decodes the audio for the transcriber and answers {text}; without one, 501 saying how to set it up', async () => {
      const heard: unknown[] = [];
      const { url } = await start(undefined, {
        transcribe: async (audio, context) => {
          heard.push({ bytes: Buffer.from(audio.data).toString(), mimeType: audio.mimeType, locale: context.locale });
          return { text: 'hello world' };
        },
      });
      const answer = await callChatKit(
        url,
        {
          type: 'input.transcribe',
          params: { audio_base64: Buffer.from('RIFF audio').toString('base64'), mime_type: 'audio/webm;codecs=opus' },
        },
        { headers: { 'accept-language': 'fr-FR' } },
      );
      expect(answer.json).toEqual({ text: 'hello world' });
      expect(heard).toEqual([{ bytes: 'RIFF audio', mimeType: 'audio/webm;codecs=opus', locale: 'fr-FR' }]);
      await server?.close();
      const bare = await start();
      const none = await callChatKit(bare.url, {
        type: 'input.transcribe',
        params: { audio_base64: 'AAAA', mime_type: 'audio/ogg' },
      });
      expect(none.status).toBe(501);
      expect(none.json.error.message).toContain('TRANSCRIBE_MODEL');
      const attach = await callChatKit(bare.url, {
        type: 'attachments.create',
        params: { name: 'a.txt', size: 1, mime_type: 'text/plain' },
      });
      expect(attach.status).toBe(501);
    });
  });

  describe('heartbeats', () => {
    it('sends `: ping` comments while the responder is quiet, and only those besides the events', async () => {
      let release: () => void = () => {};
      const quiet = new Promise<void>((resolve) => {
        release = resolve;
      });
      const { url } = await start(undefined, {
        title: false,
        heartbeatMs: 40,
        respond: async function* (request) {
          await quiet;
          yield assistantDone('msg_late', 'late')(request.thread.id);
        },
      });
      // The responder speaks once the client has seen a heartbeat.
      const done = await streamChatKit(
        url,
        { type: 'threads.create', params: { input: userInput('Hi') } },
        { onComment: () => release() },
      );
      expect(done.comments[0]).toBe(': ping');
      expect(done.text).toMatch(/^(data: [^\n]+\n\n|: ping\n\n)+$/);
      expect(kinds(done.events).at(-1)).toBe('done:assistant_message');
    });
  });
});
