/**
 * The adapters on their own: backpressure (a client that stops reading is dropped, the run and
 * other clients are unaffected, and the client can resume), the Web adapter's stream and headers,
 * and request bodies that a framework already parsed.
 */
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import {
  createRunRegistry,
  createStreamHandler,
  handleNodeRequest,
  handleWebRequest,
  type LocalRunRegistry,
  type Provider,
  type SseCloseReason,
} from 'streamwell/server';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/until.ts';
import { createScriptedProvider } from './helpers/scripted-provider.ts';
import { readSse, readSseText, textOf } from './helpers/sse-client.ts';

let registry: LocalRunRegistry | undefined;
let server: Server | undefined;
afterEach(async () => {
  registry?.close();
  registry = undefined;
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  }
});

const BIG_TOKEN = 'x'.repeat(1000);

describe('Node adapter backpressure', () => {
  it('drops a client that stops reading once its buffer passes the cap; the run completes and can be resumed', async () => {
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider, maxRunBytes: 64 * 1024 * 1024, checkpointEvery: 0 });
    const reasons: SseCloseReason[] = [];
    const streams = createStreamHandler({
      registry,
      maxBufferedBytes: 64 * 1024,
      onStreamClose: (_run, reason) => reasons.push(reason),
    });
    server = createServer((request, response) => void handleNodeRequest(streams, request, response));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;

    // A client that sends its request and never reads a byte.
    const stuck = connect(port, '127.0.0.1');
    const stuckClosed = new Promise((resolve) => stuck.on('close', resolve));
    stuck.on('error', () => {});
    stuck.pause();
    const body = JSON.stringify({ message: 'flood me' });
    stuck.write(
      `POST /api/stream/message HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    const call = await scripted.call(0);
    const streamId = call.request.streamId;
    // The connection attaches a turn after the run started (its headers follow the model request).
    await until(() => streams.openStreams === 1, 'the connection attached');
    // 20 MB of tokens: more than the kernel's socket buffers can hide.
    for (let index = 0; index < 20_000; index += 1) call.tokens(BIG_TOKEN);
    call.end();
    const run = registry.get(streamId, undefined);
    const summary = await run?.finished;
    expect(summary?.status).toBe('complete');
    expect(reasons).toContain('slow_consumer');
    // The server dropped that connection: once the client reads again it finds it closed.
    stuck.resume();
    await stuckClosed;
    expect(streams.openStreams).toBe(0);
    // The run is intact: a reader that does read gets all of it.
    const resumed = await fetch(`http://127.0.0.1:${port}/api/streams/${streamId}`);
    const text = textOf((await readSse(resumed)).events);
    expect(text.length).toBe(20_000 * BIG_TOKEN.length);
  });
});

/** Sends a raw request and collects every byte until the server closes or `until` matches. */
function rawExchange(port: number, request: string, until: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (until(text)) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.write(request);
  });
}

/** Decodes an HTTP/1.1 chunked body strictly: every size line must match its data exactly. */
function decodeChunked(body: string): { data: string; chunks: number; terminated: boolean } {
  let position = 0;
  let data = '';
  let chunks = 0;
  while (position < body.length) {
    const lineEnd = body.indexOf('\r\n', position);
    if (lineEnd === -1) throw new Error(`unterminated chunk-size line at ${position}`);
    const sizeText = body.slice(position, lineEnd);
    if (!/^[0-9a-f]+$/.test(sizeText)) throw new Error(`bad chunk-size "${sizeText}"`);
    const size = Number.parseInt(sizeText, 16);
    if (size === 0) return { data, chunks, terminated: body.slice(lineEnd) === '\r\n\r\n' };
    // Sizes count bytes: the body was read as latin1, one character per byte.
    const chunk = body.slice(lineEnd + 2, lineEnd + 2 + size);
    if (body.slice(lineEnd + 2 + size, lineEnd + 4 + size) !== '\r\n') throw new Error('chunk not followed by CRLF');
    data += chunk;
    chunks += 1;
    position = lineEnd + 4 + size;
  }
  return { data, chunks, terminated: false };
}

