/**
 * The session's timing logic under fake timers, on a structural socket (the real `ws` wiring is
 * covered by test/ws/*): heartbeat pings, dead-peer termination, heartbeat frames, and the
 * inbound size limit.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeBearerProtocol } from '../../protocol/index.ts';
import type { Provider } from '../provider.ts';
import { createRunRegistry, type LocalRunRegistry } from '../run-registry.ts';
import { createWebSocketSession, HEARTBEAT_FRAME } from './create-websocket-session.ts';
import { readWebSocketCredential, selectWebSocketProtocol } from './websocket-credentials.ts';
import type { WebSocketLike } from './websocket-like.ts';

/** A provider that stays silent until aborted: the stream is open and quiet. */
const silent: Provider = {
  name: 'silent',
  model: 'silent',
  stream: (request) => ({
    async *[Symbol.asyncIterator]() {
      await new Promise((_resolve, reject) =>
        request.signal.addEventListener('abort', () => reject(request.signal.reason)),
      );
    },
  }),
};

class RecordingSocket implements WebSocketLike {
  readyState = 1;
  bufferedAmount = 0;
  sent: string[] = [];
  pings = 0;
  terminated = false;
  closedWith: number | undefined;
  send(data: string): void {
    this.sent.push(data);
  }
  close(code?: number): void {
    this.closedWith = code;
    this.readyState = 3;
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
  }
  ping(): void {
    this.pings += 1;
  }
}

let registry: LocalRunRegistry;

beforeEach(() => {
  vi.useFakeTimers();
  registry = createRunRegistry({ provider: silent, streamTimeoutMs: 0 });
});

afterEach(() => {
  registry.close();
  vi.useRealTimers();
});

describe('heartbeat', () => {
  it('pings every interval and terminates a peer that missed a pong, detaching its streams', async () => {
    const socket = new RecordingSocket();
    const session = createWebSocketSession(socket, { registry, heartbeatMs: 1000 });
    session.handleMessage('{"type":"start","message":"hi"}');
    const streamId = (JSON.parse(socket.sent[0] as string) as { streamId: string }).streamId;
    const run = registry.get(streamId, undefined);
    expect(run?.subscriberCount).toBe(1);

    await vi.advanceTimersByTimeAsync(1000);
    expect(socket.pings).toBe(1);
    session.handlePong();
    await vi.advanceTimersByTimeAsync(1000);
    expect(socket.pings).toBe(2);
    expect(socket.terminated).toBe(false);

    await vi.advanceTimersByTimeAsync(1000); // no pong since the second ping
    expect(socket.terminated).toBe(true);
    expect(session.closed).toBe(true);
    expect(run?.subscriberCount).toBe(0);
    expect(run?.status).toBe('running'); // the registry's grace period decides
  });

  it('sends a heartbeat frame only when a socket with a stream was quiet for an interval', async () => {
    const socket = new RecordingSocket();
    const session = createWebSocketSession(socket, { registry, heartbeatMs: 1000 });
    await vi.advanceTimersByTimeAsync(1000);
    session.handlePong();
    expect(socket.sent).toEqual([]); // no stream: nothing to keep alive for a stall detector
    session.handleMessage('{"type":"start","message":"hi"}');
    await vi.advanceTimersByTimeAsync(1000); // the start event was sent in this interval
    session.handlePong();
    expect(socket.sent.filter((frame) => frame === HEARTBEAT_FRAME)).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(socket.sent.filter((frame) => frame === HEARTBEAT_FRAME)).toHaveLength(1);
  });
});

describe('limits', () => {
  it('closes with 1009 on a message larger than maxPayloadBytes', () => {
    const socket = new RecordingSocket();
    const session = createWebSocketSession(socket, { registry, maxPayloadBytes: 100, heartbeatMs: 0 });
    session.handleMessage(new TextEncoder().encode(`{"type":"start","message":"${'x'.repeat(200)}"}`));
    expect(socket.closedWith).toBe(1009);
    expect(session.closed).toBe(true);
  });
});

describe('credentials', () => {
  it('prefers the Authorization header, decodes the bearer subprotocol, never selects it', () => {
    const protocol = encodeBearerProtocol('sk-ü/+=');
    expect(readWebSocketCredential({ 'sec-websocket-protocol': `streamwell.v1, ${protocol}` })).toBe('sk-ü/+=');
    expect(readWebSocketCredential({ authorization: 'Bearer h', 'sec-websocket-protocol': protocol })).toBe('h');
    expect(readWebSocketCredential({ 'sec-websocket-protocol': 'streamwell.bearer.%%%' })).toBeUndefined();
    expect(selectWebSocketProtocol([protocol, 'streamwell.v1'])).toBe('streamwell.v1');
    expect(selectWebSocketProtocol([protocol])).toBe(false);
  });
});
