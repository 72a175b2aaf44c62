/**
 * Clients that never read: several raw sockets follow one run that pours megabytes at them and
 * never read a byte. The server must drop each one at its per-response cap (1 MiB by default,
 * `maxBufferedBytes`) instead of buffering the run for it, the run itself must complete, another
 * stream on the same server must stream undisturbed, and every dropped client must be able to
 * resume from the last event it received and get the rest, with no token lost or repeated.
 *
 * A real `node:http` server over loopback with the library's handler (the reference server's
 * run registry caps one run at 8 MiB, less than the kernel's socket buffers can hide here).
 */
import { appendFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import {
  createRunRegistry,
  createStreamHandler,
  handleNodeRequest,
  type LocalRunRegistry,
  type SseCloseReason,
} from 'streamwell/server';
import { afterEach, expect, it } from 'vitest';
import { until } from '../helpers/until.ts';
import { createScriptedProvider } from '../server/helpers/scripted-provider.ts';
import { postMessage, readSse, readSseText, resumeStream, textOf } from '../server/helpers/sse-client.ts';
import { scale } from './helpers/soak-mode.ts';

/** Never-reading clients on the run. */
const READERS = scale(4, 40);
/** Tokens of 1 KiB: 16 MiB in all, more than loopback socket buffers absorb per connection. */
const TOKENS = scale(16_000, 48_000);
const CAP = 1024 * 1024;
const TIMEOUT = scale(60_000, 1_800_000);

let registry: LocalRunRegistry | undefined;
let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  registry?.close();
  registry = undefined;
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  }
});

function token(index: number): string {
  return `${index};`.padEnd(1024, 'x');
}

/** The events of a raw HTTP/1.1 chunked event-stream answer, up to the last complete chunk. */
function eventsOfRaw(raw: Buffer) {
  const text = raw.toString('latin1');
  let offset = text.indexOf('\r\n\r\n') + 4;
  const body: Buffer[] = [];
  while (offset < text.length) {
    const lineEnd = text.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const size = Number.parseInt(text.slice(offset, lineEnd), 16);
    if (!Number.isFinite(size) || size === 0 || lineEnd + 2 + size > raw.length) break;
    body.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return readSseText(Buffer.concat(body).toString('utf8'));
}

it('drops each never-reading client at 1 MiB with memory bounded; the run, another stream and the resumes are unaffected', {
  timeout: TIMEOUT,
}, async () => {
  const scripted = createScriptedProvider();
  registry = createRunRegistry({
    provider: scripted.provider,
    maxRunBytes: 256 * 1024 * 1024,
    maxTotalBytes: 512 * 1024 * 1024,
    checkpointEvery: 0,
    // The resumes at the end must find the run: in full mode they outlast the default 5 minutes.
    retentionMs: TIMEOUT,
  });
  const reasons: SseCloseReason[] = [];
  const streams = createStreamHandler({ registry, onStreamClose: (_run, reason) => reasons.push(reason) });
  const serverSockets = new Set<Socket>();
  server = createServer((request, response) => void handleNodeRequest(streams, request, response));
  // Node's 5 s keep-alive would race the test's reuse of a pooled connection on a loaded machine
  // (the request meets the server's close: ECONNRESET); the test closes every connection itself.
  server.keepAliveTimeout = 600_000;
  server.on('connection', (socket: Socket) => {
    serverSockets.add(socket);
    socket.once('close', () => serverSockets.delete(socket));
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  // The run, started by a client that never reads.
  const received: Buffer[][] = [];
  const closed: Promise<unknown>[] = [];
  function neverReader(request: string): void {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    socket.pause();
    socket.on('error', () => {});
    const chunks: Buffer[] = [];
    received.push(chunks);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    closed.push(new Promise((resolve) => socket.on('close', resolve)));
    socket.write(request);
  }
  const body = JSON.stringify({ message: 'flood' });
  neverReader(
    `POST /api/stream/message HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
  const flood = await scripted.call(0);
  const streamId = flood.request.streamId;
  for (let index = 1; index < READERS; index += 1) {
    neverReader(`GET /api/streams/${streamId} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  }
  await until(() => streams.openStreams === READERS, 'every never-reader attached');

  // Another stream on the same server, read normally.
  const other = await postMessage(url, { message: 'small' });
  const small = await scripted.call(1);

  let maxBuffered = 0;
  const sampler = setInterval(() => {
    for (const socket of serverSockets) maxBuffered = Math.max(maxBuffered, socket.writableLength);
  }, 1);
  for (let index = 0; index < TOKENS; index += 1) {
    flood.tokens(token(index));
    // Let the run write between batches, as a real upstream's reads would.
    if (index % 256 === 255) {
      small.tokens(` s${index}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  small.end();
  flood.end();
  const summary = await registry.get(streamId, undefined)?.finished;
  clearInterval(sampler);
  expect(summary?.status).toBe('complete');
  const smallRead = await readSse(other);
  expect(smallRead.events.at(-1)?.event).toBe('done');
  expect(textOf(smallRead.events)).toBe(
    Array.from({ length: Math.floor(TOKENS / 256) }, (_, batch) => ` s${batch * 256 + 255}`).join(''),
  );
  await until(
    () => reasons.filter((reason) => reason === 'slow_consumer').length === READERS,
    'every never-reader was dropped',
  );
  // Memory per never-reader stayed at the cap plus one write (a 1 KiB token's frame), never the run.
  // Figures for docs/reliability.md, when asked for.
  if (process.env.STREAMWELL_FIGURES !== undefined) {
    appendFileSync(process.env.STREAMWELL_FIGURES, `never-read: max server-side buffer ${maxBuffered} bytes\n`);
  }
  expect(maxBuffered).toBeGreaterThan(0);
  expect(maxBuffered).toBeLessThanOrEqual(CAP + 64 * 1024);

  // Each dropped client reads what reached it, then resumes from its last complete event.
  const fullText = Array.from({ length: TOKENS }, (_, index) => token(index)).join('');
  for (const socket of sockets) socket.resume();
  await Promise.all(closed);
  for (const chunks of received) {
    const events = eventsOfRaw(Buffer.concat(chunks));
    const lastId = events.at(-1)?.id ?? 0;
    expect(events.at(-1)?.event).not.toBe('done');
    const resumed = await resumeStream(url, streamId, { 'Last-Event-ID': String(lastId) });
    expect(resumed.status).toBe(200);
    const rest = await readSse(resumed);
    const all = [...events, ...rest.events];
    const ids = all.map((event) => event.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(all.at(-1)?.event).toBe('done');
    expect(textOf(all)).toBe(fullText);
  }
});
