/**
 * The Vercel AI SDK (`ai` 6, the real package) against the reference server's `/api/chat` over
 * loopback: `DefaultChatTransport` and the headless `Chat` of `@ai-sdk/react` (what `useChat`
 * runs), with the fake OpenAI upstream as the model (it records whether its request was aborted).
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Chat } from '@ai-sdk/react';
import {
  DefaultChatTransport,
  parseJsonEventStream,
  readUIMessageStream,
  type UIMessage,
  type UIMessageChunk,
  uiMessageChunkSchema,
} from 'ai';
import { createChatFetch } from 'streamwell/client';
import { createOpenAICompatibleProvider } from 'streamwell/server';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerConfig } from '../../apps/server/src/config.ts';
import { type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';
import { until } from '../helpers/until.ts';
import { createScriptedProvider } from '../server/helpers/scripted-provider.ts';
import { startTestServer, type TestServer } from '../server/helpers/test-server.ts';

let server: TestServer | undefined;
let fake: FakeOpenAI | undefined;
afterEach(async () => {
  await server?.close();
  await fake?.close();
  server = undefined;
  fake = undefined;
});

/** `count` numbered word tokens: any lost or repeated token changes the text. */
const numberedTokens = (count: number): string[] =>
  Array.from({ length: count }, (_, index) => `${index === 0 ? '' : ' '}w${index + 1}`);

const userMessage = (text: string, id = 'u1'): UIMessage => ({ id, role: 'user', parts: [{ type: 'text', text }] });

const textOf = (message: UIMessage | undefined): string =>
  (message?.parts ?? []).map((part) => (part.type === 'text' ? part.text : '')).join('');

/** The reference server with the OpenAI-compatible provider against the fake upstream. */
async function startStack(config: Partial<ServerConfig> = {}) {
  fake = await startFakeOpenAI();
  const provider = createOpenAICompatibleProvider({
    baseUrl: fake.baseUrl,
    apiKey: fake.apiKey ?? '',
    model: 'fake-model',
  });
  server = await startTestServer({ provider, config });
  // Server-side sockets of open chat POSTs, to cut them as a network drop does.
  const chatSockets = new Set<Socket>();
  server.app.fastify.server.on('request', (request: IncomingMessage) => {
    if (request.method === 'POST' && request.url === '/api/chat') chatSockets.add(request.socket);
  });
  return { fake, server, api: `${server.url}/api/chat`, chatSockets };
}

/** Resolves once `predicate` holds for the chat's messages (checked on every update). */
function waitForMessages(chat: Chat<UIMessage>, predicate: (messages: UIMessage[]) => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (predicate(chat.messages)) {
      resolve();
      return;
    }
    const unsubscribe = chat['~registerMessagesCallback'](() => {
      if (predicate(chat.messages)) {
        unsubscribe();
        resolve();
      }
    });
  });
}

/** Resolves once `condition` holds, checked on every turn of the event loop. */
async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

/** Resolves once nothing streams from the server any more (it has seen every response close). */
function waitForNoOpenStreams(test: TestServer): Promise<void> {
  return waitFor(() => test.app.context.streams.openStreams === 0);
}

