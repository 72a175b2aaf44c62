/**
 * The session's reconnect loop through the transport seam, under fake timers: backoff, the
 * server's `retry:` and `Retry-After`, stall detection, attempts, dedupe, abort and cancel.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StreamwellError } from '../errors/index.ts';
import type { StreamEvent } from '../protocol/index.ts';
import { createStreamClient, type StreamClientOptions } from './stream-client.ts';
import { StreamHttpError } from './stream-http-error.ts';
import type { StreamTransport, TransportHandlers, TransportResult } from './stream-transport.ts';

type Script = (handlers: TransportHandlers, signal: AbortSignal) => Promise<TransportResult>;

interface Call {
  readonly kind: 'start' | 'resume';
  readonly after?: number | undefined;
}

function scripted(scripts: Script[]) {
  const calls: Call[] = [];
  const cancels: string[] = [];
  let index = 0;
  const next = (handlers: TransportHandlers, signal: AbortSignal): Promise<TransportResult> => {
    const script = scripts[index++];
    if (script === undefined) throw new Error(`no script for connection ${index}`);
    return script(handlers, signal);
  };
  const transport: StreamTransport = {
    name: 'scripted',
    start: (_request, handlers, signal) => {
      calls.push({ kind: 'start' });
      return next(handlers, signal);
    },
    resume: (request, handlers, signal) => {
      calls.push({ kind: 'resume', after: request.after });
      return next(handlers, signal);
    },
    cancel: async (streamId) => {
      cancels.push(streamId);
    },
  };
  return { transport, calls, cancels };
}

const start = (id = 1): StreamEvent => ({
  id,
  event: 'start',
  data: { streamId: 's1', threadId: 't1', protocol: 1 },
});
const token = (id: number, text: string): StreamEvent => ({ id, event: 'token', data: { token: text } });
const done = (id: number): StreamEvent => ({ id, event: 'done', data: { finishReason: 'stop', tokens: 0 } });

/** Emits events, then fails like a dropped connection. */
function emitThenDrop(events: StreamEvent[], options: { retry?: number; error?: StreamwellError } = {}): Script {
  return async (handlers) => {
    handlers.onStreamId('s1');
    handlers.onActivity();
    if (options.retry !== undefined) handlers.onRetry(options.retry);
    for (const event of events) handlers.onEvent(event);
    throw options.error ?? new StreamwellError('network', 'socket hang up', { retryable: true });
  };
}

/** Emits events, then ends normally. */
function emitThenEnd(events: StreamEvent[]): Script {
  return async (handlers) => {
    handlers.onActivity();
    for (const event of events) handlers.onEvent(event);
    return 'ended';
  };
}

/** Emits events, then stays open until aborted (a silent connection). */
function emitThenHang(events: StreamEvent[], heartbeats: { every: number } | undefined = undefined): Script {
  return (handlers, signal) =>
    new Promise((_resolve, reject) => {
      handlers.onStreamId('s1');
      handlers.onActivity();
      for (const event of events) handlers.onEvent(event);
      const timer = heartbeats === undefined ? undefined : setInterval(() => handlers.onActivity(), heartbeats.every);
      signal.addEventListener('abort', () => {
        if (timer !== undefined) clearInterval(timer);
        reject(signal.reason);
      });
    });
}

