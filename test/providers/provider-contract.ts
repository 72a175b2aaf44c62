/**
 * What every provider must do, shared by the suites of each provider: the request helper, and
 * the cancellation contract (an abort or an early `break` must close the upstream connection so
 * the model stops generating and billing).
 *
 * @module
 */
import {
  createOpenAICompatibleProvider,
  type OpenAICompatibleProvider,
  type Provider,
  type ProviderEvent,
  type ProviderRequest,
} from 'streamwell/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';

/** A one-message request for a provider. */
export function providerRequest(content = 'hi', signal = new AbortController().signal): ProviderRequest {
  return { messages: [{ role: 'user', content }], signal, streamId: 's1', threadId: 't1' };
}

/**
 * Before each test, starts the fake upstream and an OpenAI-compatible provider on it (model
 * `fake-model`, the fake's key); after it, closes both.
 *
 * @param use - receives the pair for the test about to run
 */
export function withFakeOpenAIProvider(
  use: (setup: { fake: FakeOpenAI; provider: OpenAICompatibleProvider }) => void,
): void {
  let current: { fake: FakeOpenAI; provider: OpenAICompatibleProvider } | undefined;
  beforeEach(async () => {
    const fake = await startFakeOpenAI();
    current = {
      fake,
      provider: createOpenAICompatibleProvider({ baseUrl: fake.baseUrl, apiKey: fake.apiKey, model: 'fake-model' }),
    };
    use(current);
  });
  afterEach(async () => {
    await current?.provider.close();
    await current?.fake.close();
    current = undefined;
  });
}

/** Every event a provider stream yields. */
export async function collectEvents(events: AsyncIterable<ProviderEvent>): Promise<ProviderEvent[]> {
  const out: ProviderEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

/**
 * Registers the cancellation contract for one provider.
 *
 * @param name - the provider's name in test titles
 * @param context - the provider under test and the fake upstream it talks to (read per test)
 */
export function describeCancellationContract(
  name: string,
  context: () => { provider: Provider; fake: FakeOpenAI },
): void {
  describe(`${name} provider: cancellation reaches the upstream`, () => {
    it('aborting mid-stream closes the upstream connection', async () => {
      const { provider, fake } = context();
      fake.enqueue({ tokens: ['a', 'b', 'c'], stallAfterTokens: 1 });
      const controller = new AbortController();
      const seen: string[] = [];
      const consumed = (async () => {
        for await (const event of provider.stream(providerRequest('hi', controller.signal))) {
          if (event.type === 'text') {
            seen.push(event.text);
            controller.abort();
          }
        }
      })();
      // The abort itself, not an upstream_error: the run has already ended and ignores it.
      await expect(consumed).rejects.toMatchObject({ name: 'AbortError' });
      expect(seen).toEqual(['a']);
      expect(await fake.generations[0]?.closed).toEqual({ aborted: true });
    });

    it('aborting before the first token closes the upstream connection', async () => {
      const { provider, fake } = context();
      fake.enqueue({ neverFirstToken: true });
      const controller = new AbortController();
      const consumed = collectEvents(provider.stream(providerRequest('hi', controller.signal)));
      const upstream = await fake.waitForRequest(0);
      controller.abort();
      await expect(consumed).rejects.toMatchObject({ name: 'AbortError' });
      expect(await upstream.closed).toEqual({ aborted: true });
    });

    it('a consumer that stops iterating closes the upstream connection', async () => {
      const { provider, fake } = context();
      fake.enqueue({ tokens: ['a', 'b', 'c'], stallAfterTokens: 1 });
      for await (const event of provider.stream(providerRequest())) {
        if (event.type === 'text') break;
      }
      expect(await fake.generations[0]?.closed).toEqual({ aborted: true });
    });
  });
}
