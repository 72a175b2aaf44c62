/**
 * The WebSocket transport under the real stream session, against the real `GET /ws/stream` route
 * on loopback (the `ws` package stands in for the browser's WebSocket), plus frame handling
 * that a server only produces under load (a scripted socket).
 */
import { encodeBearerProtocol } from 'streamwell/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { until } from '../../../../test/helpers/until.ts';
import { countCalls, pacedProvider, startWsServer, WORDS, type WsServer } from '../../../../test/ws/ws-harness.ts';
import { createStreamClient } from './stream-client.ts';
import { createStreamStore } from './stream-store.ts';
import type { TransportHandlers } from './stream-transport.ts';
import {
  type ClientWebSocketLike,
  createWsTransport,
  toWebSocketUrl,
  type WebSocketConstructorLike,
} from './ws-transport.ts';

const REPLY = WORDS.join('');
let server: WsServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** `ws` as the constructor, recording each socket and what it sent. */
function recordingWebSocket(): { Constructor: WebSocketConstructorLike; sockets: WebSocket[]; sent: unknown[] } {
  const sockets: WebSocket[] = [];
  const sent: unknown[] = [];
  class Recording extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
    override send(data: unknown): void {
      sent.push(JSON.parse(String(data)));
      super.send(data as string);
    }
  }
  return { Constructor: Recording as unknown as WebSocketConstructorLike, sockets, sent };
}

function client(Constructor: WebSocketConstructorLike, extra: { apiKey?: string } = {}) {
  return createStreamClient({
    transport: createWsTransport({ url: (server as WsServer).url, WebSocket: Constructor, ...extra }),
    backoff: { initialDelayMs: 10, maxDelayMs: 50 },
  });
}

describe('over the real route', () => {
  it('streams a reply with typed events and the stream id', async () => {
    server = await startWsServer();
    const { Constructor, sent } = recordingWebSocket();
    const session = client(Constructor).start('hello');
    const result = await session.done;
    expect(result).toMatchObject({ status: 'done', text: REPLY, finishReason: 'stop' });
    expect(result.streamId).toMatch(/^[\w-]{24}$/);
    expect(sent[0]).toMatchObject({ type: 'start', message: 'hello', idempotencyKey: expect.any(String) });
    // Metrics are measured over the WebSocket too: every word counted, a first-token time taken.
    expect(session.metrics.tokens).toBe(WORDS.length);
    expect(session.metrics.timeToFirstTokenMs).toBeGreaterThan(0);
  });

  it('resumes from the last id on a new socket after a drop, never re-sending the prompt', async () => {
    const { provider, calls } = countCalls(pacedProvider(15));
    server = await startWsServer({ provider });
    const { Constructor, sockets, sent } = recordingWebSocket();
    const ids: number[] = [];
    let dropped = false;
    const session = client(Constructor).start('hello', {
      onEvent: (event) => {
        ids.push(event.id);
        if (event.id === 6 && !dropped) {
          dropped = true;
          sockets[0]?.terminate(); // the network goes away: close code 1006
        }
      },
    });
    const result = await session.done;
    expect(result).toMatchObject({ status: 'done', text: REPLY });
    expect(sockets.length).toBeGreaterThanOrEqual(2);
    expect(sent.filter((message) => (message as { type: string }).type === 'start')).toHaveLength(1);
    expect(sent[1]).toEqual({ type: 'resume', streamId: result.streamId, after: 6 });
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    expect(calls()).toBe(1);
  });

  it('cancels the run on the server and ends the session as stopped', async () => {
    let aborted = false;
    const paced = pacedProvider(40);
    server = await startWsServer({
      provider: {
        ...paced,
        stream: (request) => {
          request.signal.addEventListener('abort', () => {
            aborted = true;
          });
          return paced.stream(request);
        },
      },
    });
    const { Constructor, sent } = recordingWebSocket();
    const session = client(Constructor).start('hello', {
      onToken: () => {
        void session.cancel();
      },
    });
    const result = await session.done;
    await session.cancel();
    expect(result.status).toBe('stopped');
    expect(sent).toContainEqual({ type: 'cancel', streamId: result.streamId });
    expect(aborted).toBe(true);
    expect(server.registry.get(result.streamId as string, undefined)?.status).toBe('cancelled');
  });

  it('sends the API key as a subprotocol; a wrong key fails without retrying', async () => {
    server = await startWsServer({ apiKeys: ['key-1'] });
    const good = await client(WebSocket as unknown as WebSocketConstructorLike, { apiKey: 'key-1' }).start('hi').done;
    expect(good).toMatchObject({ status: 'done', text: REPLY });
    const { Constructor, sockets } = recordingWebSocket();
    const bad = await client(Constructor, { apiKey: 'nope' }).start('hi').done;
    expect(bad.status).toBe('error');
    expect(bad.error).toMatchObject({ status: 401, retryable: false });
    expect(sockets).toHaveLength(1);
  });

  it('abort closes the socket and detaches the server-side subscriber', async () => {
    // Slow enough that the run is still going when the subscriber detaches: a finished run drops
    // its subscribers anyway, which would hide a detach that never happened.
    server = await startWsServer({ provider: pacedProvider(60_000) });
    const { Constructor, sockets } = recordingWebSocket();
    let streamId = '';
    const session = client(Constructor).start('hi', {
      onStreamId: (id) => {
        streamId = id;
      },
      onToken: () => session.abort(),
    });
    await session.done;
    await new Promise<void>((resolve) => sockets[0]?.once('close', () => resolve()));
    const run = (server as WsServer).registry.get(streamId, undefined);
    // The server learns of the close on its own side of the socket, some time after the client.
    await until(() => run?.subscriberCount === 0, 'the server-side subscriber detached');
    expect(run?.status).toBe('running');
  });
});

