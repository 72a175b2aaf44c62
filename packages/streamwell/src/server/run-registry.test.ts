import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeSseEvent } from '../protocol/index.ts';
import { encodeRunEventFrame, SSE_EVENT_ENCODER } from './http/sse-event-encoder.ts';
import type { Provider, ProviderEvent, ProviderRequest } from './provider.ts';
import type { RunEvent } from './run.ts';
import { createRunRegistry, createStreamId, type LocalRunRegistry } from './run-registry.ts';
import { createThreadStore } from './thread-store.ts';

/** A provider driven by the test: it yields what `push` gives it and records the abort. */
function createScriptedProvider() {
  const queue: ProviderEvent[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const seen: { aborted: boolean; request?: ProviderRequest } = { aborted: false };
  const provider: Provider = {
    name: 'scripted',
    model: 'test',
    async *stream(request) {
      seen.request = request;
      request.signal.addEventListener('abort', () => {
        seen.aborted = true;
        wake?.();
      });
      while (true) {
        if (request.signal.aborted) throw new Error('aborted');
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (ended) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
  return {
    provider,
    seen,
    push(...events: ProviderEvent[]) {
      queue.push(...events);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

let registry: LocalRunRegistry | undefined;
afterEach(() => {
  registry?.close();
  registry = undefined;
  vi.useRealTimers();
});

describe('run registry', () => {
  it('numbers events with increasing ids and ends with exactly one terminal event', async () => {
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider, checkpointEvery: 2 });
    const { run } = registry.start({ message: 'hi' });
    scripted.push({ type: 'text', text: 'a' }, { type: 'text', text: 'b' }, { type: 'text', text: 'c' });
    scripted.end();
    await run.finished;
    const events = run.eventsAfter(undefined);
    expect(events.map((event) => event.event)).toEqual(['start', 'token', 'token', 'checkpoint', 'token', 'done']);
    expect(events.map((event) => event.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(JSON.parse(events[5]!.json)).toEqual({ finishReason: 'stop', tokens: 3 });
    expect(run.text).toBe('abc');
    expect(run.status).toBe('complete');
  });

  it('keeps a finished log identical after packing: the same records from every cursor', async () => {
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider, checkpointEvery: 2 });
    const { run } = registry.start({ message: 'hi' });
    // Multi-byte text, an agent event and a checkpoint: every name and length kind in one log.
    scripted.push(
      { type: 'text', text: 'Grüße 🌍' },
      { type: 'handoff', from: 'triage', to: 'billing' },
      { type: 'text', text: ' "quoted"\n' },
      { type: 'text', text: 'end' },
    );
    await new Promise((resolve) => setImmediate(resolve));
    const live = run.eventsAfter(undefined).map((event) => ({ ...event }));
    scripted.end();
    await run.finished;
    const all = run.eventsAfter(undefined);
    expect(all.slice(0, live.length)).toEqual(live);
    expect(all.at(-1)?.event).toBe('done');
    for (let after = -1; after <= run.lastEventId + 1; after += 1) {
      expect(run.eventsAfter(after)).toEqual(all.filter((event) => event.id > after));
    }
    expect(run.text).toBe('Grüße 🌍 "quoted"\nend');
  });

  it('frames live events exactly as the checked SSE encoder would, and drops event types outside the protocol', async () => {
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider, checkpointEvery: 0 });
    const { run } = registry.start({ message: 'hi' });
    const frames: string[] = [];
    registry.attach(run, undefined, { onEvent: (_event, batch) => frames.push(batch.encode(SSE_EVENT_ENCODER)) });
    scripted.push(
      { type: 'text', text: 'line\r\nbreak' },
      { type: 'weird\nevent: injected', text: 'x' } as unknown as ProviderEvent,
      { type: 'handoff', from: 'a', to: 'b' },
    );
    scripted.end();
    await run.finished;
    const events = run.eventsAfter(undefined);
    expect(events.map((event) => event.event)).toEqual(['start', 'token', 'handoff', 'done']);
    expect(frames).toEqual(events.slice(1).map((event) => encodeSseEvent(event.id, event.event, event.json)));
    expect(events.map(encodeRunEventFrame)).toEqual(
      events.map((event) => encodeSseEvent(event.id, event.event, event.json)),
    );
  });

  it('hands a subscriber the backlog then live events with no gap or duplicate', async () => {
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider, checkpointEvery: 0 });
    const { run } = registry.start({ message: 'hi' });
    scripted.push({ type: 'text', text: 'x' }, { type: 'text', text: 'y' });
    await tick();
    const received: RunEvent[] = [];
    const attachment = registry.attach(run, 2, { onEvent: (event) => received.push(event) });
    expect(attachment.backlog.map((event) => event.id)).toEqual([3]);
    scripted.push({ type: 'text', text: 'z' });
    scripted.end();
    await run.finished;
    expect(received.map((event) => event.id)).toEqual([4, 5]);
  });

  it('cancel emits done/cancelled and aborts the provider signal', async () => {
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider });
    const { run } = registry.start({ message: 'hi' });
    scripted.push({ type: 'text', text: 'x' });
    await tick();
    expect(registry.cancel(run.id, undefined)?.status).toBe('cancelled');
    await run.finished;
    expect(scripted.seen.aborted).toBe(true);
    const last = run.eventsAfter(undefined).at(-1)!;
    expect(last.event).toBe('done');
    expect(JSON.parse(last.json).finishReason).toBe('cancelled');
    // Idempotent.
    expect(registry.cancel(run.id, undefined)?.status).toBe('cancelled');
  });

  it('ends with first_token_timeout and aborts upstream', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider, firstTokenTimeoutMs: 1000 });
    const { run } = registry.start({ message: 'hi' });
    await vi.advanceTimersByTimeAsync(999);
    expect(run.status).toBe('running');
    await vi.advanceTimersByTimeAsync(2);
    expect(run.status).toBe('timeout');
    expect(run.outcome).toBe('first_token_timeout');
    expect(scripted.seen.aborted).toBe(true);
  });

  it('ends with idle_timeout when the model goes quiet after a token', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider, idleTimeoutMs: 500 });
    const { run } = registry.start({ message: 'hi' });
    await vi.advanceTimersByTimeAsync(100);
    scripted.push({ type: 'text', text: 'x' });
    await vi.advanceTimersByTimeAsync(400);
    scripted.push({ type: 'text', text: 'y' });
    await vi.advanceTimersByTimeAsync(400);
    expect(run.status).toBe('running');
    await vi.advanceTimersByTimeAsync(200);
    expect(run.outcome).toBe('idle_timeout');
    expect(run.text).toBe('xy');
  });

  it('ends with stream_timeout even while tokens keep coming', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider, streamTimeoutMs: 1000, idleTimeoutMs: 300 });
    const { run } = registry.start({ message: 'hi' });
    for (let step = 0; step < 12; step += 1) {
      scripted.push({ type: 'text', text: '.' });
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(run.outcome).toBe('stream_timeout');
  });

  it('cancels a run nobody is attached to after the grace period', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider, disconnectGraceMs: 1000 });
    const { run } = registry.start({ message: 'hi' });
    const attachment = registry.attach(run, undefined, { onEvent: () => {} });
    await vi.advanceTimersByTimeAsync(5000);
    expect(run.status).toBe('running');
    attachment.detach();
    await vi.advanceTimersByTimeAsync(999);
    expect(run.status).toBe('running');
    await vi.advanceTimersByTimeAsync(2);
    expect(run.outcome).toBe('abandoned');
    expect(scripted.seen.aborted).toBe(true);
  });

  it('returns the same run for the same idempotency key and refuses a different message', () => {
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider });
    const first = registry.start({ message: 'hi', idempotencyKey: 'k1' });
    const second = registry.start({ message: 'hi', idempotencyKey: 'k1' });
    expect(second.created).toBe(false);
    expect(second.run).toBe(first.run);
    expect(() => registry!.start({ message: 'other', idempotencyKey: 'k1' })).toThrow(/different message/);
    // Keys are scoped per principal.
    expect(registry.start({ message: 'hi', idempotencyKey: 'k1', owner: 'bob' }).created).toBe(true);
  });

  it('hides a run from other principals', () => {
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider });
    const { run } = registry.start({ message: 'hi', owner: 'alice' });
    expect(registry.get(run.id, 'alice')).toBe(run);
    expect(registry.get(run.id, 'bob')).toBeUndefined();
    expect(registry.get(run.id, undefined)).toBeUndefined();
  });

  it('frees the concurrency slot of a run even when the onEnd hook throws', async () => {
    const scripted = createScriptedProvider();
    let throws = true;
    registry = createRunRegistry({
      provider: scripted.provider,
      maxConcurrentStreams: 1,
      observer: {
        onEnd() {
          if (throws) throw new Error('hook bug');
        },
      },
    });
    const { run } = registry.start({ message: 'a' });
    expect(() => run.cancel()).toThrow('hook bug');
    expect(run.status).toBe('cancelled');
    throws = false;
    await run.finished;
    await tick();
    expect(registry.activeCount).toBe(0);
    expect(registry.start({ message: 'b' }).created).toBe(true);
  });

  it('refuses runs past the concurrency limit with too_many_streams', () => {
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider, maxConcurrentStreams: 1 });
    registry.start({ message: 'a' });
    expect(() => registry!.start({ message: 'b' })).toThrow(
      expect.objectContaining({ code: 'too_many_streams', status: 429 }),
    );
  });

  it('ends a run that outgrows its byte cap with retention_exceeded', async () => {
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider, maxRunBytes: 1000 });
    const { run } = registry.start({ message: 'a' });
    for (let index = 0; index < 50; index += 1) scripted.push({ type: 'text', text: 'xxxxxxxxxx' });
    await run.finished;
    expect(run.outcome).toBe('retention_exceeded');
    expect(scripted.seen.aborted).toBe(true);
  });

  it('evicts the oldest finished runs past the global byte cap, and refuses a start while running runs hold it', async () => {
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider, maxTotalBytes: 2000, checkpointEvery: 0 });
    const first = registry.start({ message: 'a' }).run;
    for (let index = 0; index < 10; index += 1) scripted.push({ type: 'text', text: 'x'.repeat(100) });
    await tick();
    first.cancel();
    await first.finished;
    expect(registry.retainedBytes).toBe(first.retainedBytes);
    expect(first.retainedBytes).toBeGreaterThan(1000);
    const second = registry.start({ message: 'b' }).run;
    expect(registry.retainedBytes).toBe(first.retainedBytes + second.retainedBytes);
    // Over the cap: the finished run goes, the running one stays.
    for (let index = 0; index < 10; index += 1) scripted.push({ type: 'text', text: 'y'.repeat(100) });
    await tick();
    expect(registry.retainedBytes).toBeGreaterThan(2000);
    const third = registry.start({ message: 'c' }).run;
    expect(registry.get(first.id, undefined)).toBeUndefined();
    expect(registry.get(second.id, undefined)).toBe(second);
    expect(registry.retainedBytes).toBe(second.retainedBytes + third.retainedBytes);
    // Still over it with nothing finished to evict: refused.
    for (let index = 0; index < 10; index += 1) scripted.push({ type: 'text', text: 'z'.repeat(100) });
    await tick();
    expect(() => registry!.start({ message: 'd' })).toThrow(
      expect.objectContaining({ code: 'too_many_streams', status: 429 }),
    );
  });

  it('forgets a finished run once its retention has passed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider, retentionMs: 1000 });
    const { run } = registry.start({ message: 'a' });
    scripted.push({ type: 'text', text: 'x' });
    scripted.end();
    await vi.advanceTimersByTimeAsync(10);
    expect(run.status).toBe('complete');
    expect(registry.retainedCount).toBe(1);
    await vi.advanceTimersByTimeAsync(900);
    expect(registry.get(run.id, undefined)).toBe(run);
    // The sweep interval removes it without anyone asking for it.
    await vi.advanceTimersByTimeAsync(1000);
    expect(registry.retainedCount).toBe(0);
    expect(registry.retainedBytes).toBe(0);
    expect(run.eventsAfter(undefined)).toEqual([]);
  });

  it('keeps thread history for the next turn', async () => {
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider });
    const first = registry.start({ message: 'one', threadId: 't1' });
    scripted.push({ type: 'text', text: 'reply' });
    scripted.end();
    await first.run.finished;
    const again = createScriptedProvider();
    const second = createRunRegistry({ provider: again.provider, threads: registry.threads });
    const { run } = second.start({ message: 'two', threadId: 't1' });
    await tick();
    expect(again.seen.request?.messages).toEqual([
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'reply' },
      { role: 'user', content: 'two' },
    ]);
    run.cancel();
    second.close();
  });

  it('makes stream ids with at least 128 random bits', () => {
    const id = createStreamId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{24}$/);
    // 1,000 ids span several refills of the pooled random bytes.
    const ids = Array.from({ length: 1000 }, createStreamId);
    expect(new Set(ids).size).toBe(1000);
    for (const each of ids) expect(Buffer.from(each, 'base64url').toString('base64url')).toBe(each);
    // Every base64url character shows up about 375 times in 24,000: a bias (say, bits lost in
    // the encoding) would starve some of them.
    const counts = new Map<string, number>();
    for (const char of ids.join('')) counts.set(char, (counts.get(char) ?? 0) + 1);
    expect(counts.size).toBe(64);
    expect(Math.min(...counts.values())).toBeGreaterThan(250);
  });
  it('survives a thread store that throws: the run finishes, the slot is freed, the observer hears of it', async () => {
    const scripted = createScriptedProvider();
    const failures: unknown[] = [];
    const threads = createThreadStore();
    const failing = {
      ...threads,
      append: () => {
        throw new Error('disk full');
      },
      get size() {
        return threads.size;
      },
    };
    registry = createRunRegistry({
      provider: scripted.provider,
      maxConcurrentStreams: 1,
      threads: failing,
      observer: { onThreadStoreError: (_run, error) => failures.push(error) },
    });
    const { run } = registry.start({ message: 'a' });
    scripted.push({ type: 'text', text: 'x' });
    scripted.end();
    await run.finished;
    await tick();
    expect(failures).toEqual([new Error('disk full')]);
    expect(registry.activeCount).toBe(0);
    expect(registry.start({ message: 'b' }).created).toBe(true);
  });
  it('keeps a run and its other subscribers going when one subscriber throws', async () => {
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider, checkpointEvery: 0 });
    const { run } = registry.start({ message: 'a' });
    registry.attach(run, undefined, {
      onEvent: () => {
        throw new Error('broken view');
      },
    });
    const received: number[] = [];
    registry.attach(run, undefined, { onEvent: (event) => received.push(event.id) });
    scripted.push({ type: 'text', text: 'x' }, { type: 'text', text: 'y' });
    scripted.end();
    await run.finished;
    expect(run.status).toBe('complete');
    expect(run.text).toBe('xy');
    expect(received).toEqual([2, 3, 4]);
  });
});
