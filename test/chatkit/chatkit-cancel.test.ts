/**
 * ChatKit's Stop on the reference server: the client closes the stream mid-reply, and the run is
 * cancelled, the upstream model request aborted (the fake OpenAI server sees its client go), the
 * partial reply saved (cancelled) and the reference's "user cancelled" hidden context added for
 * the model's next turn.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FAKE_API_KEY, type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';
import { startTestServer, type TestServer } from '../server/helpers/test-server.ts';
import { callChatKit, kinds, type ReceivedChatKitEvent, streamChatKit, userInput } from './helpers/chatkit-client.ts';

const CANCELLED = 'The user cancelled the stream. Stop responding to the prior request.';

const deltas = (events: readonly ReceivedChatKitEvent[]): number =>
  events.filter((event) => event.type === 'thread.item.updated' && event.update.type.endsWith('text_delta')).length;

describe('ChatKit Stop', () => {
  let fake: FakeOpenAI | undefined;
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    await fake?.close();
    server = undefined;
    fake = undefined;
  });

  async function start(): Promise<{ url: string; server: TestServer; fake: FakeOpenAI }> {
    fake = await startFakeOpenAI();
    server = await startTestServer({
      config: { llmBaseUrl: fake.baseUrl, llmApiKey: FAKE_API_KEY, llmModel: 'fake-model', checkpointEvery: 2 },
    });
    return { url: `${server.url}/chatkit`, server, fake };
  }

  it('cancels the run, aborts the upstream request, saves the partial reply and tells the next turn', async () => {
    const { url, server, fake } = await start();
    fake.enqueue({ tokens: ['Par', 'tial', ' rep', 'ly', ' never', ' sent'], stallAfterTokens: 4 });
    const read = await streamChatKit(
      url,
      { type: 'threads.create', params: { input: userInput('Tell me') } },
      {
        until: (events) => deltas(events) === 4,
      },
    );
    expect(kinds(read.events).slice(0, 4)).toEqual([
      'thread.created',
      'done:user_message',
      'stream_options',
      'added:assistant_message',
    ]);
    const threadId = read.events[0]?.thread.id as string;

    const upstream = await fake.waitForRequest(0);
    expect(await upstream.closed).toEqual({ aborted: true });
    await server.app.context.chatkit.drain();

    // The run ended as cancelled, and says so to anyone who replays it.
    const thread = await (await fetch(`${server.url}/api/threads/${threadId}`)).json();
    expect(thread.messages).toEqual([
      expect.objectContaining({ role: 'user', content: 'Tell me', status: 'complete' }),
      expect.objectContaining({
        role: 'assistant',
        content: 'Partial reply',
        status: 'cancelled',
        streamId: expect.any(String),
      }),
    ]);
    const replay = await (await fetch(`${server.url}/api/streams/${thread.messages[1].streamId}`)).text();
    expect(replay).toContain('"finishReason":"cancelled"');

    // ChatKit shows the partial reply, never the hidden note; the store keeps the note.
    const items = (await callChatKit(url, { type: 'items.list', params: { thread_id: threadId, order: 'asc' } })).json
      .data;
    expect(items.map((item: { type: string }) => item.type)).toEqual(['user_message', 'assistant_message']);
    expect(items[1].content).toEqual([{ annotations: [], text: 'Partial reply', type: 'output_text' }]);
    const stored = await server.app.context.threads.loadItems(threadId, undefined);
    expect(stored.items.map((item) => [item.kind, item.content])).toEqual([
      ['message', 'Tell me'],
      ['message', 'Partial reply'],
      ['sdk_hidden_context', CANCELLED],
    ]);

    // The next turn's model request carries the partial reply and the note.
    fake.enqueue({ tokens: ['Sure'] });
    const next = await streamChatKit(url, {
      type: 'threads.add_user_message',
      params: { thread_id: threadId, input: userInput('Go on') },
    });
    expect(kinds(next.events).at(-1)).toBe('done:assistant_message');
    const second = await fake.waitForRequest(1);
    expect(second.body.messages.slice(-4)).toEqual([
      { role: 'user', content: 'Tell me' },
      { role: 'assistant', content: 'Partial reply' },
      { role: 'user', content: CANCELLED },
      { role: 'user', content: 'Go on' },
    ]);
  });

  it('a reply stopped before its first token leaves no empty message, only the note', async () => {
    const { url, server, fake } = await start();
    fake.enqueue({ neverFirstToken: true });
    const read = await streamChatKit(
      url,
      { type: 'threads.create', params: { input: userInput('Hello?') } },
      {
        until: (events) => events.some((event) => event.type === 'stream_options'),
      },
    );
    const threadId = read.events[0]?.thread.id as string;
    expect(await (await fake.waitForRequest(0)).closed).toEqual({ aborted: true });
    await server.app.context.chatkit.drain();
    const stored = await server.app.context.threads.loadItems(threadId, undefined);
    expect(stored.items.map((item) => item.kind)).toEqual(['message', 'sdk_hidden_context']);
    expect(server.app.context.registry.activeCount).toBe(0);
  });

  it('writes a streaming reply at checkpoints (a crash keeps its text), hidden from ChatKit lists until it ends', async () => {
    const { url, server, fake } = await start();
    fake.enqueue({ tokens: ['a', 'b', 'c', 'd', 'e'], stallAfterTokens: 5 });
    let release: () => void = () => {};
    const checked = new Promise<void>((resolve) => {
      release = resolve;
    });
    let threadId = '';
    let messageId = '';
    const reading = streamChatKit(
      url,
      { type: 'threads.create', params: { input: userInput('Write') } },
      {
        until: (events) => {
          threadId ||= events[0]?.thread.id ?? '';
          messageId ||= events.find((event) => event.type === 'thread.item.added')?.item.id ?? '';
          if (deltas(events) === 5) release();
          return false;
        },
      },
    );
    await checked;
    const threads = server.app.context.threads;
    // Checkpoints every 2 deltas: 'abcd' is on disk while the reply streams.
    await vi.waitFor(async () =>
      expect(await threads.loadItem(threadId, undefined, messageId)).toMatchObject({
        content: 'abcd',
        status: 'streaming',
      }),
    );
    const listed = await callChatKit(url, { type: 'items.list', params: { thread_id: threadId } });
    expect(listed.json.data.map((item: { type: string }) => item.type)).toEqual(['user_message']);
    // The server shuts down mid-reply (no client left): the text is kept and the model is told nothing.
    const ended = reading.catch(() => undefined);
    await server.app.shutdown(0);
    await ended;
    expect(await threads.loadItem(threadId, undefined, messageId)).toMatchObject({ content: 'abcde' });
    expect(['error', 'interrupted']).toContain((await threads.loadItem(threadId, undefined, messageId))?.status);
    expect((await threads.loadItems(threadId, undefined)).items.map((item) => item.kind)).toEqual([
      'message',
      'message',
    ]);
    expect(await (await fake.waitForRequest(0)).closed).toEqual({ aborted: true });
  });
});
