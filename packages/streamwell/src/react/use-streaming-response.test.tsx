/**
 * The hook's glue in jsdom: abort on unmount, stop = server-side cancel, render batching per
 * animation frame, no leaks, reload-resume through sessionStorage. The network is a scripted
 * `fetch` that answers real `Response` objects with a stream the test feeds; the client over
 * real HTTP is covered in test/client.
 */
import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeSseEvent } from '../protocol/index.ts';
import { DEFAULT_PERSIST_KEY, useStreamingResponse } from './use-streaming-response.ts';

interface SeenRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
  readonly signal: AbortSignal | undefined;
}

function createFakeServer(streamId = 's1') {
  const requests: SeenRequest[] = [];
  const encoder = new TextEncoder();
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  const fetch = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    requests.push({
      url,
      method: init.method ?? 'GET',
      headers: { ...(init.headers as Record<string, string>) },
      body: typeof init.body === 'string' ? init.body : undefined,
      signal: init.signal ?? undefined,
    });
    if (url.endsWith('/cancel')) {
      return new Response('{"status":"cancelled"}', { status: 200, headers: { 'content-type': 'application/json' } });
    }
    const body = new ReadableStream<Uint8Array>({
      start(streamController) {
        controller = streamController;
      },
    });
    init.signal?.addEventListener('abort', () => {
      try {
        controller?.error(new DOMException('The operation was aborted.', 'AbortError'));
      } catch {
        // already closed
      }
    });
    return new Response(body, {
      status: 200,
      headers: { 'content-type': 'text/event-stream', 'x-stream-id': streamId },
    });
  });
  return {
    fetch: fetch as unknown as typeof globalThis.fetch,
    requests,
    send(frames: string) {
      controller?.enqueue(encoder.encode(frames));
    },
    end() {
      controller?.close();
    },
  };
}

const startFrame = (streamId = 's1') =>
  encodeSseEvent(1, 'start', JSON.stringify({ streamId, threadId: 't1', protocol: 1, demo: true }));
const tokenFrame = (id: number, token: string) => encodeSseEvent(id, 'token', JSON.stringify({ token }));
const doneFrame = (id: number) => encodeSseEvent(id, 'done', JSON.stringify({ finishReason: 'stop', tokens: 1 }));

/** A manual requestAnimationFrame: frames run only when the test says so. */
function stubAnimationFrames() {
  const pending = new Map<number, FrameRequestCallback>();
  let next = 1;
  vi.stubGlobal('requestAnimationFrame', (callback: FrameRequestCallback) => {
    pending.set(next, callback);
    return next++;
  });
  vi.stubGlobal('cancelAnimationFrame', (handle: number) => {
    pending.delete(handle);
  });
  return {
    pending,
    runFrame() {
      const callbacks = [...pending.values()];
      pending.clear();
      for (const callback of callbacks) callback(performance.now());
    },
  };
}

/** Lets fetch promises and stream reads settle. */
async function settle(): Promise<void> {
  for (let index = 0; index < 20; index += 1) await Promise.resolve();
  await new Promise((resolve) => setTimeout(resolve, 0));
}