function client(transport: StreamTransport, extra: Partial<StreamClientOptions> = {}) {
  return createStreamClient({
    transport,
    backoff: { initialDelayMs: 1000, maxDelayMs: 30_000, random: () => 0.5 },
    ...extra,
  });
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('reconnect timing', () => {
  it('waits the jittered backoff before resuming, with the last id, never starting again', async () => {
    const { transport, calls } = scripted([
      emitThenDrop([start(1), token(2, 'a')]),
      emitThenDrop([token(3, 'b')]),
      emitThenEnd([token(4, 'c'), done(5)]),
    ]);
    const session = client(transport).start('hi');
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual([{ kind: 'start' }]);
    // attempt 1: random 0.5 × 1000
    await vi.advanceTimersByTimeAsync(499);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls[1]).toEqual({ kind: 'resume', after: 2 });
    // Progress was made, so the attempt count starts over: 500 ms again.
    await vi.advanceTimersByTimeAsync(499);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls[2]).toEqual({ kind: 'resume', after: 3 });
    const result = await session.done;
    expect(result).toMatchObject({ status: 'done', text: 'abc', lastEventId: 5, finishReason: 'stop' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('grows the wait on failures in a row', async () => {
    const { transport, calls } = scripted([
      emitThenDrop([start(1)]),
      emitThenDrop([]),
      emitThenDrop([]),
      emitThenEnd([done(2)]),
    ]);
    const delays: number[] = [];
    const session = client(transport).start('hi', { onReconnect: (info) => delays.push(info.delayMs) });
    await vi.advanceTimersByTimeAsync(10_000);
    await session.done;
    expect(delays).toEqual([500, 1000, 2000]);
    expect(calls.map((call) => call.kind)).toEqual(['start', 'resume', 'resume', 'resume']);
  });

  it("uses the server's retry: value as the base step", async () => {
    const { transport } = scripted([emitThenDrop([start(1)], { retry: 5000 }), emitThenEnd([done(2)])]);
    const delays: number[] = [];
    const session = client(transport).start('hi', { onReconnect: (info) => delays.push(info.delayMs) });
    await vi.advanceTimersByTimeAsync(2499);
    expect(session.status).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1);
    await session.done;
    expect(delays).toEqual([2500]);
  });

  it('honours Retry-After from a refused resume', async () => {
    const refused = new StreamHttpError('GET /api/streams/s1 failed with status 503', {
      status: 503,
      retryable: true,
      retryAfterMs: 7000,
    });
    const { transport, calls } = scripted([
      emitThenDrop([start(1)]),
      emitThenDrop([], { error: refused }),
      emitThenEnd([done(2)]),
    ]);
    const session = client(transport).start('hi');
    await vi.advanceTimersByTimeAsync(500);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(6999);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(3);
    expect((await session.done).status).toBe('done');
  });

  it('gives up with retry_exhausted after maxAttempts failures in a row, keeping the text', async () => {
    const { transport, calls } = scripted([
      emitThenDrop([start(1), token(2, 'partial')]),
      emitThenDrop([]),
      emitThenDrop([]),
    ]);
    const session = client(transport, { maxAttempts: 2 }).start('hi');
    await vi.advanceTimersByTimeAsync(60_000);
    const result = await session.done;
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('retry_exhausted');
    expect(result.text).toBe('partial');
    expect(calls).toHaveLength(3);
  });

  it('does not retry an error that is not retryable', async () => {
    const denied = new StreamHttpError('GET failed with status 401', { status: 401, retryable: false });
    const { transport, calls } = scripted([emitThenDrop([start(1)]), emitThenDrop([], { error: denied })]);
    const session = client(transport).start('hi');
    await vi.advanceTimersByTimeAsync(5000);
    const result = await session.done;
    expect(result.error).toBe(denied);
    expect(calls).toHaveLength(2);
  });
});

describe('stall detection', () => {
  it('replaces a connection that is silent for stallTimeoutMs', async () => {
    const { transport, calls } = scripted([
      emitThenHang([start(1), token(2, 'a')]),
      emitThenEnd([token(3, 'b'), done(4)]),
    ]);
    const errors: string[] = [];
    const session = client(transport, { stallTimeoutMs: 45_000 }).start('hi', {
      onReconnect: (info) => errors.push(info.error.code),
    });
    await vi.advanceTimersByTimeAsync(44_999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(errors).toEqual(['stalled']);
    await vi.advanceTimersByTimeAsync(500);
    expect(calls[1]).toEqual({ kind: 'resume', after: 2 });
    expect((await session.done).text).toBe('ab');
  });

  it('heartbeats (any bytes) keep a quiet connection alive', async () => {
    const { transport, calls } = scripted([emitThenHang([start(1)], { every: 15_000 })]);
    const session = client(transport, { stallTimeoutMs: 45_000 }).start('hi');
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(calls).toHaveLength(1);
    expect(session.status).toBe('streaming');
    session.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('events', () => {
  it('drops replayed events at or below the cursor, so text never duplicates', async () => {
    const { transport } = scripted([
      emitThenDrop([start(1), token(2, 'a'), token(3, 'b')]),
      emitThenEnd([start(1), token(2, 'a'), token(3, 'b'), token(4, 'c'), done(5)]),
    ]);
    const seen: number[] = [];
    const texts: string[] = [];
    const session = client(transport).start('hi', {
      onEvent: (event) => seen.push(event.id),
      onToken: (token, text) => texts.push(`${token}|${text}`),
    });
    await vi.advanceTimersByTimeAsync(1000);
    expect((await session.done).text).toBe('abc');
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    // onToken gets each new token once, with the whole text so far.
    expect(texts).toEqual(['a|a', 'b|ab', 'c|abc']);
  });

  it('a resume starts from the text it was given', async () => {
    const { transport, calls } = scripted([emitThenEnd([token(8, 'c'), done(9)])]);
    const texts: string[] = [];
    const session = client(transport).resume('s1', {
      after: 7,
      text: 'ab',
      onToken: (_token, text) => texts.push(text),
    });
    const result = await session.done;
    expect(calls).toEqual([{ kind: 'resume', after: 7 }]);
    expect(texts).toEqual(['abc']);
    expect(result.text).toBe('abc');
  });

  it('an error event ends the stream with its code and keeps the partial text', async () => {
    const { transport } = scripted([
      emitThenEnd([
        start(1),
        token(2, 'par'),
        { id: 3, event: 'error', data: { error: 'slow', code: 'idle_timeout' } },
      ]),
    ]);
    const result = await client(transport).start('hi').done;
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('idle_timeout');
    expect(result.text).toBe('par');
  });

  it('204 on resume means the stream is over', async () => {
    const { transport } = scripted([emitThenDrop([start(1), token(2, 'x')]), async () => 'finished']);
    const session = client(transport).start('hi');
    await vi.advanceTimersByTimeAsync(1000);
    expect((await session.done).status).toBe('done');
  });
});

describe('abort and cancel', () => {
  it('an abort during the backoff wait ends at once and leaves no timer', async () => {
    const { transport, calls } = scripted([emitThenDrop([start(1), token(2, 'a')])]);
    const controller = new AbortController();
    const session = client(transport).start('hi', { signal: controller.signal });
    await vi.advanceTimersByTimeAsync(100);
    expect(session.status).toBe('reconnecting');
    controller.abort();
    const result = await session.done;
    expect(result).toMatchObject({ status: 'stopped', text: 'a' });
    expect(result.error?.code).toBe('aborted');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('cancel() before the stream id is known cancels as soon as the server names the stream', async () => {
    let named: (() => void) | undefined;
    const { transport, cancels } = scripted([
      (handlers, signal) =>
        new Promise((_resolve, reject) => {
          named = () => handlers.onStreamId('late-id');
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
    ]);
    const session = client(transport).start('hi');
    await vi.advanceTimersByTimeAsync(0);
    const cancelled = session.cancel();
    expect(session.status).toBe('stopped');
    expect(cancels).toEqual([]);
    named?.();
    await cancelled;
    expect(cancels).toEqual(['late-id']);
  });

  it('cancel() with a known id tells the server and stops', async () => {
    const { transport, cancels } = scripted([emitThenHang([start(1), token(2, 'a')])]);
    const session = client(transport).start('hi');
    await vi.advanceTimersByTimeAsync(0);
    await session.cancel();
    expect(cancels).toEqual(['s1']);
    expect((await session.done).status).toBe('stopped');
    expect(vi.getTimerCount()).toBe(0);
  });
});
