/**
 * The batch path (`Provider.streamBatches`) of the lean OpenAI-compatible provider against the
 * fake upstream over real loopback HTTP: the same events and failures as `stream`, delivered as
 * one synchronous call per upstream read; and the run turning a batch into one delivery per
 * subscriber.
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createOpenAICompatibleProvider,
  createRunRegistry,
  type OpenAICompatibleProvider,
  type Provider,
  type ProviderEvent,
  type ProviderRequest,
  type RunEvent,
} from 'streamwell/server';
import { describe, expect, it } from 'vitest';
// Internal: the frame encoder is not part of the public surface.
import { encodeRunEventFrame, SSE_EVENT_ENCODER } from '../../packages/streamwell/src/server/http/sse-event-encoder.ts';
import { DEFAULT_FAKE_TOKENS, type FakeOpenAI } from '../helpers/fake-openai.ts';
import { providerRequest, withFakeOpenAIProvider } from './provider-contract.ts';

let fake: FakeOpenAI;
let provider: OpenAICompatibleProvider;

/** Runs the batch path to its end; `error` is what it rejected with, if it did. */
async function collectBatches(
  req: ProviderRequest,
  onBatch?: (events: readonly ProviderEvent[]) => void,
): Promise<{
  events: ProviderEvent[];
  batches: number;
  error: { code?: string; name?: string; message: string } | undefined;
}> {
  const streamBatches = provider.streamBatches;
  if (streamBatches === undefined) throw new Error('the provider has no batch path');
  const events: ProviderEvent[] = [];
  let batches = 0;
  let error: { code?: string; name?: string; message: string } | undefined;
  try {
    await streamBatches(req, (batch) => {
      expect(batch.length).toBeGreaterThan(0);
      batches += 1;
      events.push(...batch);
      onBatch?.(batch);
    });
  } catch (failure) {
    error = failure as typeof error;
  }
  return { events, batches, error };
}

function textOf(events: readonly ProviderEvent[]): string {
  return events.map((event) => (event.type === 'text' ? event.text : '')).join('');
}

withFakeOpenAIProvider((setup) => {
  ({ fake, provider } = setup);
});