let frames: ReturnType<typeof stubAnimationFrames>;
beforeEach(() => {
  sessionStorage.clear();
  frames = stubAnimationFrames();
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe('useStreamingResponse', () => {
  it('streams a reply into state', async () => {
    const server = createFakeServer();
    const { result } = renderHook(() => useStreamingResponse({ fetch: server.fetch }));
    expect(result.current.status).toBe('idle');
    act(() => result.current.startStream('hello', { threadId: 't1' }));
    expect(result.current.isStreaming).toBe(true);
    await act(async () => {
      await settle();
      server.send(startFrame() + tokenFrame(2, 'Hi') + tokenFrame(3, ' there') + doneFrame(4));
      await settle();
      frames.runFrame();
    });
    expect(result.current).toMatchObject({
      response: 'Hi there',
      status: 'done',
      isStreaming: false,
      streamId: 's1',
      threadId: 't1',
      demo: true,
    });
    expect(result.current.metrics.tokens).toBe(2);
    expect(server.requests[0]).toMatchObject({ url: '/api/stream/message', method: 'POST' });
    expect(JSON.parse(server.requests[0]?.body ?? '')).toEqual({ message: 'hello', threadId: 't1' });
  });

  it('renders at most once per animation frame however many tokens arrive', async () => {
    const server = createFakeServer();
    let renders = 0;
    const { result } = renderHook(() => {
      renders += 1;
      return useStreamingResponse({ fetch: server.fetch });
    });
    act(() => result.current.startStream('go'));
    await act(async () => {
      await settle();
      server.send(startFrame());
      await settle();
      frames.runFrame();
    });
    const before = renders;
    await act(async () => {
      for (let id = 2; id < 1002; id += 1) server.send(tokenFrame(id, 'x'));
      await settle();
    });
    // 1000 tokens arrived, no frame ran: nothing rendered yet, one frame is pending.
    expect(renders).toBe(before);
    expect(frames.pending.size).toBe(1);
    await act(async () => {
      frames.runFrame();
    });
    expect(renders).toBe(before + 1);
    expect(result.current.response).toBe('x'.repeat(1000));
  });

  it('stopStream cancels the run on the server, not just the fetch', async () => {
    const server = createFakeServer();
    const { result } = renderHook(() => useStreamingResponse({ fetch: server.fetch }));
    act(() => result.current.startStream('go'));
    await act(async () => {
      await settle();
      server.send(startFrame() + tokenFrame(2, 'partial'));
      await settle();
    });
    await act(async () => {
      result.current.stopStream();
      await settle();
    });
    const cancel = server.requests.find((request) => request.url.endsWith('/cancel'));
    expect(cancel).toMatchObject({ url: '/api/streams/s1/cancel', method: 'POST' });
    expect(server.requests[0]?.signal?.aborted).toBe(true);
    expect(result.current.status).toBe('stopped');
    expect(result.current.response).toBe('partial');
    expect(sessionStorage.getItem(DEFAULT_PERSIST_KEY)).toBeNull();
  });

  it('aborts on unmount (without cancelling the run, so a reload can resume) and leaks nothing', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const server = createFakeServer();
      const { result, unmount } = renderHook(() => useStreamingResponse({ fetch: server.fetch }));
      act(() => result.current.startStream('go'));
      await act(async () => {
        for (let index = 0; index < 20; index += 1) await Promise.resolve();
        server.send(startFrame() + tokenFrame(2, 'a'));
        for (let index = 0; index < 20; index += 1) await Promise.resolve();
      });
      // jsdom queues its storage-event dispatch on 0 ms timers: let those run first.
      vi.advanceTimersByTime(0);
      expect(vi.getTimerCount()).toBe(1); // the stall watch
      expect(frames.pending.size).toBe(1);
      unmount();
      for (let index = 0; index < 20; index += 1) await Promise.resolve();
      expect(server.requests[0]?.signal?.aborted).toBe(true);
      expect(server.requests.some((request) => request.url.endsWith('/cancel'))).toBe(false);
      expect(vi.getTimerCount()).toBe(0);
      expect(frames.pending.size).toBe(0);
      expect(JSON.parse(sessionStorage.getItem(DEFAULT_PERSIST_KEY) ?? '{}')).toMatchObject({ streamId: 's1' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('starting a new stream aborts the previous one and cancels its run', async () => {
    const server = createFakeServer();
    const { result } = renderHook(() => useStreamingResponse({ fetch: server.fetch }));
    act(() => result.current.startStream('first'));
    await act(async () => {
      await settle();
      server.send(startFrame() + tokenFrame(2, 'one'));
      await settle();
    });
    act(() => result.current.startStream('second'));
    await act(async () => {
      await settle();
    });
    expect(server.requests[0]?.signal?.aborted).toBe(true);
    expect(server.requests.some((request) => request.url === '/api/streams/s1/cancel')).toBe(true);
    expect(result.current.response).toBe('');
    expect(result.current.isStreaming).toBe(true);
  });

  it('after a reload, resumes the unfinished stream saved in sessionStorage', async () => {
    sessionStorage.setItem(DEFAULT_PERSIST_KEY, JSON.stringify({ streamId: 's9', lastEventId: 3, threadId: 't9' }));
    const server = createFakeServer('s9');
    const { result } = renderHook(() => useStreamingResponse({ fetch: server.fetch }));
    await act(async () => {
      await settle();
    });
    // The page lost the text, so the whole run is replayed from its start (no cursor sent).
    expect(server.requests[0]).toMatchObject({ url: '/api/streams/s9', method: 'GET' });
    expect(server.requests[0]?.headers['Last-Event-ID']).toBeUndefined();
    await act(async () => {
      server.send(startFrame('s9') + tokenFrame(2, 'be') + tokenFrame(3, 'fore') + tokenFrame(4, ' after'));
      await settle();
      frames.runFrame();
    });
    expect(result.current).toMatchObject({
      response: 'before after',
      streamId: 's9',
      resumedFrom: 3,
      isStreaming: true,
    });
    await act(async () => {
      server.send(doneFrame(5));
      await settle();
      frames.runFrame();
    });
    expect(result.current.status).toBe('done');
    expect(sessionStorage.getItem(DEFAULT_PERSIST_KEY)).toBeNull();
  });

  it('persistKey: false keeps nothing in sessionStorage', async () => {
    const server = createFakeServer();
    const { result } = renderHook(() => useStreamingResponse({ fetch: server.fetch, persistKey: false }));
    act(() => result.current.startStream('go'));
    await act(async () => {
      await settle();
      server.send(startFrame() + tokenFrame(2, 'a'));
      await settle();
      frames.runFrame();
    });
    expect(sessionStorage.length).toBe(0);
  });

  it('uses the latest onEvent callback without recreating the stream', async () => {
    const server = createFakeServer();
    const seen: string[] = [];
    const { result, rerender } = renderHook(
      ({ tag }: { tag: string }) =>
        useStreamingResponse({ fetch: server.fetch, onEvent: (event) => seen.push(`${tag}:${event.event}`) }),
      { initialProps: { tag: 'first' } },
    );
    act(() => result.current.startStream('go'));
    await act(async () => {
      await settle();
      server.send(startFrame());
      await settle();
    });
    rerender({ tag: 'second' });
    await act(async () => {
      server.send(tokenFrame(2, 'a'));
      await settle();
    });
    expect(seen).toEqual(['first:start', 'second:token']);
  });
});
