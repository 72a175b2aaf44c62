/**
 * The stream client over real loopback HTTP against a server built from the library's own run
 * registry, with connections cut at seeded random points (also mid-frame).
 */
import { createStreamClient, type StreamClientOptions, type StreamEvent } from 'streamwell/client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createTestStreamServer,
  type StreamMisbehaviour,
  type TestStreamServer,
} from './helpers/create-test-stream-server.ts';
import { createRandom } from './helpers/random.ts';

const REPLY = Array.from({ length: 120 }, (_, index) => `word${index} «é» 日本 😀`).join(' ');

let server: TestStreamServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function fastClient(target: TestStreamServer, extra: Partial<StreamClientOptions> = {}) {
  return createStreamClient({
    url: `${target.url}/api/stream/message`,
    backoff: { initialDelayMs: 1, maxDelayMs: 5 },
    maxAttempts: 20,
    ...extra,
  });
}

function posts(target: TestStreamServer): number {
  return target.requests.filter((request) => request.method === 'POST' && request.path === '/api/stream/message')
    .length;
}

describe('stream client over loopback HTTP', () => {
  it('streams a reply: events in order, text exact, one POST, then done', async () => {
    server = await createTestStreamServer({ reply: REPLY });
    const session = fastClient(server).start('hi');
    const events: StreamEvent[] = [];
    for await (const event of session) events.push(event);
    const result = await session.done;
    expect(result.status).toBe('done');
    expect(result.finishReason).toBe('stop');
    expect(result.text).toBe(REPLY);
    expect(events[0]?.event).toBe('start');
    expect(events.at(-1)?.event).toBe('done');
    expect(session.streamId).toBe(server.lastRun()?.id);
    expect(session.threadId).toBe(server.lastRun()?.threadId);
    expect(posts(server)).toBe(1);
    const body = JSON.parse(server.requests[0]?.body ?? '{}') as { message?: string };
    expect(body.message).toBe('hi');
    expect(server.requests[0]?.idempotencyKey).toMatch(/\S{16,}/);
  });

  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`random cuts (seed ${seed}, also mid-frame): exact text, no duplicates, never a second POST`, async () => {
      const random = createRandom(seed);
      // Every one of the first 8 stream responses is cut somewhere in its first ~1500 bytes.
      const misbehave = (index: number): StreamMisbehaviour | undefined =>
        index < 8 ? { cutAtByte: Math.floor(random() * 1500) } : undefined;
      server = await createTestStreamServer({ reply: REPLY, misbehave });
      const tokenIds: number[] = [];
      const reconnects: Array<number | undefined> = [];
      const session = fastClient(server).start('tell me', {
        onEvent: (event) => {
          if (event.event === 'token') tokenIds.push(event.id);
        },
        onReconnect: (info) => reconnects.push(info.lastEventId),
      });
      const result = await session.done;
      expect(result.status).toBe('done');
      expect(result.text).toBe(REPLY);
      expect(new Set(tokenIds).size).toBe(tokenIds.length);
      expect(tokenIds).toEqual([...tokenIds].sort((a, b) => a - b));
      expect(posts(server)).toBe(1);
      expect(server.modelCalls()).toBe(1);
      const resumes = server.requests.filter((request) => request.method === 'GET');
      expect(resumes.length).toBe(8);
      expect(reconnects.length).toBe(8);
      // Every resume sent the cursor the client had at that moment (none before the first event).
      expect(resumes.map((request) => request.lastEventId)).toEqual(
        reconnects.map((id) => (id === undefined ? undefined : String(id))),
      );
      expect(session.metrics.reconnects).toBe(8);
      expect(session.resumedFrom).toBe(reconnects.at(-1));
    });
  }

  it('a start cut before its response headers is retried with the same Idempotency-Key: one model call', async () => {
    server = await createTestStreamServer({
      reply: REPLY,
      misbehave: (index) => (index === 0 ? { cutBeforeHeaders: true } : undefined),
    });
    const result = await fastClient(server).start('once').done;
    expect(result.text).toBe(REPLY);
    const starts = server.requests.filter((request) => request.method === 'POST');
    expect(starts).toHaveLength(2);
    expect(starts[0]?.idempotencyKey).toMatch(/^[0-9a-f-]{32,36}$/i);
    expect(starts[1]?.idempotencyKey).toBe(starts[0]?.idempotencyKey);
    expect(server.modelCalls()).toBe(1);
  });

  it('without an Idempotency-Key a failed start is not repeated', async () => {
    server = await createTestStreamServer({ misbehave: () => ({ cutBeforeHeaders: true }) });
    const result = await fastClient(server, { idempotency: false }).start('once').done;
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('network');
    expect(posts(server)).toBe(1);
  });

  it('a resume answered 404 (stream gone) ends with not_found and keeps the partial text', async () => {
    server = await createTestStreamServer({
      reply: REPLY,
      misbehave: (index) => (index === 0 ? { cutAtByte: 900 } : { status: 404 }),
    });
    const result = await fastClient(server).start('hi').done;
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('not_found');
    expect(result.text.length).toBeGreaterThan(0);
    expect(REPLY.startsWith(result.text)).toBe(true);
  });

  it('gives up with retry_exhausted after maxAttempts failed reconnects, honouring Retry-After', async () => {
    server = await createTestStreamServer({
      reply: REPLY,
      misbehave: (index) => (index === 0 ? { cutAtByte: 600 } : { status: 503, retryAfter: '0' }),
    });
    const delays: number[] = [];
    const result = await fastClient(server, {
      maxAttempts: 3,
      // A backoff would wait 1, 2, 4 ms here; Retry-After: 0 must replace it.
      backoff: { initialDelayMs: 10_000, maxDelayMs: 100_000, random: () => 0.0001 },
    }).start('hi', { onReconnect: (info) => delays.push(info.delayMs) }).done;
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('retry_exhausted');
    expect(result.text.length).toBeGreaterThan(0);
    // The first wait follows the drop (backoff: 1 ms); then the server's Retry-After: 0 wins.
    expect(delays).toEqual([1, 0, 0]);
    expect(server.requests.filter((request) => request.method === 'GET')).toHaveLength(3);
  });

  it('detects a stall (no bytes, no heartbeat) and resumes', async () => {
    server = await createTestStreamServer({
      reply: REPLY,
      misbehave: (index) => (index === 0 ? { hangAtByte: 700 } : undefined),
    });
    const errors: string[] = [];
    const result = await fastClient(server, { stallTimeoutMs: 300 }).start('hi', {
      onReconnect: (info) => errors.push(info.error.code),
    }).done;
    expect(result.text).toBe(REPLY);
    expect(errors).toEqual(['stalled']);
  });

  it('heartbeats keep a slow stream from counting as stalled', async () => {
    server = await createTestStreamServer({ reply: 'a b c d', tokenIntervalMs: 150, heartbeatMs: 40 });
    const reconnects: string[] = [];
    const result = await fastClient(server, { stallTimeoutMs: 100 }).start('hi', {
      onReconnect: (info) => reconnects.push(info.error.code),
    }).done;
    expect(result.text).toBe('a b c d');
    expect(reconnects).toEqual([]);
  });

  it('cancel() POSTs the cancel endpoint: the run stops on the server, partial text stays', async () => {
    server = await createTestStreamServer({ reply: REPLY, tokenIntervalMs: 5 });
    const target = server;
    let tokens = 0;
    const session = fastClient(server).start('hi', {
      onToken: () => {
        tokens += 1;
        if (tokens === 5) void session.cancel();
      },
    });
    const result = await session.done;
    await session.cancel();
    expect(result.status).toBe('stopped');
    expect(result.text.length).toBeGreaterThan(0);
    const cancel = target.requests.find((request) => request.path.endsWith('/cancel'));
    expect(cancel?.path).toBe(`/api/streams/${session.streamId}/cancel`);
    expect(target.lastRun()?.status).toBe('cancelled');
  });

  it('resume() follows an existing stream from a cursor, with the earlier text given', async () => {
    server = await createTestStreamServer({ reply: REPLY });
    const first = await fastClient(server).start('hi').done;
    const streamId = first.streamId as string;
    // Replay from the start reproduces the text; from the terminal id the server answers 204.
    const replay = await fastClient(server).resume(streamId).done;
    expect(replay.text).toBe(REPLY);
    const atEnd = await fastClient(server).resume(streamId, { after: first.lastEventId as number, text: first.text })
      .done;
    expect(atEnd.status).toBe('done');
    expect(atEnd.text).toBe(REPLY);
  });

  it('breaking out of the iterator aborts the connection', async () => {
    server = await createTestStreamServer({ reply: REPLY, tokenIntervalMs: 5 });
    const session = fastClient(server).start('hi');
    for await (const event of session) {
      if (event.event === 'token') break;
    }
    const result = await session.done;
    expect(result.status).toBe('stopped');
    expect(result.error?.code).toBe('aborted');
  });
});
