/**
 * Every bad input of the brief against a running server: each answers its JSON error, and the
 * server stays healthy and a stream that was running meanwhile is undisturbed.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScriptedProvider, type ScriptedCall, type ScriptedProvider } from './helpers/scripted-provider.ts';
import { postMessage, readSse, textOf } from './helpers/sse-client.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

let server: TestServer;
let scripted: ScriptedProvider;
let bystander: { response: Response; call: ScriptedCall };

beforeAll(async () => {
  scripted = createScriptedProvider();
  server = await startTestServer({
    provider: scripted.provider,
    config: { maxBodyBytes: 4096, maxMessageChars: 100 },
  });
  // A stream that runs through every bad request below and must come out whole.
  const response = await postMessage(server.url, { message: 'bystander' });
  const call = await scripted.call(0);
  call.tokens('before ');
  bystander = { response, call };
});

afterAll(async () => {
  await server.close();
});

async function expectError(response: Response, status: number, code: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
}

/**
 * Sends raw bytes on a fresh TCP connection and returns whatever comes back before close. With
 * `halfClose` the client also ends its side after the bytes (a refused request is answered at
 * once); without it, it waits for the server to close (Node's HTTP server ends its side when the
 * client half-closes, so a reply that takes a moment would be cut).
 */
function rawExchange(port: number, bytes: string | Buffer, halfClose = true): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => resolve(received));
    socket.on('close', () => resolve(received));
    socket.on('connect', () => (halfClose ? socket.end(bytes) : socket.write(bytes)));
    setTimeout(() => reject(new Error(`no close; got ${JSON.stringify(received)}`)), 5000).unref();
  });
}

describe('bad requests to POST /api/stream/message', () => {
  it('malformed JSON is 400 invalid_json', async () => {
    await expectError(await postMessage(server.url, '{"message": "unterminated'), 400, 'invalid_json');
    await expectError(await postMessage(server.url, ''), 400, 'invalid_json');
  });

  it('a body that is not UTF-8 is 400 invalid_json', async () => {
    const response = await fetch(`${server.url}/api/stream/message`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: Buffer.from([0x7b, 0x22, 0x6d, 0xff, 0xfe, 0x22, 0x7d]),
    });
    await expectError(response, 400, 'invalid_json');
  });

  it('a JSON body that is not {"message": string} is 400', async () => {
    await expectError(await postMessage(server.url, '[1,2]'), 400, 'bad_request');
    await expectError(await postMessage(server.url, { message: 42 }), 400, 'bad_request');
    await expectError(await postMessage(server.url, { message: 'hi', threadId: 7 }), 400, 'bad_request');
    await expectError(await postMessage(server.url, { text: 'hi' }), 400, 'empty_message');
  });

  it('an empty or whitespace-only message is 400 empty_message', async () => {
    await expectError(await postMessage(server.url, { message: '' }), 400, 'empty_message');
    await expectError(await postMessage(server.url, { message: ' \n\t ' }), 400, 'empty_message');
  });

  it('an over-long message is 413 message_too_long', async () => {
    await expectError(await postMessage(server.url, { message: 'x'.repeat(101) }), 413, 'message_too_long');
  });

  it('an oversize body is 413 body_too_large, declared or streamed', async () => {
    await expectError(await postMessage(server.url, { message: 'x', pad: 'y'.repeat(5000) }), 413, 'body_too_large');
    // Chunked, so no Content-Length to refuse up front: the limit stops the read.
    const chunked = await fetch(`${server.url}/api/stream/message`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(`{"message":"${'z'.repeat(5000)}"}`));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    await expectError(chunked, 413, 'body_too_large');
  });

  it('a content type other than JSON or text/plain is 415 unsupported_media_type', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
      const response = await fetch(`${server.url}/api/stream/message`, {
        method: 'POST',
        headers: { 'Content-Type': type },
        body: 'message=hi',
      });
      await expectError(response, 415, 'unsupported_media_type');
    }
  });

  it("JSON sent as text/plain (the guide's browser code) is accepted", async () => {
    const response = await fetch(`${server.url}/api/stream/message`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
      body: JSON.stringify({ message: 'plain' }),
    });
    expect(response.status).toBe(200);
    const call = await scripted.call(1);
    call.end();
    await readSse(response);
  });

  it('a JSON body without any Content-Type (a server-side caller) is accepted', async () => {
    const body = JSON.stringify({ message: 'untyped' });
    const answer = rawExchange(
      server.port,
      `POST /api/stream/message HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      false,
    );
    const call = await scripted.call(2);
    expect(call.request.messages.at(-1)?.content).toBe('untyped');
    call.end();
    const reply = await answer;
    expect(reply).toMatch(/^HTTP\/1\.1 200[\s\S]*event: done/);
    // The client asked to close: the server says so and closes after the reply (RFC 9112 §9.6).
    expect(reply).toMatch(/\r\nConnection: close\r\n/i);
  });

  it('a bad Idempotency-Key is 400', async () => {
    await expectError(
      await postMessage(server.url, { message: 'hi' }, { 'Idempotency-Key': 'x'.repeat(300) }),
      400,
      'bad_request',
    );
  });

  it('wrong methods are 405 with Allow; unknown routes are JSON 404', async () => {
    const wrong = await fetch(`${server.url}/api/stream/message`);
    expect(wrong.headers.get('allow')).toContain('POST');
    await expectError(wrong, 405, 'method_not_allowed');
    await expectError(await fetch(`${server.url}/api/streams/abc`, { method: 'DELETE' }), 405, 'method_not_allowed');
    await expectError(await fetch(`${server.url}/nope`), 404, 'not_found');
    await expectError(await fetch(`${server.url}/api/streams/abc/other`, { method: 'POST' }), 404, 'not_found');
    await expectError(await fetch(`${server.url}/`, { method: 'POST' }), 405, 'method_not_allowed');
    await expectError(await fetch(`${server.url}/metrics`, { method: 'DELETE' }), 405, 'method_not_allowed');
  });
});

describe('garbage on the socket', () => {
  it('answers bytes that are not HTTP with a JSON 400 and closes only that connection', async () => {
    const answer = await rawExchange(
      server.port,
      Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]),
    );
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect(answer).toContain('"code":"bad_request"');
    const junk = await rawExchange(server.port, 'GARBAGE GARBAGE GARBAGE\r\n\r\n');
    expect(junk).toMatch(/^HTTP\/1\.1 400/);
    const badHeader = await rawExchange(
      server.port,
      'POST /api/stream/message HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n',
    );
    expect(badHeader).toMatch(/^HTTP\/1\.1 400/);
    // A half request followed by a hang-up.
    await rawExchange(
      server.port,
      'POST /api/stream/message HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{"mess',
    );
  });

  it('answers a WebSocket upgrade to a target URL parsing refuses (`//`) with a JSON 404', async () => {
    const answer = await rawExchange(
      server.port,
      'GET // HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 404/);
    expect(answer).toContain('"code":"not_found"');
  });
});

