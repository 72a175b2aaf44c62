/**
 * The framework-free store over real loopback HTTP: batching (one publish per flush however many
 * tokens), immutable snapshots, stop = server-side cancel, persistence until the terminal event,
 * resume of a persisted stream.
 */
import { createStreamStore, type StreamSnapshot, type StreamStorage } from 'streamwell/client';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/until.ts';
import { createTestStreamServer, type TestStreamServer } from './helpers/create-test-stream-server.ts';

const REPLY = Array.from({ length: 200 }, (_, index) => `w${index}`).join(' ');

let server: TestStreamServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function memoryStorage(): StreamStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => {
      map.set(key, value);
    },
    removeItem: (key) => {
      map.delete(key);
    },
  };
}

/** A flush scheduler the test drives by hand. */
function manualFrames() {
  const pending = new Set<() => void>();
  return {
    pending,
    schedule: (callback: () => void) => {
      pending.add(callback);
      return () => pending.delete(callback);
    },
    run() {
      const callbacks = [...pending];
      pending.clear();
      for (const callback of callbacks) callback();
    },
  };
}

describe('createStreamStore', () => {
  it('publishes once per flush however many tokens arrived, with immutable snapshots', async () => {
    server = await createTestStreamServer({ reply: REPLY, tokenIntervalMs: 0 });
    const target = server;
    const frames = manualFrames();
    const arrived: string[] = [];
    const store = createStreamStore({
      url: `${server.url}/api/stream/message`,
      scheduleFlush: frames.schedule,
      onEvent: (event) => arrived.push(event.event),
    });
    const published: StreamSnapshot[] = [];
    store.subscribe(() => published.push(store.getSnapshot()));
    store.start('go');
    expect(published).toHaveLength(1);
    expect(published[0]?.status).toBe('connecting');
    // The client's own view: its terminal event arrived (the server finishing says nothing about it).
    await until(() => arrived.includes('done'), 'the client received the done event');
    expect(target.lastRun()?.status).toBe('complete');
    // Everything arrived while no frame ran: one pending flush, no publish yet.
    expect(published).toHaveLength(1);
    expect(frames.pending.size).toBe(1);
    frames.run();
    expect(published).toHaveLength(2);
    const last = published[1] as StreamSnapshot;
    expect(last).toMatchObject({ response: REPLY, status: 'done', isStreaming: false });
    expect(Object.isFrozen(last)).toBe(true);
    expect(store.getSnapshot()).toBe(last);
    expect(published[0]).toMatchObject({ response: '', status: 'connecting' });
  });

  it('persists the active stream until the terminal event; stop cancels the run on the server', async () => {
    server = await createTestStreamServer({ reply: REPLY, tokenIntervalMs: 5 });
    const target = server;
    const storage = memoryStorage();
    const frames = manualFrames();
    let tokensArrived = 0;
    const store = createStreamStore({
      url: `${server.url}/api/stream/message`,
      persist: { key: 'k', storage },
      scheduleFlush: frames.schedule,
      onEvent: (event) => {
        if (event.event === 'token') tokensArrived += 1;
      },
    });
    store.start('go');
    await until(() => tokensArrived >= 5, 'five tokens reached the client');
    frames.run();
    const saved = JSON.parse(storage.map.get('k') ?? '{}') as { streamId?: string; lastEventId?: number };
    expect(saved.streamId).toBe(target.lastRun()?.id);
    expect(saved.lastEventId).toBeGreaterThanOrEqual(1);
    store.stop();
    expect(store.getSnapshot().status).toBe('stopped');
    expect(storage.map.has('k')).toBe(false);
    await until(() => target.requests.some((request) => request.path.endsWith('/cancel')), 'the cancel request');
    expect(target.lastRun()?.status).toBe('cancelled');
    store.dispose();
  });

  it('resumes a persisted stream (a reload) by replaying it from the start', async () => {
    server = await createTestStreamServer({ reply: REPLY, tokenIntervalMs: 2 });
    const target = server;
    const storage = memoryStorage();
    const first = createStreamStore({ url: `${server.url}/api/stream/message`, persist: { key: 'k', storage } });
    first.start('go');
    await until(
      () => storage.map.has('k') && (target.lastRun()?.tokens ?? 0) >= 10,
      'a persisted stream ten tokens in',
    );
    first.dispose(); // the page goes away; the run continues on the server
    const frames = manualFrames();
    const second = createStreamStore({
      url: `${server.url}/api/stream/message`,
      persist: { key: 'k', storage },
      scheduleFlush: frames.schedule,
    });
    const saved = second.persisted();
    expect(saved?.streamId).toBe(target.lastRun()?.id);
    second.resume();
    await until(() => {
      frames.run();
      return second.getSnapshot().status === 'done';
    }, 'the resumed stream finished');
    expect(second.getSnapshot()).toMatchObject({ response: REPLY, resumedFrom: saved?.lastEventId });
    expect(storage.map.has('k')).toBe(false);
    expect(target.requests.filter((request) => request.method === 'POST')).toHaveLength(1);
  });
});