/** A socket that plays a script of server frames, for the control frames a server sends under load. */
function scriptedSocket(frames: readonly unknown[]): { Constructor: WebSocketConstructorLike; opened: string[][] } {
  const opened: string[][] = [];
  class Scripted implements ClientWebSocketLike {
    readyState = 0;
    #listeners = new Map<string, Array<(event: never) => void>>();
    constructor(_url: string, protocols?: string | string[]) {
      opened.push([protocols ?? []].flat());
      // Like a browser, events are dispatched as tasks, never synchronously.
      setTimeout(() => {
        this.readyState = 1;
        this.#emit('open', {});
      }, 0);
    }
    addEventListener(type: string, listener: (event: never) => void): void {
      this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
    }
    send(): void {
      for (const frame of frames) setTimeout(() => this.#emit('message', { data: JSON.stringify(frame) }), 0);
    }
    close(code = 1000): void {
      if (this.readyState === 3) return;
      this.readyState = 3;
      setTimeout(() => this.#emit('close', { code, reason: '' }), 0);
    }
    #emit(type: string, event: unknown): void {
      for (const listener of this.#listeners.get(type) ?? []) listener(event as never);
    }
  }
  return { Constructor: Scripted, opened };
}

function recorder(): TransportHandlers & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    onStreamId: (id) => log.push(`id:${id}`),
    onActivity: () => log.push('activity'),
    onEvent: (event) => log.push(`event:${event.id}:${event.event}`),
    onRetry: () => {},
  };
}

