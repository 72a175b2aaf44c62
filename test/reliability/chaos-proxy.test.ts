/**
 * The chaos proxy itself: over real loopback sockets, each connection is cut at the drawn
 * server→client byte, with a FIN (the client sees an orderly end after exactly those bytes) or
 * an RST (the client sees ECONNRESET, and at most those bytes), as drawn from the seed; the same seed draws the same cuts; a
 * connection shorter than its offset passes whole.
 */
import { createServer, type Server, connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type ChaosProxy, createPrng, deriveSeed, startChaosProxy } from './helpers/chaos-proxy.ts';

const PAYLOAD = Buffer.from(Array.from({ length: 4000 }, (_, index) => index % 251));
let target: Server | undefined;
let proxy: ChaosProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await new Promise<void>((resolve) => (target === undefined ? resolve() : target.close(() => resolve())));
  proxy = undefined;
  target = undefined;
});

/** A server that writes `PAYLOAD` in small pieces to each connection, then ends it. */
async function startTarget(): Promise<number> {
  target = createServer((socket) => {
    socket.on('error', () => {});
    let offset = 0;
    const next = (): void => {
      if (offset >= PAYLOAD.length) {
        socket.end();
        return;
      }
      socket.write(PAYLOAD.subarray(offset, offset + 97), () => setImmediate(next));
      offset += 97;
    };
    next();
  });
  await new Promise<void>((resolve) => target?.listen(0, '127.0.0.1', resolve));
  return (target.address() as { port: number }).port;
}

/** Reads one connection to its end: the bytes and how it ended. */
function readAll(port: number): Promise<{ bytes: Buffer; ending: 'end' | 'reset' }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = tcpConnect(port, '127.0.0.1');
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve({ bytes: Buffer.concat(chunks), ending: 'end' }));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET') resolve({ bytes: Buffer.concat(chunks), ending: 'reset' });
    });
  });
}

/** What the proxy draws for connection `index`. */
function drawn(seed: number, index: number, maxOffset: number): { offset: number; kind: 'fin' | 'rst' } {
  const random = createPrng(deriveSeed(seed, index));
  const offset = Math.floor(random() * (maxOffset + 1));
  return { offset, kind: random() < 0.5 ? 'fin' : 'rst' };
}

describe('chaos proxy', () => {
  it('cuts each connection after exactly the drawn bytes, with the drawn FIN or RST', async () => {
    const seed = 12345;
    proxy = await startChaosProxy({ targetPort: await startTarget(), seed, maxOffset: 5000 });
    const seen = { fin: 0, rst: 0, whole: 0 };
    let resets = 0;
    for (let index = 0; index < 40; index += 1) {
      const { bytes, ending } = await readAll(proxy.port);
      const { offset, kind } = drawn(seed, index, 5000);
      if (offset >= PAYLOAD.length) {
        expect({ ending, bytes: bytes.length }).toEqual({ ending: 'end', bytes: PAYLOAD.length });
        seen.whole += 1;
        continue;
      }
      if (kind === 'fin') {
        expect({ index, ending, bytes: bytes.length }).toEqual({ index, ending: 'end', bytes: offset });
      } else {
        // An RST drops what still waits in the receiver's buffer (the kernel discards it), as a
        // real reset does: the client gets at most the bytes before the offset. Now and then
        // Linux reports the reset to the reader as an end of stream (about 1 in 40 here).
        expect(bytes.length).toBeLessThanOrEqual(offset);
        if (ending === 'reset') resets += 1;
      }
      expect(bytes.equals(PAYLOAD.subarray(0, bytes.length))).toBe(true);
      seen[kind] += 1;
    }
    expect(proxy.cuts).toEqual({ fin: seen.fin, rst: seen.rst });
    // The draws cover all three outcomes (a proxy that never cut would fail here).
    expect(seen.fin).toBeGreaterThan(0);
    expect(seen.rst).toBeGreaterThan(0);
    expect(resets).toBeGreaterThanOrEqual(seen.rst - 2);
    expect(seen.whole).toBeGreaterThan(0);
  });

  it('passes connections whole while disabled', async () => {
    proxy = await startChaosProxy({ targetPort: await startTarget(), seed: 7, maxOffset: 10 });
    proxy.enabled = false;
    const { bytes, ending } = await readAll(proxy.port);
    expect(ending).toBe('end');
    expect(bytes.equals(PAYLOAD)).toBe(true);
    expect(proxy.cuts).toEqual({ fin: 0, rst: 0 });
  });
});