describe('Node adapter framing on the wire', () => {
  async function serve(tokens: readonly string[]): Promise<number> {
    const scripted = createScriptedProvider({ autoReply: tokens });
    registry = createRunRegistry({ provider: scripted.provider, checkpointEvery: 0 });
    const streams = createStreamHandler({ registry });
    server = createServer((request, response) => void handleNodeRequest(streams, request, response));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }
  const body = JSON.stringify({ message: 'frame it' });
  // Multi-byte UTF-8 tokens: a chunk size counted in UTF-16 units instead of bytes would break.
  const tokens = ['Grüße', ' 🌍', ' naïve', ' ok'];

  it('frames every event as an exact HTTP/1.1 chunk and ends with the last chunk', async () => {
    const port = await serve(tokens);
    const raw = await rawExchange(
      port,
      `POST /api/stream/message HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      (text) => text.endsWith('\r\n0\r\n\r\n'),
    );
    const split = raw.indexOf('\r\n\r\n');
    const head = raw.slice(0, split);
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    expect(head.toLowerCase()).toContain('transfer-encoding: chunked');
    const decoded = decodeChunked(raw.slice(split + 4));
    expect(decoded.terminated).toBe(true);
    const events = readSseText(Buffer.from(decoded.data, 'latin1').toString('utf8'));
    expect(events.map((event) => event.event)).toEqual(['start', 'token', 'token', 'token', 'token', 'done']);
    expect(textOf(events)).toBe(tokens.join(''));
  });

  it('streams an HTTP/1.0 request without chunked framing and closes at the end', async () => {
    const port = await serve(tokens);
    const raw = await rawExchange(
      port,
      `POST /api/stream/message HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      () => false,
    );
    const split = raw.indexOf('\r\n\r\n');
    expect(raw.slice(0, split).toLowerCase()).not.toContain('transfer-encoding');
    const events = readSseText(Buffer.from(raw.slice(split + 4), 'latin1').toString('utf8'));
    expect(events.at(-1)?.event).toBe('done');
    expect(textOf(events)).toBe(tokens.join(''));
  });
});

describe('Web adapter', () => {
  it('streams through a real Response body, without hop-by-hop headers', async () => {
    const scripted = createScriptedProvider({ autoReply: ['a', 'b'] });
    registry = createRunRegistry({ provider: scripted.provider });
    const streams = createStreamHandler({ registry });
    const response = await handleWebRequest(
      streams,
      new Request('http://localhost/api/stream/message', { method: 'POST', body: '{"message":"hi"}' }),
    );
    expect(response?.status).toBe(200);
    expect(response?.headers.get('connection')).toBeNull();
    expect(response?.headers.get('cache-control')).toBe('no-cache, no-transform');
    const read = await readSse(response as Response);
    expect(textOf(read.events)).toBe('ab');
    expect(await handleWebRequest(streams, new Request('http://localhost/other'))).toBeUndefined();
  });

  it('drops a Response body nobody reads once the queue passes the cap; the run goes on', async () => {
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider, checkpointEvery: 0 });
    const reasons: SseCloseReason[] = [];
    const streams = createStreamHandler({
      registry,
      maxBufferedBytes: 16 * 1024,
      onStreamClose: (_run, reason) => reasons.push(reason),
    });
    const response = (await handleWebRequest(
      streams,
      new Request('http://localhost/api/stream/message', { method: 'POST', body: '{"message":"hi"}' }),
      { highWaterMark: 16 * 1024 },
    )) as Response;
    const call = await scripted.call(0);
    for (let index = 0; index < 100; index += 1) call.tokens(BIG_TOKEN);
    call.end();
    const summary = await registry.get(call.request.streamId, undefined)?.finished;
    expect(summary?.status).toBe('complete');
    expect(reasons).toEqual(['slow_consumer']);
    await expect(response.text()).rejects.toThrow();
  });

  it('detaches when the client cancels the body, and the grace period keeps the run resumable', async () => {
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider });
    const reasons: SseCloseReason[] = [];
    const streams = createStreamHandler({ registry, onStreamClose: (_run, reason) => reasons.push(reason) });
    const response = (await handleWebRequest(
      streams,
      new Request('http://localhost/api/stream/message', { method: 'POST', body: '{"message":"hi"}' }),
    )) as Response;
    await response.body?.cancel();
    expect(reasons).toEqual(['client_closed']);
    const call = await scripted.call(0);
    expect(registry.get(call.request.streamId, undefined)?.status).toBe('running');
    call.tokens('still here');
    call.end();
    const resumed = (await handleWebRequest(
      streams,
      new Request(`http://localhost/api/streams/${call.request.streamId}`),
    )) as Response;
    expect(textOf((await readSse(resumed)).events)).toBe('still here');
  });
});