describe('control frames', () => {
  const url = 'ws://127.0.0.1:1/ws/stream';

  it('ends the connection on slow_consumer so the session resumes from its last id', async () => {
    const { Constructor } = scriptedSocket([
      { streamId: 's', id: 4, event: 'token', data: { token: 'a' } },
      { type: 'heartbeat' },
      { type: 'error', streamId: 's', error: { code: 'slow_consumer', message: 'slow' }, lastEventId: 4 },
    ]);
    const handlers = recorder();
    const transport = createWsTransport({ url, WebSocket: Constructor });
    await expect(transport.resume({ streamId: 's', after: 3 }, handlers, new AbortController().signal)).resolves.toBe(
      'ended',
    );
    expect(handlers.log.filter((entry) => entry !== 'activity')).toEqual(['id:s', 'event:4:token']);
    expect(handlers.log.filter((entry) => entry === 'activity').length).toBeGreaterThanOrEqual(3);
  });

  it('reports "finished" when a resume is at the end, and maps refusals to HTTP-like errors', async () => {
    const handlers = recorder();
    const ended = createWsTransport({
      url,
      WebSocket: scriptedSocket([{ type: 'ended', streamId: 's', lastEventId: 9 }]).Constructor,
    });
    await expect(ended.resume({ streamId: 's', after: 9 }, handlers, new AbortController().signal)).resolves.toBe(
      'finished',
    );
    const refused = createWsTransport({
      url,
      WebSocket: scriptedSocket([{ type: 'error', error: { code: 'too_many_streams', message: 'busy' } }]).Constructor,
    });
    await expect(refused.start({ message: 'x' }, recorder(), new AbortController().signal)).rejects.toMatchObject({
      status: 429,
      serverCode: 'too_many_streams',
      retryable: true,
    });
  });

  it('an abort while the API key is fetched opens no socket (no unseen start)', async () => {
    const { Constructor, opened } = scriptedSocket([{ streamId: 's', id: 1, event: 'token', data: { token: 'a' } }]);
    const controller = new AbortController();
    let giveKey: (key: string) => void = () => {};
    const transport = createWsTransport({
      url,
      WebSocket: Constructor,
      apiKey: () => new Promise<string>((resolve) => (giveKey = resolve)),
    });
    const started = transport.start({ message: 'x' }, recorder(), controller.signal);
    controller.abort();
    giveKey('sk');
    await expect(started).rejects.toMatchObject({ code: 'aborted' });
    expect(opened).toEqual([]);
  });

  it('offers streamwell.v1 and the key exactly as the server decodes it', async () => {
    const { Constructor, opened } = scriptedSocket([{ type: 'ended', streamId: 's', lastEventId: 1 }]);
    await createWsTransport({ url, WebSocket: Constructor, apiKey: () => 'sk-ü/+=' }).resume(
      { streamId: 's', after: 1 },
      recorder(),
      new AbortController().signal,
    );
    expect(opened[0]).toEqual(['streamwell.v1', encodeBearerProtocol('sk-ü/+=')]);
  });
});

describe("the store's transport: 'ws' (what the hook and the page select)", () => {
  it('streams over the WebSocket with the global constructor', async () => {
    server = await startWsServer();
    const original = (globalThis as { WebSocket?: unknown }).WebSocket;
    (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket; // Node 20 has no global WebSocket
    const store = createStreamStore({
      transport: 'ws',
      wsUrl: server.url,
      scheduleFlush: (flush) => {
        const timer = setTimeout(flush, 0);
        return () => clearTimeout(timer);
      },
    });
    try {
      store.start('hello');
      await new Promise<void>((resolve) => {
        const unsubscribe = store.subscribe(() => {
          if (store.getSnapshot().status !== 'done') return;
          unsubscribe();
          resolve();
        });
      });
      expect(store.getSnapshot()).toMatchObject({ response: REPLY, status: 'done' });
    } finally {
      store.dispose();
      (globalThis as { WebSocket?: unknown }).WebSocket = original;
    }
  });
});

describe('toWebSocketUrl', () => {
  it('maps http(s) to ws(s) and refuses other schemes', () => {
    expect(toWebSocketUrl('https://chat.example/ws/stream')).toBe('wss://chat.example/ws/stream');
    expect(toWebSocketUrl('http://127.0.0.1:8000/ws/stream')).toBe('ws://127.0.0.1:8000/ws/stream');
    expect(() => toWebSocketUrl('ftp://x/y')).toThrow(/not a ws/);
    expect(() => toWebSocketUrl('/ws/stream')).toThrow(/absolute/); // no page in Node
  });
});
