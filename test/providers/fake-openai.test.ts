/**
 * The fake upstream itself, checked with the real `openai` SDK: if the SDK accepts what the fake
 * sends (including its own stream accumulators, which validate indexes and shapes), the provider
 * suites test against the real wire formats.
 */
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_FAKE_TOKENS, type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';

let fake: FakeOpenAI;
let client: OpenAI;

beforeEach(async () => {
  fake = await startFakeOpenAI();
  client = new OpenAI({ apiKey: fake.apiKey, baseURL: fake.baseUrl, maxRetries: 0 });
});

afterEach(async () => {
  await fake.close();
});

describe('fake OpenAI: chat completions', () => {
  it('streams chunks the SDK parses, with finish reason, usage and [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const texts: string[] = [];
    const finishReasons: (string | null)[] = [];
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) texts.push(choice.delta.content);
      if (choice?.finish_reason) finishReasons.push(choice.finish_reason);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(texts).toEqual(DEFAULT_FAKE_TOKENS);
    expect(finishReasons).toEqual(['stop']);
    expect(usage?.completion_tokens).toBe(DEFAULT_FAKE_TOKENS.length);
    expect(fake.generations[0]?.body.messages).toEqual([{ role: 'user', content: 'hi' }]);
    expect(fake.generations[0]?.finished).toBe(true);
  });

  it('streams tool calls that the SDK accumulator assembles', async () => {
    fake.enqueue({ toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}', callId: 'call_1' }] });
    const runner = client.chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'weather?' }],
    });
    const completion = await runner.finalChatCompletion();
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.tool_calls).toEqual([
      expect.objectContaining({
        id: 'call_1',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
      }),
    ]);
  });

  it('answers non-streamed requests', async () => {
    fake.enqueue({ tokens: ['a', 'b'], finishReason: 'length' });
    const completion = await client.chat.completions.create({
      model: 'fake-model',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(completion.choices[0]?.message.content).toBe('ab');
    expect(completion.choices[0]?.finish_reason).toBe('length');
  });

  it('reassembles text exactly when the body is cut at every byte', async () => {
    fake.enqueue({ tokens: ['héllo', ' wörld', ' 😀', '\n\nnext'], fragmentBytes: 1 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('héllo wörld 😀\n\nnext');
  });
});

describe('fake OpenAI: responses', () => {
  it('streams events that the SDK ResponseStream accumulates into the final response', async () => {
    fake.enqueue({ tokens: ['Hi', ' there'] });
    const stream = client.responses.stream({ model: 'gpt-4o-mini', input: 'hello' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
    const response = await stream.finalResponse();
    expect(deltas).toEqual(['Hi', ' there']);
    expect(response.output_text).toBe('Hi there');
    expect(response.status).toBe('completed');
  });

  it('streams function calls with argument deltas', async () => {
    fake.enqueue({ toolCalls: [{ name: 'lookup', arguments: '{"q":"streamwell"}', callId: 'call_9' }] });
    const stream = await client.responses.create({ model: 'gpt-4o-mini', input: 'x', stream: true });
    const types: string[] = [];
    let args = '';
    let final: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.function_call_arguments.delta') args += event.delta;
      if (event.type === 'response.completed') final = event.response;
    }
    expect(types[0]).toBe('response.created');
    expect(types).toContain('response.function_call_arguments.done');
    expect(args).toBe('{"q":"streamwell"}');
    expect(final?.output).toEqual([
      expect.objectContaining({
        type: 'function_call',
        call_id: 'call_9',
        name: 'lookup',
        arguments: '{"q":"streamwell"}',
      }),
    ]);
  });
});

describe('fake OpenAI: models, auth, errors, aborts', () => {
  it('lists and retrieves models, 404 for an unknown one', async () => {
    const page = await client.models.list();
    expect(page.data.map((model) => model.id)).toEqual(['gpt-4o-mini', 'fake-model']);
    expect((await client.models.retrieve('fake-model')).id).toBe('fake-model');
    await expect(client.models.retrieve('nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('answers 401 with the OpenAI error JSON for a wrong key', async () => {
    const wrong = new OpenAI({ apiKey: 'sk-wrong-key-123456', baseURL: fake.baseUrl, maxRetries: 0 });
    const failure = await wrong.models.list().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((failure as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
    expect(String((failure as Error).message)).not.toContain('sk-wrong-key-123456');
  });

  it('answers a scripted HTTP error status', async () => {
    fake.enqueue({ status: 503, errorMessage: 'overloaded' });
    const failure = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [], stream: true })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.InternalServerError);
    expect((failure as { status: number }).status).toBe(503);
  });

  it('records that the client aborted a stalled stream', async () => {
    fake.enqueue({ tokens: ['a', 'b', 'c'], stallAfterTokens: 1 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [], stream: true },
      { signal: controller.signal },
    );
    const seen: string[] = [];
    const consumed = (async () => {
      for await (const chunk of stream) {
        const text = chunk.choices[0]?.delta.content;
        if (text) {
          seen.push(text);
          controller.abort();
        }
      }
    })().catch((error: unknown) => error);
    await consumed;
    expect(seen).toEqual(['a']);
    expect(await fake.generations[0]?.closed).toEqual({ aborted: true });
  });

  it('does not count a finished response as aborted', async () => {
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    const request = await fake.waitForRequest(0);
    expect(request.finished).toBe(true);
    expect(request.aborted).toBe(false);
  });
});
