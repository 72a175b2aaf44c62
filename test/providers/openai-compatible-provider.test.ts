/**
 * The lean OpenAI-compatible provider against the fake upstream over real loopback HTTP.
 */
import { createServer } from 'node:net';
import { createOpenAICompatibleProvider, type OpenAICompatibleProvider, type ProviderEvent } from 'streamwell/server';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FAKE_TOKENS, type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';
import {
  collectEvents,
  describeCancellationContract,
  providerRequest,
  withFakeOpenAIProvider,
} from './provider-contract.ts';

let fake: FakeOpenAI;
let provider: OpenAICompatibleProvider;

function textOf(events: readonly ProviderEvent[]): string {
  return events.map((event) => (event.type === 'text' ? event.text : '')).join('');
}

async function failureOf(events: AsyncIterable<ProviderEvent>): Promise<{ code?: string; message: string }> {
  try {
    await collectEvents(events);
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected the stream to fail');
}

withFakeOpenAIProvider((setup) => {
  ({ fake, provider } = setup);
});

describe('openai-compatible provider: streaming', () => {
  it('streams each delta as one text event, then finish', async () => {
    const events = await collectEvents(provider.stream(providerRequest()));
    expect(events).toEqual([
      ...DEFAULT_FAKE_TOKENS.map((text) => ({ type: 'text', text })),
      { type: 'finish', finishReason: 'stop' },
    ]);
    const sent = fake.generations[0];
    expect(sent?.body).toEqual({ model: 'fake-model', messages: [{ role: 'user', content: 'hi' }], stream: true });
    expect(sent?.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(sent?.path).toBe('/v1/chat/completions');
  });

  it('sends the whole history in order', async () => {
    const messages = [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'reply one' },
      { role: 'user', content: 'two' },
    ] as const;
    await collectEvents(provider.stream({ ...providerRequest(), messages }));
    expect(fake.generations[0]?.body.messages).toEqual(messages);
  });

  it('reassembles text exactly when the body arrives one byte at a time', async () => {
    const tokens = ['héllo', ' wörld', ' 😀', ' "quoted"\\n', '\n\nnext', ' 日本語'];
    fake.enqueue({ tokens, fragmentBytes: 1 });
    const events = await collectEvents(provider.stream(providerRequest()));
    expect(textOf(events)).toBe(tokens.join(''));
    expect(events.filter((event) => event.type === 'text')).toHaveLength(tokens.length);
  });

  it('reassembles text exactly whatever byte the body is cut at', async () => {
    const tokens = ['a😀', 'ü', '\r\n'];
    // Measure the body once, then cut it at every offset.
    fake.enqueue({ tokens });
    await collectEvents(provider.stream(providerRequest()));
    const fakeBody = await fetch(`${fake.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.apiKey}` },
      body: JSON.stringify({ model: 'fake-model', messages: [], stream: true }),
    }).then((response) => response.arrayBuffer());
    // ids and timestamps are the same length on every reply, so the size is stable.
    const size = fakeBody.byteLength;
    for (let cut = 1; cut < size; cut += 1) {
      fake.enqueue({ tokens, splitAt: [cut] });
      const events = await collectEvents(provider.stream(providerRequest()));
      expect(textOf(events), `cut at byte ${cut}`).toBe('a😀ü\r\n');
    }
  }, 60_000);

  it('maps tool calls and the tool_calls finish reason', async () => {
    fake.enqueue({
      tokens: ['Let me check.'],
      toolCalls: [
        { name: 'get_weather', arguments: '{"city":"Paris"}', callId: 'call_a' },
        { name: 'get_time', arguments: '{"tz":"CET"}', callId: 'call_b' },
      ],
    });
    const events = await collectEvents(provider.stream(providerRequest()));
    expect(events).toEqual([
      { type: 'text', text: 'Let me check.' },
      { type: 'tool-call', callId: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'tool-call', callId: 'call_b', name: 'get_time', arguments: '{"tz":"CET"}' },
      { type: 'finish', finishReason: 'tool_calls' },
    ]);
  });

  it('maps the length finish reason', async () => {
    fake.enqueue({ tokens: ['a'], finishReason: 'length' });
    expect((await collectEvents(provider.stream(providerRequest()))).at(-1)).toEqual({
      type: 'finish',
      finishReason: 'length',
    });
  });

  it('accepts a server that answers JSON instead of a stream', async () => {
    fake.enqueue({ tokens: ['whole', ' reply'], ignoreStream: true });
    expect(await collectEvents(provider.stream(providerRequest()))).toEqual([
      { type: 'text', text: 'whole reply' },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('reuses the keep-alive connection for the next request', async () => {
    await collectEvents(provider.stream(providerRequest()));
    // undici marks the connection free on the turn after the body ended; a request started in
    // the very same turn would get a second connection.
    await new Promise((resolve) => setImmediate(resolve));
    await collectEvents(provider.stream(providerRequest()));
    expect(fake.generations[1]?.remotePort).toBe(fake.generations[0]?.remotePort);
  });

  it('uses the first listed model when none is configured', async () => {
    const auto = createOpenAICompatibleProvider({ baseUrl: `${fake.baseUrl}/`, apiKey: fake.apiKey });
    expect(auto.model).toBe('auto');
    await collectEvents(auto.stream(providerRequest()));
    expect(fake.generations[0]?.body.model).toBe('gpt-4o-mini');
    expect(auto.model).toBe('gpt-4o-mini');
    await auto.close();
  });

  it('a stream cancelled while the model is looked up does not fail the others waiting on it', async () => {
    const auto = createOpenAICompatibleProvider({ baseUrl: fake.baseUrl, apiKey: fake.apiKey });
    const controller = new AbortController();
    const cancelled = collectEvents(auto.stream(providerRequest('first', controller.signal)));
    const other = collectEvents(auto.stream(providerRequest('second')));
    // Both wait on the one `GET /models`; the first one's stop must stay its own.
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ name: 'AbortError' });
    expect(textOf(await other)).toBe(DEFAULT_FAKE_TOKENS.join(''));
    expect(auto.model).toBe('gpt-4o-mini');
    await auto.close();
  });

  it('sends no authorization header without a key', async () => {
    const open = await startFakeOpenAI({ apiKey: null });
    const keyless = createOpenAICompatibleProvider({ baseUrl: open.baseUrl, model: 'fake-model' });
    expect(textOf(await collectEvents(keyless.stream(providerRequest())))).toBe(DEFAULT_FAKE_TOKENS.join(''));
    expect(open.generations[0]?.headers.authorization).toBeUndefined();
    await keyless.close();
    await open.close();
  });

  it('passes extra body fields and headers', async () => {
    const custom = createOpenAICompatibleProvider({
      baseUrl: fake.baseUrl,
      apiKey: fake.apiKey,
      model: 'fake-model',
      extraBody: { temperature: 0.2, max_tokens: 64 },
      headers: { 'x-tenant': 'a' },
    });
    await collectEvents(custom.stream(providerRequest()));
    expect(fake.generations[0]?.body).toMatchObject({ temperature: 0.2, max_tokens: 64, stream: true });
    expect(fake.generations[0]?.headers['x-tenant']).toBe('a');
    await custom.close();
  });
});

describe('openai-compatible provider: failures', () => {
  it('maps 401 to upstream_auth without leaking the key', async () => {
    const wrongKey = 'sk-definitely-wrong-key-42';
    const wrong = createOpenAICompatibleProvider({ baseUrl: fake.baseUrl, apiKey: wrongKey, model: 'fake-model' });
    const failure = await failureOf(wrong.stream(providerRequest()));
    expect(failure.code).toBe('upstream_auth');
    expect(failure.message).toContain('401');
    expect(failure.message).toContain(`${fake.baseUrl}/chat/completions`);
    expect(failure.message).not.toContain(wrongKey);
    await wrong.close();
  });

  it('maps 403 to upstream_auth', async () => {
    fake.enqueue({ status: 403, errorMessage: 'forbidden region' });
    expect((await failureOf(provider.stream(providerRequest()))).code).toBe('upstream_auth');
  });

  it('maps 500 to upstream_error naming the status, URL and upstream message', async () => {
    fake.enqueue({ status: 500, errorMessage: 'The server had an error' });
    const failure = await failureOf(provider.stream(providerRequest()));
    expect(failure.code).toBe('upstream_error');
    expect(failure.message).toContain('500');
    expect(failure.message).toContain(`${fake.baseUrl}/chat/completions`);
    expect(failure.message).toContain('The server had an error');
  });

  it('maps an unknown model (404) to upstream_error', async () => {
    fake.enqueue({ status: 404, errorMessage: "The model 'x' does not exist" });
    const failure = await failureOf(provider.stream(providerRequest()));
    expect(failure.code).toBe('upstream_error');
    expect(failure.message).toContain("The model 'x' does not exist");
  });

  it('maps a refused connection to upstream_error', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address() as { port: number };
        probe.close(() => resolve(address.port));
      });
    });
    const nowhere = createOpenAICompatibleProvider({ baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm' });
    const failure = await failureOf(nowhere.stream(providerRequest()));
    expect(failure.code).toBe('upstream_error');
    expect(failure.message).toContain('ECONNREFUSED');
    await nowhere.close();
  });

  it('fails with upstream_error when the upstream drops mid-stream', async () => {
    fake.enqueue({ tokens: ['a', 'b', 'c'], dropAfterTokens: 2 });
    const events: ProviderEvent[] = [];
    let failure: { code?: string } | undefined;
    try {
      for await (const event of provider.stream(providerRequest())) events.push(event);
    } catch (error) {
      failure = error as { code?: string };
    }
    expect(textOf(events)).toBe('ab');
    expect(failure?.code).toBe('upstream_error');
  });

  it('fails with upstream_error on an error payload inside the stream', async () => {
    fake.enqueue({
      rawBody: `data: {"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}\n\ndata: {"error":{"message":"CUDA out of memory"}}\n\n`,
    });
    const failure = await failureOf(provider.stream(providerRequest()));
    expect(failure.code).toBe('upstream_error');
    expect(failure.message).toContain('CUDA out of memory');
  });

  it('scrubs the API key from an error payload inside the stream (some servers echo the request)', async () => {
    fake.enqueue({
      rawBody: `data: {"error":{"message":"invalid request with key ${fake.apiKey} for model x"}}\n\n`,
    });
    const failure = await failureOf(provider.stream(providerRequest()));
    expect(failure.code).toBe('upstream_error');
    expect(failure.message).toContain('[redacted]');
    expect(failure.message).not.toContain(fake.apiKey);
  });

  it('fails with upstream_error when the stream ends without a finish', async () => {
    fake.enqueue({ rawBody: `data: {"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}\n\n` });
    expect((await failureOf(provider.stream(providerRequest()))).code).toBe('upstream_error');
  });

  it('rejects a base URL that is not http(s)', () => {
    expect(() => createOpenAICompatibleProvider({ baseUrl: 'localhost:11434/v1' })).toThrow(
      expect.objectContaining({ code: 'invalid_config' }),
    );
  });
});

describeCancellationContract('openai-compatible', () => ({ provider, fake }));
