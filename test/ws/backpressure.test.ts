/**
 * Backpressure on `GET /ws/stream`: a reader that stops reading must not grow server memory.
 * The server-side socket's `bufferedAmount` is sampled while a fast run pours 32 MiB at it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRunRegistry, type LocalRunRegistry, type Provider, serveWebSocket } from 'streamwell/server';
import { afterEach, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { openClient, type TestClient } from './ws-harness.ts';

const BIG_TOKENS = 2000;
const TOKEN = 'x'.repeat(16 * 1024);
const SMALL = Array.from({ length: 40 }, (_, index) => ` s${index}`);
const CAP = 256 * 1024;

/** `big` pours 2000 tokens of 16 KiB as fast as the event loop allows; anything else is small. */
const provider: Provider = {
  name: 'flood',
  model: 'flood',
  async *stream(request) {
    const big = request.messages[request.messages.length - 1]?.content === 'big';
    const tokens = big ? Array.from({ length: BIG_TOKENS }, () => TOKEN) : SMALL;
    for (let index = 0; index < tokens.length; index += 1) {
      if (index % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
      yield { type: 'text', text: tokens[index] as string };
    }
    yield { type: 'finish', finishReason: 'stop' };
  },
};

let server: Server | undefined;
let registry: LocalRunRegistry | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  registry?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

it('drops the subscriber of a reader that never reads, keeps buffered bytes bounded, and lets it resume', async () => {
  registry = createRunRegistry({ provider, maxRunBytes: 64 * 1024 * 1024, maxTotalBytes: 128 * 1024 * 1024 });
  const serverSockets: WebSocket[] = [];
  const drops: Array<{ streamId: string; bufferedAmount: number }> = [];
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server = createServer();
  server.on('upgrade', (request, socket, head) => {
    wss.handleUpgrade(request, socket, head, (ws) => {
      serverSockets.push(ws);
      serveWebSocket(ws, {
        registry: registry as LocalRunRegistry,
        maxBufferedBytes: CAP,
        heartbeatMs: 0,
        onSlowConsumer: (streamId, bufferedAmount) => drops.push({ streamId, bufferedAmount }),
      });
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws/stream`;

  const slow = await openClient(url);
  const fast = await openClient(url);
  clients.push(slow, fast);
  slow.socket.pause(); // stops reading from the TCP socket: the kernel buffers fill, then ours would
  slow.send({ type: 'start', message: 'big' });
  fast.send({ type: 'start', message: 'small' });

  let maxBuffered = 0;
  const sampler = setInterval(() => {
    for (const socket of serverSockets) maxBuffered = Math.max(maxBuffered, socket.bufferedAmount);
  }, 1);
  const bigRun = await new Promise<string>((resolve) => {
    const poll = setInterval(() => {
      const id = drops[0]?.streamId;
      if (id !== undefined) {
        clearInterval(poll);
        resolve(id);
      }
    }, 5);
  });
  const run = registry.get(bigRun, undefined);
  await run?.finished;
  clearInterval(sampler);
  for (const socket of serverSockets) maxBuffered = Math.max(maxBuffered, socket.bufferedAmount);

  // Dropped once, at the cap; afterwards the run kept producing but nothing more was queued.
  expect(drops).toHaveLength(1);
  expect(run?.tokens).toBe(BIG_TOKENS);
  const frameBytes = TOKEN.length + 100;
  expect(drops[0]?.bufferedAmount).toBeLessThanOrEqual(CAP + frameBytes);
  expect(maxBuffered).toBeLessThanOrEqual(CAP + 2 * frameBytes);
  expect(maxBuffered).toBeLessThan(run?.retainedBytes as number); // far below what a buffering server would hold

  // The other socket was unaffected.
  const fastStart = await fast.waitFor((frame) => frame.event === 'start');
  await fast.terminal(fastStart.streamId as string);
  expect(fast.text(fastStart.streamId as string)).toBe(SMALL.join(''));

  // The slow reader wakes up: a contiguous prefix, the informative frame, then it resumes.
  slow.socket.resume();
  const dropped = await slow.waitFor((frame) => frame.type === 'error');
  expect(dropped).toMatchObject({ streamId: bigRun, error: { code: 'slow_consumer' } });
  const prefix = slow.events(bigRun).map((frame) => frame.id);
  expect(prefix).toEqual(Array.from({ length: prefix.length }, (_, index) => index + 1));
  expect(dropped.lastEventId).toBe(prefix.length);
  // Resume until the end, as the client transport does on `slow_consumer`: a replay of a large
  // backlog may be dropped again, but every resume makes progress and nothing is duplicated.
  let cursor = dropped.lastEventId as number;
  let resumes = 0;
  for (;;) {
    const before = slow.frames.length;
    slow.send({ type: 'resume', streamId: bigRun, after: cursor });
    resumes += 1;
    const next = await slow.waitFor(
      (frame) =>
        slow.frames.indexOf(frame) >= before &&
        frame.streamId === bigRun &&
        (frame.type === 'error' || frame.event === 'done'),
    );
    if (next.event === 'done') break;
    expect(next.error?.code).toBe('slow_consumer');
    expect(next.lastEventId).toBeGreaterThan(cursor);
    cursor = next.lastEventId as number;
  }
  const all = slow.events(bigRun).map((frame) => frame.id);
  expect(all).toEqual(Array.from({ length: all.length }, (_, index) => index + 1));
  expect(slow.events(bigRun).at(-1)?.data).toMatchObject({ finishReason: 'stop', tokens: BIG_TOKENS });
  expect(slow.text(bigRun).length).toBe(BIG_TOKENS * TOKEN.length);
  expect(resumes).toBeGreaterThanOrEqual(1);
  wss.close();
}, 60_000);