describe('DefaultChatTransport against /api/chat', () => {
  it('sendMessages rebuilds the exact text, in one message whose id is the stream id', async () => {
    const { fake, api } = await startStack();
    const tokens = [...numberedTokens(30), ' "quoted"\n', ' ✓ 🎉'];
    fake.setReply({ tokens, fragmentBytes: 7 });
    const transport = new DefaultChatTransport<UIMessage>({ api });
    const stream = await transport.sendMessages({
      chatId: 'chat-1',
      messages: [userMessage('count')],
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: undefined,
    });
    let message: UIMessage | undefined;
    for await (const update of readUIMessageStream({ stream })) message = update;
    expect(textOf(message)).toBe(tokens.join(''));
    expect(message?.id).toMatch(/^[A-Za-z0-9_-]{24}$/);
    // The prompt reached the model as the last user message.
    const request = await fake.waitForRequest(0);
    expect(request.body.messages.at(-1)).toEqual({ role: 'user', content: 'count' });
  });

  it('sends chunks that the SDK own uiMessageChunkSchema accepts, with the UI message stream header', async () => {
    const { fake, api } = await startStack({ heartbeatMs: 40 });
    // A slow first token: heartbeat comments go out before it.
    fake.setReply({ tokens: ['a', 'b'], firstTokenDelayMs: 300 });
    const response = await fetch(api, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'chat-2', trigger: 'submit-message', messages: [userMessage('hi')] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const streamId = response.headers.get('x-stream-id');
    const raw = await response.text();
    // Ids and heartbeat comments, for proxies and other SSE clients; the SDK's parser skips them.
    expect(raw).toMatch(/^id: 1$/m);
    expect(raw).toMatch(/^: ping$/m);
    expect(raw.endsWith('data: [DONE]\n\n')).toBe(true);
    const chunks: UIMessageChunk[] = [];
    const parsed = parseJsonEventStream({
      stream: new Response(raw).body as ReadableStream<Uint8Array>,
      schema: uiMessageChunkSchema,
    });
    for await (const result of parsed) {
      expect(result.success, JSON.stringify(result)).toBe(true);
      if (result.success) chunks.push(result.value);
    }
    expect(chunks).toEqual([
      { type: 'start', messageId: streamId },
      { type: 'start-step' },
      { type: 'text-start', id: 'text' },
      { type: 'text-delta', id: 'text', delta: 'a' },
      { type: 'text-delta', id: 'text', delta: 'b' },
      { type: 'text-end', id: 'text' },
      { type: 'finish-step' },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('maps tool calls, a cancel and a run error to chunks the SDK accepts and renders in order', async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider });
    const transport = new DefaultChatTransport<UIMessage>({ api: `${server.url}/api/chat` });
    const send = (chatId: string) =>
      transport.sendMessages({
        chatId,
        messages: [userMessage('use a tool')],
        trigger: 'submit-message',
        messageId: undefined,
        abortSignal: undefined,
      });
    const readAll = async (stream: ReadableStream<UIMessageChunk>) => {
      let message: UIMessage | undefined;
      for await (const update of readUIMessageStream({ stream, terminateOnError: true })) message = update;
      return message;
    };

    const withTool = readAll(await send('tools'));
    const call = await scripted.call(0);
    call.tokens('Let me look. ');
    call.push({ type: 'tool-call', callId: 'call-1', name: 'weather', arguments: '{"city":"Oslo"}' });
    call.push({ type: 'tool-result', callId: 'call-1', output: '{"sky":"clear"}' });
    call.tokens('It is clear.');
    call.end();
    const message = await withTool;
    expect(message?.parts.filter((part) => part.type !== 'step-start')).toEqual([
      { type: 'text', text: 'Let me look. ', state: 'done' },
      expect.objectContaining({
        type: 'tool-weather',
        toolCallId: 'call-1',
        state: 'output-available',
        input: { city: 'Oslo' },
        output: { sky: 'clear' },
      }),
      { type: 'text', text: 'It is clear.', state: 'done' },
    ]);

    const failing = readAll(await send('fails'));
    const second = await scripted.call(1);
    second.tokens('par');
    second.fail();
    // The run's error message reaches the SDK as its error.
    await expect(failing).rejects.toThrow('scripted failure');

    const [watched, rendered] = (await send('cancelled')).tee();
    const stopped = readAll(rendered);
    const third = await scripted.call(2);
    third.tokens('so far');
    // Cancel once the token is on the client.
    const reader = watched.getReader();
    while ((await reader.read()).value?.type !== 'text-delta') {}
    await fetch(`${server.url}/api/chat/cancelled/cancel`, { method: 'POST' });
    await reader.cancel();
    expect(textOf(await stopped)).toBe('so far');
    expect(third.request.signal.aborted).toBe(true);
  });

  it('ends a timed-out reply with an error chunk the SDK reports, and aborts the model call', async () => {
    const { fake, api } = await startStack({ firstTokenTimeoutMs: 200 });
    fake.setReply({ neverFirstToken: true });
    const stream = await new DefaultChatTransport<UIMessage>({ api }).sendMessages({
      chatId: 'slow',
      messages: [userMessage('hi')],
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: undefined,
    });
    const chunks: UIMessageChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)).toEqual({
      type: 'error',
      errorText: 'The model sent no token within 200 ms.',
      code: 'first_token_timeout',
    });
    expect(await (await fake.waitForRequest(0)).closed).toEqual({ aborted: true });
  });

  it('resumes after a dropped connection with the exact text, once (Chat + resumeStream)', async () => {
    const { fake, api, chatSockets } = await startStack();
    const tokens = numberedTokens(40);
    fake.setReply({ tokens, tokenDelayMs: 15 });
    const chat = new Chat<UIMessage>({ id: 'chat-drop', transport: new DefaultChatTransport({ api }) });
    const sending = chat.sendMessage({ text: 'count' });
    await waitForMessages(chat, (messages) => textOf(messages[1]).split(' ').length >= 5);
    for (const socket of chatSockets) socket.destroy();
    await sending;
    expect(chat.status).toBe('error');
    const partial = textOf(chat.messages[1]);
    expect(tokens.join('').startsWith(partial)).toBe(true);
    expect(partial.length).toBeLessThan(tokens.join('').length);

    // What `useChat` does on resume: GET {api}/{id}/stream, a replay from the start that the SDK
    // (resumeStreamIsReplay) rebuilds into the same message.
    await chat.resumeStream();
    expect(chat.status).toBe('ready');
    expect(chat.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
    expect(textOf(chat.messages[1])).toBe(tokens.join(''));
    expect(fake.generations).toHaveLength(1);
  });

  it("with useChat's transport wrapper, a drop reported as a network error shows the reply twice, unless createChatFetch is used", async () => {
    const { fake, api, chatSockets } = await startStack();
    const tokens = numberedTokens(40);
    fake.setReply({ tokens, tokenDelayMs: 15 });
    // What `useChat` (@ai-sdk/react 3.0.328) hands to `Chat`: the transport's two methods, not its
    // `resumeStreamIsReplay` flag.
    const asUseChatDoes = (transport: DefaultChatTransport<UIMessage>) => ({
      sendMessages: (options: Parameters<typeof transport.sendMessages>[0]) => transport.sendMessages(options),
      reconnectToStream: (options: Parameters<typeof transport.reconnectToStream>[0]) =>
        transport.reconnectToStream(options),
    });
    const dropAndResume = async (chatId: string, transport: DefaultChatTransport<UIMessage>) => {
      const chat = new Chat<UIMessage>({ id: chatId, transport: asUseChatDoes(transport) });
      const sending = chat.sendMessage({ text: 'count' });
      await waitForMessages(chat, (messages) => textOf(messages[1]).split(' ').length >= 5);
      for (const socket of chatSockets) socket.destroy();
      chatSockets.clear();
      await sending;
      expect(chat.status).toBe('error');
      await chat.resumeStream();
      expect(chat.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
      return textOf(chat.messages[1]);
    };

    // A browser reports the drop as `TypeError: network error`: the SDK keeps its message, and
    // without the reset the replay from the start is appended to it.
    const browserFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const response = await fetch(input, init);
      if (response.body === null) return response;
      const source = response.body;
      const failing = new ReadableStream<Uint8Array>({
        async start(controller) {
          const reader = source.getReader();
          try {
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              controller.enqueue(value);
            }
            controller.close();
          } catch {
            controller.error(new TypeError('network error'));
          }
        },
      });
      return new Response(failing, { status: response.status, headers: response.headers });
    }) as typeof fetch;
    const twice = await dropAndResume('wrapped-plain', new DefaultChatTransport({ api, fetch: browserFetch }));
    expect(twice).not.toBe(tokens.join(''));
    expect(twice.endsWith(tokens.join(''))).toBe(true);

    const once = await dropAndResume('wrapped-fetch', new DefaultChatTransport({ api, fetch: createChatFetch() }));
    expect(once).toBe(tokens.join(''));
  });

  /** Resolves once the chat's reply is no longer running (its plain resume answers 204). */
  async function untilReplyEnded(api: string, chatId: string): Promise<void> {
    await until(async () => {
      const response = await fetch(`${api}/${chatId}/stream`);
      await response.body?.cancel();
      return response.status === 204;
    }, `the reply of ${chatId} ended`);
  }

  /** What `useChat` (@ai-sdk/react 3.0.328) hands to `Chat`: the transport's two methods. */
  const asUseChatDoes = (transport: DefaultChatTransport<UIMessage>) => ({
    sendMessages: (options: Parameters<typeof transport.sendMessages>[0]) => transport.sendMessages(options),
    reconnectToStream: (options: Parameters<typeof transport.reconnectToStream>[0]) =>
      transport.reconnectToStream(options),
  });

  // Found by the chaos suite (test/reliability/chaos-*.test.ts): the resume answered 204 for a
  // reply that ended while the page was away, and the page kept the partial text for good.
  it('after a drop, the resume gets the rest of the reply also when it ended meanwhile, and only the rest', async () => {
    const { fake, api, chatSockets } = await startStack();
    const tokens = numberedTokens(40);
    fake.setReply({ tokens, tokenDelayMs: 5 });
    const resumes: Array<{ url: string; lastEventId: string | null; ids: number[] }> = [];
    const recording = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const response = await fetch(input, init);
      if ((init?.method ?? 'GET') !== 'GET' || response.body === null) return response;
      // The ids the server sent on the resume (before createChatFetch's own skipping).
      const text = await response.text();
      const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]));
      resumes.push({ url: String(input), lastEventId: new Headers(init?.headers).get('last-event-id'), ids });
      return new Response(text, { status: response.status, headers: response.headers });
    }) as typeof fetch;
    const transport = new DefaultChatTransport<UIMessage>({ api, fetch: createChatFetch({ fetch: recording, api }) });
    const chat = new Chat<UIMessage>({ id: 'chat-ended-away', transport: asUseChatDoes(transport) });
    const sending = chat.sendMessage({ text: 'count' });
    await waitForMessages(chat, (messages) => textOf(messages[1]).split(' ').length >= 5);
    for (const socket of chatSockets) socket.destroy();
    await sending;
    expect(chat.status).toBe('error');
    const streamId = chat.messages[1]?.id as string;
    await untilReplyEnded(api, 'chat-ended-away');

    await chat.resumeStream();
    expect(chat.status).toBe('ready');
    expect(chat.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
    expect(textOf(chat.messages[1])).toBe(tokens.join(''));
    // The resume named the run and its cursor, and the server sent the events after it only.
    expect(resumes).toHaveLength(1);
    const [resume] = resumes as [(typeof resumes)[number]];
    expect(resume.url).toBe(`${api}/chat-ended-away/stream?streamId=${streamId}`);
    const cursor = Number(resume.lastEventId);
    expect(cursor).toBeGreaterThanOrEqual(5);
    expect(resume.ids[0]).toBe(cursor + 1);
    // Without the cursor an ended reply is not replayed (a page that saw the end, or a reload).
    expect((await fetch(`${api}/chat-ended-away/stream`)).status).toBe(204);
    // At the end, nothing more; a cursor read from another run does not count.
    const terminal = resume.ids.at(-1) as number;
    const atEnd = await fetch(`${api}/chat-ended-away/stream?streamId=${streamId}`, {
      headers: { 'last-event-id': String(terminal) },
    });
    expect(atEnd.status).toBe(204);
    const otherRun = await fetch(`${api}/chat-ended-away/stream?streamId=another`, {
      headers: { 'last-event-id': '3' },
    });
    expect(otherRun.status).toBe(204);
    expect(fake.generations).toHaveLength(1);
  });

  it('a chat POST without an answer is resumed from the start once the reply ended, and an earlier reply is not shown again', async () => {
    const { fake, api } = await startStack();
    const tokens = numberedTokens(12);
    fake.setReply({ tokens, tokenDelayMs: 2 });
    // The request reaches the server but its answer never reaches the page (a cut before the
    // response headers); later, one that never reaches the server at all.
    let mode: 'pass' | 'lose-answer' | 'unreachable' = 'pass';
    const flaky = (async (input: RequestInfo | URL, init?: RequestInit) => {
      if ((init?.method ?? 'GET') === 'POST' && mode === 'unreachable') throw new TypeError('fetch failed');
      const response = await fetch(input, init);
      if ((init?.method ?? 'GET') === 'POST' && mode === 'lose-answer') {
        await response.body?.cancel();
        throw new TypeError('fetch failed');
      }
      return response;
    }) as typeof fetch;
    const transport = new DefaultChatTransport<UIMessage>({ api, fetch: createChatFetch({ fetch: flaky, api }) });
    const chat = new Chat<UIMessage>({ id: 'chat-lost-answer', transport: asUseChatDoes(transport) });

    mode = 'lose-answer';
    await chat.sendMessage({ text: 'first' });
    expect(chat.status).toBe('error');
    await untilReplyEnded(api, 'chat-lost-answer');
    mode = 'pass';
    await chat.resumeStream();
    expect(chat.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
    expect(textOf(chat.messages[1])).toBe(tokens.join(''));

    mode = 'unreachable';
    await chat.sendMessage({ text: 'second' });
    expect(chat.status).toBe('error');
    mode = 'pass';
    // The server's latest reply of the chat is the first one, whole on the page already.
    await chat.resumeStream();
    expect(chat.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'user']);
    expect(textOf(chat.messages[1])).toBe(tokens.join(''));
    expect(fake.generations).toHaveLength(1);
  });

  it('reconnectToStream replays the running reply from its start, and answers 204 once it is complete', async () => {
    const { fake, api } = await startStack();
    const tokens = numberedTokens(20);
    fake.setReply({ tokens, tokenDelayMs: 10 });
    const transport = new DefaultChatTransport<UIMessage>({ api });
    const first = await transport.sendMessages({
      chatId: 'chat-3',
      messages: [userMessage('count')],
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: undefined,
    });
    const reader = first.getReader();
    // The first chunks have arrived: the run is running.
    await reader.read();
    const replay = await transport.reconnectToStream({ chatId: 'chat-3' });
    expect(replay).not.toBeNull();
    let message: UIMessage | undefined;
    for await (const update of readUIMessageStream({ stream: replay as ReadableStream<UIMessageChunk> })) {
      message = update;
    }
    expect(textOf(message)).toBe(tokens.join(''));
    await reader.cancel();

    expect(await transport.reconnectToStream({ chatId: 'chat-3' })).toBeNull();
    const unknown = await fetch(`${api}/nobody/stream`);
    expect(unknown.status).toBe(204);
  });

  it("Stop through the library's fetch cancels the run and aborts the upstream model call", async () => {
    const { fake, server, api } = await startStack();
    fake.setReply({ tokens: numberedTokens(400), tokenDelayMs: 10 });
    const transport = new DefaultChatTransport<UIMessage>({ api, fetch: createChatFetch() });
    const chat = new Chat<UIMessage>({ id: 'chat-stop', transport });
    const sending = chat.sendMessage({ text: 'count' });
    await waitForMessages(chat, (messages) => textOf(messages[1]).length > 0);
    await chat.stop();
    await sending;
    const upstream = await fake.waitForRequest(0);
    expect(await upstream.closed).toEqual({ aborted: true });
    const cancelled = await fetch(`${api}/chat-stop/cancel`, { method: 'POST' });
    expect(await cancelled.json()).toMatchObject({ chatId: 'chat-stop', status: 'cancelled', outcome: 'cancelled' });
    expect((await fetch(`${api}/chat-stop/stream`)).status).toBe(204);
    expect(server.app.context.registry.activeCount).toBe(0);
  });

  it('without it, Stop only closes the connection and the run goes on (so it can be resumed)', async () => {
    const { fake, server, api } = await startStack();
    fake.setReply({ tokens: numberedTokens(400), tokenDelayMs: 10 });
    const chat = new Chat<UIMessage>({ id: 'chat-plain', transport: new DefaultChatTransport({ api }) });
    const sending = chat.sendMessage({ text: 'count' });
    await waitForMessages(chat, (messages) => textOf(messages[1]).length > 0);
    await chat.stop();
    await sending;
    await waitForNoOpenStreams(server);
    expect(server.app.context.registry.activeCount).toBe(1);
    // Cancel is idempotent: the first one stops the run, the second answers the same status.
    const first = await (await fetch(`${api}/chat-plain/cancel`, { method: 'POST' })).json();
    const second = await (await fetch(`${api}/chat-plain/cancel`, { method: 'POST' })).json();
    expect(first).toMatchObject({ status: 'cancelled' });
    expect(second).toEqual(first);
    expect(await (await fetch(`${api}/never-started/cancel`, { method: 'POST' })).json()).toMatchObject({
      streamId: null,
      status: 'none',
    });
  });

  it('keeps chats per principal and refuses bad requests with JSON errors', async () => {
    const { fake, api } = await startStack({
      apiKeys: [
        { id: 'alice', key: 'key-a' },
        { id: 'bob', key: 'key-b' },
      ],
    });
    fake.setReply({ tokens: numberedTokens(200), tokenDelayMs: 10 });
    const as = (key: string) => ({ authorization: `Bearer ${key}` });
    const alice = new DefaultChatTransport<UIMessage>({ api, headers: as('key-a') });
    const stream = await alice.sendMessages({
      chatId: 'private',
      messages: [userMessage('hi')],
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: undefined,
    });
    const reader = stream.getReader();
    await reader.read();
    // Bob finds no run of that chat, cannot cancel it, and cannot post into Alice's thread.
    expect((await fetch(`${api}/private/stream`, { headers: as('key-b') })).status).toBe(204);
    expect(await (await fetch(`${api}/private/cancel`, { method: 'POST', headers: as('key-b') })).json()).toMatchObject(
      {
        status: 'none',
      },
    );
    const intrusion = await fetch(api, {
      method: 'POST',
      headers: { ...as('key-b'), 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'private', messages: [userMessage('mine?')] }),
    });
    expect(intrusion.status).toBe(404);
    expect((await fetch(`${api}/private/stream`, { headers: as('key-a') })).status).toBe(200);
    await reader.cancel();

    const unauthenticated = await fetch(api, { method: 'POST', body: '{}' });
    expect(unauthenticated.status).toBe(401);
    const bad = await fetch(api, { method: 'POST', headers: as('key-a'), body: '{"id": "c", "messages": []}' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: 'empty_message', message: expect.any(String) } });
    const wrongMethod = await fetch(`${api}/private/stream`, { method: 'POST', headers: as('key-a') });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, OPTIONS');
    const unknownPath = await fetch(`${api}/private/elsewhere`, { headers: as('key-a') });
    expect(unknownPath.status).toBe(404);
  });
});