describe('Node adapter with a body parser in front', () => {
  it('uses the body a framework already parsed', async () => {
    const scripted = createScriptedProvider({ autoReply: ['parsed'] });
    registry = createRunRegistry({ provider: scripted.provider });
    const streams = createStreamHandler({ registry });
    server = createServer((request, response) => {
      // What express.json() leaves behind: the stream consumed, the object on request.body.
      let text = '';
      request.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      request.on('end', () => {
        (request as typeof request & { body: unknown }).body = JSON.parse(text);
        void handleNodeRequest(streams, request, response);
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const response = await fetch(`http://127.0.0.1:${port}/api/stream/message`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ message: 'hi' }),
    });
    expect(textOf((await readSse(response)).events)).toBe('parsed');
  });
});

describe('Node adapter: the model request goes out before the client headers', () => {
  /**
   * A provider that, like undici, queues its request write with `setImmediate` when the run
   * calls it, and records when that write ran; the server records when the reply's headers are
   * committed. Both in one process, so the order is exact. The model's first token waits for
   * `firstToken`, which the test releases (never a timer: the run must not end on its own).
   */
  function gate(): { promise: Promise<void>; open(): void } {
    let open = (): void => {};
    const promise = new Promise<void>((resolve) => {
      open = resolve;
    });
    return { promise, open };
  }

  async function serve(
    order: string[],
    options: { firstToken: Promise<void>; destroyWhenHandled?: boolean },
  ): Promise<number> {
    const provider: Provider = {
      name: 'ordered',
      model: 'ordered',
      async *stream() {
        setImmediate(() => order.push('upstream request written'));
        await options.firstToken;
        yield { type: 'text', text: 'hi' };
        yield { type: 'finish', finishReason: 'stop' };
      },
    };
    registry = createRunRegistry({ provider, checkpointEvery: 0 });
    const streams = createStreamHandler({ registry });
    server = createServer((request, response) => {
      const writeHead = response.writeHead.bind(response) as (...args: unknown[]) => typeof response;
      response.writeHead = ((...args: unknown[]) => {
        order.push(`${request.method} headers committed`);
        return writeHead(...args);
      }) as typeof response.writeHead;
      void handleNodeRequest(streams, request, response).then(() => {
        // The client is gone after the core answered but before the adapter's deferred write.
        if (options.destroyWhenHandled === true) response.destroy();
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  it('commits a started run’s headers after the provider’s queued request write; a resume’s at once', async () => {
    const order: string[] = [];
    const firstToken = gate();
    const port = await serve(order, { firstToken: firstToken.promise });
    // The headers arrive before the model's first token.
    const started = await fetch(`http://127.0.0.1:${port}/api/stream/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'order' }),
    });
    firstToken.open();
    const streamId = started.headers.get('x-stream-id') ?? '';
    expect(textOf((await readSse(started)).events)).toBe('hi');
    expect(order).toEqual(['upstream request written', 'POST headers committed']);

    // A resume starts no model request: nothing to wait for, its headers go out in the same turn.
    order.length = 0;
    const resumed = await fetch(`http://127.0.0.1:${port}/api/streams/${streamId}?after=0`);
    expect(textOf((await readSse(resumed)).events)).toBe('hi');
    expect(order).toEqual(['GET headers committed']);
  });

  it('writes nothing when the response was destroyed before its turn came; the run goes on for a resume', async () => {
    const order: string[] = [];
    const firstToken = gate();
    const port = await serve(order, { firstToken: firstToken.promise, destroyWhenHandled: true });
    const started = fetch(`http://127.0.0.1:${port}/api/stream/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'leave' }),
    });
    await expect(started).rejects.toThrow();
    await until(() => order.includes('upstream request written'), 'the upstream request was written');
    expect(order).not.toContain('POST headers committed');
    // The run was started and waits for a resume within its grace period.
    expect(registry?.activeCount).toBe(1);
    firstToken.open();
  });
});

describe('Node adapter: the last event and the end of the response', () => {
  /** Records what each socket-level write (`_write` / `_writev`: one syscall each) carried. */
  async function serveRecording(writes: string[][]) {
    const scripted = createScriptedProvider();
    registry = createRunRegistry({ provider: scripted.provider, checkpointEvery: 0 });
    const streams = createStreamHandler({ registry });
    server = createServer((request, response) => {
      const socket = response.socket as unknown as {
        _write(chunk: unknown, encoding: string, callback: () => void): void;
        _writev(chunks: { chunk: unknown }[], callback: () => void): void;
      };
      const record: string[] = [];
      writes.push(record);
      const write = socket._write.bind(socket);
      const writev = socket._writev.bind(socket);
      socket._write = (chunk, encoding, callback) => {
        record.push(String(chunk));
        write(chunk, encoding, callback);
      };
      socket._writev = (chunks, callback) => {
        record.push(chunks.map((entry) => String(entry.chunk)).join(''));
        writev(chunks, callback);
      };
      void handleNodeRequest(streams, request, response);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as AddressInfo).port, scripted, streams };
  }

  it('leave in one socket write, live and when a finished run is replayed', async () => {
    const writes: string[][] = [];
    const { port, scripted, streams } = await serveRecording(writes);
    const body = JSON.stringify({ message: 'end it' });
    const exchange = rawExchange(
      port,
      `POST /api/stream/message HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      (text) => text.endsWith('\r\n0\r\n\r\n'),
    );
    const call = await scripted.call(0);
    // Live: the client is attached before the reply streams and ends.
    await until(() => streams.openStreams === 1, 'the connection attached');
    call.tokens('one', ' two');
    call.end();
    const live = await exchange;
    const streamId = /x-stream-id: (\S+)/i.exec(live)?.[1] ?? '';
    const liveLast = writes[0]?.at(-1) ?? '';
    expect(liveLast).toContain('event: done');
    expect(liveLast.endsWith('\r\n0\r\n\r\n')).toBe(true);

    const replay = await rawExchange(port, `GET /api/streams/${streamId} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, (text) =>
      text.endsWith('\r\n0\r\n\r\n'),
    );
    expect(replay).toContain('one');
    const replayLast = writes[1]?.at(-1) ?? '';
    expect(replayLast).toContain('event: done');
    expect(replayLast).toContain(' two');
    expect(replayLast.endsWith('\r\n0\r\n\r\n')).toBe(true);
  });
});