describe('inputs the hostile-input fuzz suite found answered outside the JSON error shape', () => {
  const handshake = (headers: string): Promise<string> =>
    rawExchange(
      server.port,
      `GET /ws/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${headers}\r\n`,
    );

  it('a WebSocket handshake ws would refuse (key, version, subprotocol list, method) is a JSON error, not text/html', async () => {
    const noKey = await handshake('Sec-WebSocket-Version: 13\r\n');
    expect(noKey).toMatch(/^HTTP\/1\.1 400/);
    expect(noKey).toMatch(/Content-Type: application\/json/i);
    expect(noKey).toContain('"code":"bad_request"');
    const badVersion = await handshake('Sec-WebSocket-Version: 12\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n');
    expect(badVersion).toMatch(/^HTTP\/1\.1 400/);
    expect(badVersion).toMatch(/Sec-WebSocket-Version: 13, 8/i);
    expect(badVersion).toContain('"code":"bad_request"');
    const badProtocols = await handshake(
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: a,,b\r\n',
    );
    expect(badProtocols).toMatch(/^HTTP\/1\.1 400/);
    expect(badProtocols).toContain('"code":"bad_request"');
    const post = await rawExchange(
      server.port,
      'POST /ws/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 0\r\n\r\n',
    );
    expect(post).toMatch(/^HTTP\/1\.1 405/);
    expect(post).toContain('"code":"method_not_allowed"');
  });

  it('a path whose percent-encoding does not decode is a JSON 400 in the usual shape', async () => {
    const response = await fetch(`${server.url}/api/threads/%C3%28`);
    await expectError(response, 400, 'bad_request');
  });
});

describe('after all that', () => {
  it('the server is healthy and the bystander stream is whole', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    bystander.call.tokens('after');
    bystander.call.end();
    const read = await readSse(bystander.response);
    expect(textOf(read.events)).toBe('before after');
    expect(read.events.at(-1)?.event).toBe('done');
    const ids = read.events.map((event) => event.id);
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, index) => index + 1));
  });
});
