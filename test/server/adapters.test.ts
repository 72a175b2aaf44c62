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
  type RunRegistry,
  type SseCloseReason,
} from 'streamwell/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createScriptedProvider } from './helpers/scripted-provider.ts';
import { readSse, textOf } from './helpers/sse-client.ts';

let registry: RunRegistry | undefined;
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
