/**
 * The Agents SDK provider: the real `@openai/agents` and `openai` packages talk to the fake
 * upstream's Responses API (and Chat Completions) over loopback HTTP.
 */
import { type AgentsProvider, createAgentsProvider, type ProviderEvent } from 'streamwell/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_FAKE_TOKENS, type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';
import { collectEvents, describeCancellationContract, providerRequest } from './provider-contract.ts';

let fake: FakeOpenAI;
let provider: AgentsProvider;
const providers: AgentsProvider[] = [];

async function failureOf(events: AsyncIterable<ProviderEvent>): Promise<{ code?: string; message: string }> {
  try {
    await collectEvents(events);
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected the stream to fail');
}

function make(options: Partial<Parameters<typeof createAgentsProvider>[0]> = {}): AgentsProvider {
  const created = createAgentsProvider({
    apiKey: fake.apiKey as string,
    baseUrl: fake.baseUrl,
    maxRetries: 0,
    ...options,
  });
  providers.push(created);
  return created;
}

beforeEach(async () => {
  fake = await startFakeOpenAI();
  provider = make();
});

afterEach(async () => {
  for (const created of providers.splice(0)) await created.close();
  await fake.close();
});

describe('agents provider: streaming through the real SDK', () => {
  it('maps output_text_delta events to text, in order, then finish', async () => {
    const events = await collectEvents(provider.stream(providerRequest()));
    expect(events).toEqual([
      ...DEFAULT_FAKE_TOKENS.map((text) => ({ type: 'text', text })),
      { type: 'finish', finishReason: 'stop' },
    ]);
    const sent = fake.generations[0];
    expect(sent?.path).toBe('/v1/responses');
    expect(sent?.body).toMatchObject({ model: 'gpt-4o-mini', stream: true });
    expect(sent?.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(provider.name).toBe('agents');
    expect(provider.model).toBe('gpt-4o-mini');
  });

  it('sends the thread history as input items', async () => {
    await collectEvents(
      provider.stream({
        ...providerRequest(),
        messages: [
          { role: 'user', content: 'first question' },
          { role: 'assistant', content: 'first answer' },
          { role: 'user', content: 'second question' },
        ],
      }),
    );
    const input = fake.generations[0]?.body.input as Array<{ role: string; content: unknown }>;
    expect(input.map((item) => item.role)).toEqual(['user', 'assistant', 'user']);
    expect(JSON.stringify(input)).toContain('first answer');
    expect(JSON.stringify(input[2]?.content)).toContain('second question');
  });

  it('maps a tool call and its result, then the text of the next turn', async () => {
    const weather = make({
      agent: ({ Agent, tool }) =>
        new Agent({
          name: 'Weather',
          instructions: 'Use the tool.',
          tools: [
            tool({
              name: 'get_weather',
              description: 'Weather for a city',
              parameters: z.object({ city: z.string() }),
              execute: async ({ city }) => `Sunny in ${city}`,
            }),
          ],
        }),
    });
    fake.enqueue(
      { toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}', callId: 'call_w1' }] },
      { tokens: ['It is', ' sunny.'] },
    );
    const events = await collectEvents(weather.stream(providerRequest('weather in Paris?')));
    expect(events).toEqual([
      { type: 'tool-call', callId: 'call_w1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'tool-result', callId: 'call_w1', output: 'Sunny in Paris' },
      { type: 'text', text: 'It is' },
      { type: 'text', text: ' sunny.' },
      { type: 'finish', finishReason: 'stop' },
    ]);
    // The second model call carries the tool output back to the model.
    expect(JSON.stringify(fake.generations[1]?.body.input)).toContain('Sunny in Paris');
  });

  it('maps a handoff to another agent', async () => {
    const triage = make({
      agent: ({ Agent }) => {
        const billing = new Agent({ name: 'Billing', instructions: 'Answer billing questions.' });
        return new Agent({ name: 'Triage', instructions: 'Route the user.', handoffs: [billing] });
      },
    });
    fake.enqueue(
      { toolCalls: [{ name: 'transfer_to_Billing', arguments: '{}', callId: 'call_h1' }] },
      { tokens: ['Billing', ' here.'] },
    );
    const events = await collectEvents(triage.stream(providerRequest('refund please')));
    expect(events).toEqual([
      { type: 'handoff', from: 'Triage', to: 'Billing' },
      { type: 'text', text: 'Billing' },
      { type: 'text', text: ' here.' },
      { type: 'finish', finishReason: 'stop' },
    ]);
    expect(fake.generations[1]?.body.instructions).toBe('Answer billing questions.');
  });

  it('reports an incomplete response as finish reason length', async () => {
    fake.enqueue({ tokens: ['cut'], finishReason: 'length' });
    expect((await collectEvents(provider.stream(providerRequest()))).at(-1)).toEqual({
      type: 'finish',
      finishReason: 'length',
    });
  });

  it('reassembles text exactly when the body arrives one byte at a time', async () => {
    const tokens = ['héllo', ' wörld', ' 😀', '\n\nnext'];
    fake.enqueue({ tokens, fragmentBytes: 1 });
    const events = await collectEvents(provider.stream(providerRequest()));
    expect(events.map((event) => (event.type === 'text' ? event.text : '')).join('')).toBe(tokens.join(''));
  });

  it('speaks Chat Completions when asked to', async () => {
    const chat = make({ api: 'chat_completions' });
    fake.enqueue({ tokens: ['via', ' chat'] });
    const events = await collectEvents(chat.stream(providerRequest()));
    expect(events).toEqual([
      { type: 'text', text: 'via' },
      { type: 'text', text: ' chat' },
      { type: 'finish', finishReason: 'stop' },
    ]);
    expect(fake.generations[0]?.path).toBe('/v1/chat/completions');
  });

  it('keeps providers with different upstreams apart (no global SDK state)', async () => {
    const other = await startFakeOpenAI({ apiKey: 'sk-other-fake-key-000' });
    try {
      const second = make({ apiKey: 'sk-other-fake-key-000', baseUrl: other.baseUrl });
      other.enqueue({ tokens: ['two'] });
      fake.enqueue({ tokens: ['one'] });
      const [first, secondEvents] = await Promise.all([
        collectEvents(provider.stream(providerRequest())),
        collectEvents(second.stream(providerRequest())),
      ]);
      expect(first[0]).toEqual({ type: 'text', text: 'one' });
      expect(secondEvents[0]).toEqual({ type: 'text', text: 'two' });
    } finally {
      await other.close();
    }
  });
});

describe('agents provider: failures', () => {
  it('maps a rejected key (401) to upstream_auth without the key in the message', async () => {
    const wrongKey = 'sk-wrong-agents-key-9876';
    const failure = await failureOf(make({ apiKey: wrongKey }).stream(providerRequest()));
    expect(failure.code).toBe('upstream_auth');
    expect(failure.message).toContain('401');
    expect(failure.message).toContain(`${fake.baseUrl}/responses`);
    expect(failure.message).not.toContain(wrongKey);
  });

  it('maps a 500 to upstream_error', async () => {
    fake.enqueue({ status: 500, errorMessage: 'The server had an error' });
    const failure = await failureOf(provider.stream(providerRequest()));
    expect(failure.code).toBe('upstream_error');
    expect(failure.message).toContain('500');
    expect(failure.message).toContain('The server had an error');
  });

  it('requires an API key', () => {
    expect(() => createAgentsProvider({ apiKey: '' })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
  });
});

describeCancellationContract('agents', () => ({ provider, fake }));
