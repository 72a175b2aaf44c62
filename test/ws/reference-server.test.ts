/**
 * `GET /ws/stream` on the reference server (`createApp`): the same registry, auth and CORS policy
 * as the HTTP endpoints, so a stream started over SSE can be resumed over a WebSocket.
 */
import { encodeBearerProtocol, WEBSOCKET_PROTOCOL } from 'streamwell/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../server/helpers/test-server.ts';
import { openClient, pacedProvider, type TestClient, WORDS } from './ws-harness.ts';

const REPLY = WORDS.join('');
let server: TestServer | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  await server?.close();
  server = undefined;
});

async function connect(protocols: string[] = [], options = {}): Promise<TestClient> {
  const client = await openClient(`ws://127.0.0.1:${server?.port}/ws/stream`, protocols, options);
  clients.push(client);
  return client;
}

/** Reads an SSE response until `count` token events arrived, then drops it; returns the last id. */
async function readSomeTokens(response: Response, count: number): Promise<{ lastId: number; text: string }> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let text = '';
  let tokens = 0;
  let lastId = 0;
  while (tokens < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const id = /^id: (\d+)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (id !== undefined && tokens < count) {
        lastId = Number(id);
        if (/^event: token$/m.test(block)) {
          tokens += 1;
          text += (JSON.parse(data as string) as { token: string }).token;
        }
      }
      end = tokens < count ? buffer.indexOf('\n\n') : -1;
    }
  }
  await reader.cancel();
  return { lastId, text };
}

describe('on createApp', () => {
  it('resumes over a WebSocket a stream that was started over SSE', async () => {
    server = await startTestServer({ provider: pacedProvider(15) });
    const response = await fetch(`${server.url}/api/stream/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'hello' }),
    });
    const streamId = response.headers.get('x-stream-id') as string;
    const { lastId, text } = await readSomeTokens(response, 5);

    const socket = await connect();
    socket.send({ type: 'resume', streamId, after: lastId });
    await socket.terminal(streamId);
    expect(socket.events(streamId)[0]?.id).toBe(lastId + 1);
    expect(text + socket.text(streamId)).toBe(REPLY);
  });

  it('uses the API_KEYS principals: the key as subprotocol; another key cannot see the stream', async () => {
    server = await startTestServer({
      provider: pacedProvider(5),
      config: {
        apiKeys: [
          { id: 'alice', key: 'sk-alice' },
          { id: 'bob', key: 'sk-bob' },
        ],
      },
    });
    await expect(connect()).rejects.toMatchObject({ status: 401 });
    const alice = await connect([WEBSOCKET_PROTOCOL, encodeBearerProtocol('sk-alice')]);
    expect(alice.socket.protocol).toBe(WEBSOCKET_PROTOCOL);
    alice.send({ type: 'start', message: 'hi' });
    const start = await alice.waitFor((frame) => frame.event === 'start');
    const streamId = start.streamId as string;
    await alice.terminal(streamId);

    // Same principal over HTTP: the stream is there.
    const replay = await fetch(`${server.url}/api/streams/${streamId}`, {
      headers: { authorization: 'Bearer sk-alice' },
    });
    expect(replay.status).toBe(200);
    await replay.body?.cancel();

    const bob = await connect([], { headers: { authorization: 'Bearer sk-bob' } });
    bob.send({ type: 'resume', streamId });
    expect(await bob.waitFor((frame) => frame.type === 'error')).toMatchObject({ error: { code: 'not_found' } });
  });

  it('applies CORS_ORIGINS to the upgrade', async () => {
    server = await startTestServer({ config: { corsOrigins: ['https://app.example'] } });
    await expect(connect([], { origin: 'https://evil.example' })).rejects.toMatchObject({
      status: 403,
      body: expect.stringContaining('origin_not_allowed'),
    });
    await connect([], { origin: 'https://app.example' });
  });

  it('on shutdown, ends running streams with their terminal event, then closes sockets with 1001', async () => {
    server = await startTestServer({ provider: pacedProvider(100) });
    const socket = await connect();
    socket.send({ type: 'start', message: 'hi' });
    const start = await socket.waitFor((frame) => frame.event === 'start');
    await socket.waitFor((frame) => frame.event === 'token');
    const stopping = server.app.shutdown(50);
    expect((await socket.closed).code).toBe(1001);
    const terminal = socket.events(start.streamId as string).at(-1);
    expect(terminal).toMatchObject({ event: 'error', data: { code: 'server_shutdown' } });
    await stopping;
  });
});
