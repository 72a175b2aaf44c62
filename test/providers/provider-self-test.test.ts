/**
 * Provider self-tests (`streamwell doctor --provider`): key, model and a real streamed round trip,
 * pass and fail, against the fake upstream.
 */
import { createServer } from 'node:net';
import { createAgentsProvider, createOpenAICompatibleProvider, type ProviderSelfTestStep } from 'streamwell/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// Internal: the prompt is not part of the public surface; the test checks it is what is sent.
import { SELF_TEST_PROMPT } from '../../packages/streamwell/src/server/providers/check-streamed-round-trip.ts';
import { type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';

let fake: FakeOpenAI;
const closers: Array<() => Promise<void>> = [];

beforeEach(async () => {
  fake = await startFakeOpenAI();
});

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await fake.close();
});

function statuses(steps: readonly ProviderSelfTestStep[]): Record<string, string> {
  return Object.fromEntries(steps.map((step) => [step.id, step.status]));
}

function step(steps: readonly ProviderSelfTestStep[], id: ProviderSelfTestStep['id']): ProviderSelfTestStep {
  const found = steps.find((candidate) => candidate.id === id);
  if (found === undefined) throw new Error(`no ${id} step`);
  return found;
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function openai(options: { apiKey?: string; model?: string | undefined; baseUrl?: string } = {}) {
  const provider = createOpenAICompatibleProvider({
    baseUrl: options.baseUrl ?? fake.baseUrl,
    apiKey: 'apiKey' in options ? options.apiKey : fake.apiKey,
    model: 'model' in options ? options.model : 'fake-model',
  });
  closers.push(() => provider.close());
  return provider;
}

function agents(options: { apiKey?: string; model?: string; baseUrl?: string } = {}) {
  const provider = createAgentsProvider({
    apiKey: options.apiKey ?? (fake.apiKey as string),
    baseUrl: options.baseUrl ?? fake.baseUrl,
    model: options.model,
    maxRetries: 0,
  });
  closers.push(() => provider.close());
  return provider;
}

describe('openai-compatible self-test', () => {
  it('passes key, model and stream against a working server', async () => {
    fake.enqueue({ tokens: ['O', 'K'] });
    const steps = await openai().selfTest?.();
    expect(statuses(steps ?? [])).toEqual({ key: 'pass', model: 'pass', stream: 'pass' });
    expect(step(steps ?? [], 'stream').evidence).toContain('2 text deltas');
    expect(JSON.stringify(fake.generations[0]?.body.messages)).toContain(SELF_TEST_PROMPT);
  });

  it('fails the key step for a rejected key, without the key in the evidence', async () => {
    const steps = (await openai({ apiKey: 'sk-bad-self-test-key' }).selfTest?.()) ?? [];
    expect(statuses(steps)).toEqual({ key: 'fail', model: 'warn', stream: 'warn' });
    expect(JSON.stringify(steps)).not.toContain('sk-bad-self-test-key');
    expect(fake.generations).toHaveLength(0);
  });

  it('fails the model step for a model the server does not list', async () => {
    const steps = (await openai({ model: 'llama-not-pulled' }).selfTest?.()) ?? [];
    const model = step(steps, 'model');
    expect(model.status).toBe('fail');
    expect(model.evidence).toContain('gpt-4o-mini');
    expect(model.fix).toContain('LLM_MODEL');
  });

  it('warns when no model is configured and names the one it will use', async () => {
    const model = step((await openai({ model: undefined }).selfTest?.()) ?? [], 'model');
    expect(model.status).toBe('warn');
    expect(model.evidence).toContain('gpt-4o-mini');
  });

  it('fails the key step when the server is unreachable', async () => {
    const steps = (await openai({ baseUrl: `http://127.0.0.1:${await closedPort()}/v1` }).selfTest?.()) ?? [];
    expect(step(steps, 'key').status).toBe('fail');
    expect(step(steps, 'key').evidence).toContain('ECONNREFUSED');
    expect(step(steps, 'key').fix).toContain('/v1');
  });

  it('fails the stream step when the streamed request fails', async () => {
    fake.enqueue({ status: 500 });
    const stream = step((await openai().selfTest?.()) ?? [], 'stream');
    expect(stream.status).toBe('fail');
    expect(stream.evidence).toContain('500');
  });

  it('fails the stream step when no text arrives', async () => {
    fake.enqueue({ tokens: [] });
    expect(step((await openai().selfTest?.()) ?? [], 'stream').status).toBe('fail');
  });

  it('warns when a long reply arrives in one piece (not streamed)', async () => {
    fake.enqueue({ tokens: ['OK, here is a reply that is clearly long enough to be split.'], ignoreStream: true });
    const stream = step((await openai().selfTest?.()) ?? [], 'stream');
    expect(stream.status).toBe('warn');
    expect(stream.evidence).toContain('one piece');
  });
});

describe('agents self-test', () => {
  it('passes key, model and stream through the real SDK', async () => {
    const steps = (await agents().selfTest?.()) ?? [];
    expect(statuses(steps)).toEqual({ key: 'pass', model: 'pass', stream: 'pass' });
    expect(fake.generations[0]?.path).toBe('/v1/responses');
  });

  it('fails the key step for a rejected key', async () => {
    const steps = (await agents({ apiKey: 'sk-bad-agents-self-test' }).selfTest?.()) ?? [];
    expect(statuses(steps)).toEqual({ key: 'fail', model: 'warn', stream: 'warn' });
    expect(JSON.stringify(steps)).not.toContain('sk-bad-agents-self-test');
  });

  it('fails the model step for an unknown model', async () => {
    const model = step((await agents({ model: 'gpt-unknown' }).selfTest?.()) ?? [], 'model');
    expect(model.status).toBe('fail');
    expect(model.evidence).toContain('gpt-unknown');
  });

  it('fails the key step when the API is unreachable', async () => {
    const steps = (await agents({ baseUrl: `http://127.0.0.1:${await closedPort()}/v1` }).selfTest?.()) ?? [];
    expect(step(steps, 'key').status).toBe('fail');
    expect(step(steps, 'key').evidence).toContain('Cannot reach');
  });

  it('fails the stream step when the agent run fails', async () => {
    fake.enqueue({ status: 500 });
    expect(step((await agents().selfTest?.()) ?? [], 'stream').status).toBe('fail');
  });
});

describe('openai-compatible self-test: base URL without the version path', () => {
  it('warns on the key step with the /v1 fix and fails the round trip', async () => {
    const steps = (await openai({ baseUrl: fake.url }).selfTest?.()) ?? [];
    expect(step(steps, 'key').status).toBe('warn');
    expect(step(steps, 'key').fix).toContain('/v1');
    expect(step(steps, 'stream').status).toBe('fail');
    expect(step(steps, 'stream').evidence).toContain('404');
  });
});
