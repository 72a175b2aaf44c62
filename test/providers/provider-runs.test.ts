/**
 * Providers inside whole runs (`createRunRegistry`): cancel and timeouts must reach the upstream
 * (the fake sees the connection close), errors end the run with the right code, and the thread's
 * history reaches the model on the next turn. Both real providers, over loopback HTTP.
 */
import {
  createAgentsProvider,
  createOpenAICompatibleProvider,
  createRunRegistry,
  type LocalRunRegistry,
  type Provider,
  type Run,
} from 'streamwell/server';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_FAKE_TOKENS, type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';

interface Closable extends Provider {
  close(): Promise<void>;
}

const kinds: Array<{ name: string; create: (fake: FakeOpenAI, apiKey?: string) => Closable }> = [
  {
    name: 'openai-compatible',
    create: (fake, apiKey = fake.apiKey) =>
      createOpenAICompatibleProvider({ baseUrl: fake.baseUrl, apiKey, model: 'fake-model' }),
  },
  {
    name: 'agents',
    create: (fake, apiKey = fake.apiKey as string) =>
      createAgentsProvider({ apiKey, baseUrl: fake.baseUrl, maxRetries: 0 }),
  },
];

function eventsOf(run: Run): Array<{ event: string; data: Record<string, unknown> }> {
  return run.eventsAfter(undefined).map((event) => ({ event: event.event, data: JSON.parse(event.json) }));
}

/** Resolves once the run has emitted at least one token. */
function firstToken(registry: LocalRunRegistry, run: Run): Promise<void> {
  return new Promise((resolve) => {
    const attachment = registry.attach(run, undefined, {
      onEvent(event) {
        if (event.event === 'token') resolve();
      },
    });
    if (attachment.backlog.some((event) => event.event === 'token')) resolve();
  });
}

describe.each(kinds)('$name provider in a run', ({ create }) => {
  let fake: FakeOpenAI;
  let provider: Closable;
  let registry: LocalRunRegistry;

  beforeEach(async () => {
    fake = await startFakeOpenAI();
    provider = create(fake);
  });

  afterEach(async () => {
    vi.useRealTimers();
    registry?.close();
    await provider.close();
    await fake.close();
  });

  it('streams the reply as token events and ends with done', async () => {
    registry = createRunRegistry({ provider });
    const { run } = registry.start({ message: 'hello' });
    const summary = await run.finished;
    expect(summary.status).toBe('complete');
    const events = eventsOf(run);
    expect(events.filter((event) => event.event === 'token').map((event) => event.data.token)).toEqual(
      DEFAULT_FAKE_TOKENS,
    );
    expect(events.at(-1)).toEqual({
      event: 'done',
      data: { finishReason: 'stop', tokens: DEFAULT_FAKE_TOKENS.length },
    });
    expect(run.text).toBe(DEFAULT_FAKE_TOKENS.join(''));
  });

  it('cancel stops the run and the upstream request', async () => {
    registry = createRunRegistry({ provider });
    fake.enqueue({ tokens: ['a', 'b', 'c'], stallAfterTokens: 1 });
    const { run } = registry.start({ message: 'hello' });
    await firstToken(registry, run);
    registry.cancel(run.id, undefined);
    expect((await run.finished).status).toBe('cancelled');
    expect(await fake.generations[0]?.closed).toEqual({ aborted: true });
    expect(run.text).toBe('a');
  });

  it('first_token_timeout ends the run and aborts the upstream request', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    registry = createRunRegistry({ provider, firstTokenTimeoutMs: 30_000 });
    fake.enqueue({ neverFirstToken: true });
    const { run } = registry.start({ message: 'hello' });
    await fake.waitForRequest(0);
    await vi.advanceTimersByTimeAsync(30_000);
    const summary = await run.finished;
    expect(summary.outcome).toBe('first_token_timeout');
    expect(await fake.generations[0]?.closed).toEqual({ aborted: true });
  });

  it('idle_timeout after a stall mid-stream aborts the upstream request', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    registry = createRunRegistry({ provider, idleTimeoutMs: 30_000 });
    fake.enqueue({ tokens: ['a', 'b'], stallAfterTokens: 1 });
    const { run } = registry.start({ message: 'hello' });
    await firstToken(registry, run);
    await vi.advanceTimersByTimeAsync(30_000);
    expect((await run.finished).outcome).toBe('idle_timeout');
    expect(await fake.generations[0]?.closed).toEqual({ aborted: true });
    expect(run.text).toBe('a');
  });

  it('a rejected key ends the run with upstream_auth', async () => {
    const wrong = create(fake, 'sk-wrong-key-for-run-0000');
    registry = createRunRegistry({ provider: wrong });
    const { run } = registry.start({ message: 'hello' });
    await run.finished;
    const terminal = eventsOf(run).at(-1);
    expect(terminal?.event).toBe('error');
    expect(terminal?.data.code).toBe('upstream_auth');
    expect(String(terminal?.data.error)).not.toContain('sk-wrong-key-for-run-0000');
    await wrong.close();
  });

  it('an upstream 500 ends the run with upstream_error', async () => {
    registry = createRunRegistry({ provider });
    fake.enqueue({ status: 500 });
    const { run } = registry.start({ message: 'hello' });
    await run.finished;
    expect(eventsOf(run).at(-1)?.data.code).toBe('upstream_error');
  });

  it('the next turn of a thread sends the history to the model', async () => {
    registry = createRunRegistry({ provider });
    fake.enqueue({ tokens: ['first', ' answer'] }, { tokens: ['second'] });
    const first = registry.start({ message: 'first question' }).run;
    await first.finished;
    // The registry records the exchange when the run's `finished` settles.
    await new Promise((resolve) => setImmediate(resolve));
    const second = registry.start({ message: 'second question', threadId: first.threadId }).run;
    await second.finished;
    const sent = JSON.stringify(fake.generations[1]?.body);
    expect(sent).toContain('first question');
    expect(sent).toContain('first answer');
    expect(sent).toContain('second question');
  });
});
