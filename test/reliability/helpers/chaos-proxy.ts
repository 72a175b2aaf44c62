/**
 * A TCP proxy that cuts client connections at random byte offsets of the server→client
 * direction: what a flaky mobile network, a load balancer restarting or a NAT forgetting a
 * connection does to a stream in flight. Each accepted connection draws an offset; when the
 * server has sent that many bytes on it, the proxy forwards exactly those bytes and then closes
 * the client side, half the time with a FIN (`end()`, an orderly close in the middle of a body)
 * and half the time with an RST (`resetAndDestroy()`), and drops its connection to the server.
 * As with a real reset, an RST also discards what still waits unread in the client's receive
 * buffer, so the client may get fewer bytes than the offset.
 * A connection that carries fewer bytes than its offset passes untouched.
 *
 * The draws come from a seeded PRNG, per connection number: a failing run prints its seed, and
 * `CHAOS_SEED=<seed>` replays the same offsets and close kinds for the same connection order
 * (clients in a lane connect one at a time, so that order is the lane's own).
 *
 * @module
 */
import { createServer, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A small seeded PRNG (mulberry32): uniform in [0, 1), the same sequence for the same seed.
 *
 * @param seed - any 32-bit integer
 * @returns the next-number function
 */
export function createPrng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * The seed of this test process: `CHAOS_SEED` when set (a replay), else a fresh random one.
 *
 * @returns a 32-bit unsigned seed
 */
export function chaosSeed(): number {
  const fromEnv = process.env.CHAOS_SEED;
  if (fromEnv !== undefined && fromEnv !== '') return Number(fromEnv) >>> 0;
  return Math.floor(Math.random() * 4_294_967_296) >>> 0;
}

/** Derives the seed of one lane (or one connection) from a base seed, so lanes do not share draws. */
export function deriveSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
}

/** How a connection was cut. */
export type CutKind = 'fin' | 'rst';

/** Options of {@link startChaosProxy}. */
export interface ChaosProxyOptions {
  /** The server's port on 127.0.0.1. */
  readonly targetPort: number;
  /** Seed of the draws. */
  readonly seed: number;
  /**
   * Offsets are drawn uniformly from 0 to this many server→client bytes (a connection that
   * carries fewer passes untouched). About the size of one whole reply gives a few cuts per run.
   */
  readonly maxOffset: number;
  /** Called on every cut (for tallies per run). */
  readonly onCut?: (kind: CutKind, offset: number) => void;
}

/** A running chaos proxy. */
export interface ChaosProxy {
  /** The loopback port clients connect to. */
  readonly port: number;
  /** Connections accepted. */
  readonly accepted: number;
  /** Cuts so far, by kind. */
  readonly cuts: { readonly fin: number; readonly rst: number };
  /** While false, connections pass untouched (setup and checks go through unharmed). */
  enabled: boolean;
  /** Resets every connection and stops listening. */
  close(): Promise<void>;
}

/**
 * Starts a chaos proxy on 127.0.0.1 (port 0) in front of `targetPort`.
 *
 * @param options - target, seed, offset range
 * @returns the listening proxy
 */
export async function startChaosProxy(options: ChaosProxyOptions): Promise<ChaosProxy> {
  const sockets = new Set<Socket>();
  const cuts = { fin: 0, rst: 0 };
  let accepted = 0;
  let closing = false;
  const proxy: { enabled: boolean } = { enabled: true };

  const server = createServer((client) => {
    client.on('error', () => {});
    if (closing) {
      client.resetAndDestroy();
      return;
    }
    const index = accepted;
    accepted += 1;
    // One PRNG per connection number: the draws of connection n never depend on how many bytes
    // the connections before it carried.
    const random = createPrng(deriveSeed(options.seed, index));
    const offset = Math.floor(random() * (options.maxOffset + 1));
    const kind: CutKind = random() < 0.5 ? 'fin' : 'rst';
    const armed = proxy.enabled;
    let sent = 0;
    let cut = false;

    const upstream = tcpConnect(options.targetPort, '127.0.0.1');
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => {
      if (!cut) client.end();
    });
    client.pipe(upstream);

    const cutNow = (): void => {
      cut = true;
      cuts[kind] += 1;
      options.onCut?.(kind, offset);
      upstream.destroy();
      if (kind === 'fin') {
        client.end();
      } else {
        client.resetAndDestroy();
      }
    };

    upstream.on('data', (chunk: Buffer) => {
      if (cut) return;
      if (!armed || sent + chunk.length <= offset) {
        sent += chunk.length;
        if (!client.write(chunk)) {
          upstream.pause();
          client.once('drain', () => upstream.resume());
        }
        return;
      }
      const head = chunk.subarray(0, offset - sent);
      sent = offset;
      if (head.length > 0) client.write(head);
      cutNow();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('chaos proxy has no port');

  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    cuts,
    get enabled() {
      return proxy.enabled;
    },
    set enabled(value: boolean) {
      proxy.enabled = value;
    },
    async close() {
      closing = true;
      for (const socket of [...sockets]) socket.resetAndDestroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