describe('openai-compatible provider: batch path', () => {
  it('delivers the same events as stream(), in order', async () => {
    const { events, error } = await collectBatches(providerRequest());
    expect(error).toBeUndefined();
    expect(events).toEqual([
      ...DEFAULT_FAKE_TOKENS.map((text) => ({ type: 'text', text })),
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('reassembles text exactly when the body arrives one byte at a time', async () => {
    const tokens = ['héllo', ' wörld', ' 😀', ' "quoted"\\n', '\n\nnext', ' 日本語'];
    fake.enqueue({ tokens, fragmentBytes: 1 });
    const { events, error } = await collectBatches(providerRequest());
    expect(error).toBeUndefined();
    expect(textOf(events)).toBe(tokens.join(''));
    expect(events.filter((event) => event.type === 'text')).toHaveLength(tokens.length);
  });

  it('accepts a server that answers JSON instead of a stream', async () => {
    fake.enqueue({ tokens: ['whole', ' reply'], ignoreStream: true });
    const { events, batches } = await collectBatches(providerRequest());
    expect(batches).toBe(1);
    expect(events).toEqual([
      { type: 'text', text: 'whole reply' },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('reuses the keep-alive connection for the next request', async () => {
    await collectBatches(providerRequest());
    await new Promise((resolve) => setImmediate(resolve));
    await collectBatches(providerRequest());
    expect(fake.generations[1]?.remotePort).toBe(fake.generations[0]?.remotePort);
  });

  it('delivers what arrived, then fails with upstream_error when the upstream drops mid-stream', async () => {
    fake.enqueue({ tokens: ['a', 'b', 'c'], dropAfterTokens: 2 });
    const { events, error } = await collectBatches(providerRequest());
    expect(textOf(events)).toBe('ab');
    expect(error?.code).toBe('upstream_error');
  });

  it('fails with upstream_error on an error payload inside the stream, after the text before it', async () => {
    fake.enqueue({
      rawBody: `data: {"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}\n\ndata: {"error":{"message":"CUDA out of memory"}}\n\n`,
    });
    const { events, error } = await collectBatches(providerRequest());
    expect(textOf(events)).toBe('x');
    expect(error?.code).toBe('upstream_error');
    expect(error?.message).toContain('CUDA out of memory');
  });

  it('fails with upstream_error when the stream ends without a finish', async () => {
    fake.enqueue({ rawBody: `data: {"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}\n\n` });
    expect((await collectBatches(providerRequest())).error?.code).toBe('upstream_error');
  });

  it('aborting the signal rejects with the abort and closes the upstream connection', async () => {
    fake.enqueue({ tokens: ['a', 'b', 'c'], stallAfterTokens: 1 });
    const controller = new AbortController();
    const { events, error } = await collectBatches(providerRequest('hi', controller.signal), () => controller.abort());
    expect(textOf(events)).toBe('a');
    expect(error?.name).toBe('AbortError');
    expect(await fake.generations[0]?.closed).toEqual({ aborted: true });
  });

  it('fails with upstream_auth on a 401, with the upstream message and without the key', async () => {
    fake.enqueue({ status: 401, errorMessage: `Incorrect API key provided: ${fake.apiKey}` });
    const { events, error } = await collectBatches(providerRequest());
    expect(events).toEqual([]);
    expect(error?.code).toBe('upstream_auth');
    expect(error?.message).toContain('Incorrect API key provided');
    expect(error?.message).not.toContain(fake.apiKey);
  });

  it('fails with upstream_error and the status on a 500 whose body is far larger than what is read', async () => {
    fake.enqueue({ status: 500, errorMessage: `overloaded ${'x'.repeat(200_000)}` });
    const { error } = await collectBatches(providerRequest());
    expect(error?.code).toBe('upstream_error');
    expect(error?.message).toContain('500');
    expect(error?.message).toContain('overloaded');
  });

  it('an already aborted signal rejects at once and sends nothing upstream', async () => {
    const controller = new AbortController();
    controller.abort();
    const { error } = await collectBatches(providerRequest('hi', controller.signal));
    expect(error?.name).toBe('AbortError');
    expect(fake.generations).toHaveLength(0);
  });

  it('waits past a 103 Early Hints for the real answer', async () => {
    // The fake upstream speaks plain OpenAI; this one adds the informational response first.
    const server = createServer((_request, response) => {
      response.writeEarlyHints({ link: '</v1/models>; rel=preload' });
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end(
        'data: {"choices":[{"index":0,"delta":{"content":"hinted"},"finish_reason":null}]}\n\n' +
          'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const hinted = createOpenAICompatibleProvider({ baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm' });
    try {
      const events: ProviderEvent[] = [];
      await hinted.streamBatches?.(providerRequest(), (batch) => events.push(...batch));
      expect(events).toEqual([
        { type: 'text', text: 'hinted' },
        { type: 'finish', finishReason: 'stop' },
      ]);
    } finally {
      await hinted.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a throwing consumer fails the reply and closes the upstream connection', async () => {
    fake.enqueue({ tokens: ['a', 'b', 'c'], stallAfterTokens: 1 });
    const { error } = await collectBatches(providerRequest(), () => {
      throw new Error('consumer broke');
    });
    expect(error?.message).toContain('consumer broke');
    expect(await fake.generations[0]?.closed).toEqual({ aborted: true });
  });
});

describe('run: provider batches', () => {
  /** A provider whose batch path delivers the given batches, one per macrotask. */
  function batchProvider(batches: ProviderEvent[][]): Provider {
    return {
      name: 'batches',
      model: 'test',
      async *stream() {
        for (const batch of batches) yield* batch;
      },
      async streamBatches(_request, onEvents) {
        for (const batch of batches) {
          await new Promise((resolve) => setImmediate(resolve));
          onEvents(batch);
        }
      },
    };
  }

  it('numbers every event and hands each subscriber one batch per provider batch', async () => {
    const registry = createRunRegistry({
      provider: batchProvider([
        [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
        ],
        [{ type: 'text', text: 'c' }],
        [{ type: 'finish', finishReason: 'stop' }],
      ]),
      checkpointEvery: 2,
    });
    const { run } = registry.start({ message: 'hi' });
    const batched: { events: RunEvent[]; frames: string }[] = [];
    const single: RunEvent[] = [];
    registry.attach(run, undefined, {
      onEvent: (event, batch) => batched.push({ events: [event], frames: batch.encode(SSE_EVENT_ENCODER) }),
      onEvents: (batch) => batched.push({ events: [...batch.events], frames: batch.encode(SSE_EVENT_ENCODER) }),
    });
    registry.attach(run, undefined, { onEvent: (event) => single.push(event) });
    await run.finished;
    // a, b and the checkpoint after b came from one read: one delivery; c alone; done alone.
    expect(batched.map((call) => call.events.map((event) => event.event))).toEqual([
      ['token', 'token', 'checkpoint'],
      ['token'],
      ['done'],
    ]);
    for (const call of batched) expect(call.frames).toBe(call.events.map(encodeRunEventFrame).join(''));
    // A subscriber without onEvents gets the same events one by one; the log has them all.
    const ids = batched.flatMap((call) => call.events.map((event) => event.id));
    expect(single.map((event) => event.id)).toEqual(ids);
    expect(run.eventsAfter(1).map((event) => event.id)).toEqual(ids);
    expect(ids).toEqual([2, 3, 4, 5, 6]);
    expect(run.text).toBe('abc');
    registry.close();
  });

  it('ends inside a batch (per-run byte cap) with the batch and the terminal event delivered', async () => {
    const registry = createRunRegistry({
      provider: batchProvider([
        [
          { type: 'text', text: 'x'.repeat(100) },
          { type: 'text', text: 'y'.repeat(10_000) },
        ],
      ]),
      maxRunBytes: 1000,
    });
    const { run } = registry.start({ message: 'hi' });
    const seen: string[] = [];
    registry.attach(run, undefined, {
      onEvent: (event) => seen.push(event.event),
      onEvents: (batch) => seen.push(...batch.events.map((event) => event.event)),
    });
    const summary = await run.finished;
    expect(summary.outcome).toBe('retention_exceeded');
    expect(seen).toEqual(['token', 'error']);
    registry.close();
  });
});
