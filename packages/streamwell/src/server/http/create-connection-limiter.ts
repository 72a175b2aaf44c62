/**
 * Counts open stream connections (event-stream responses and WebSocket sockets) and refuses new
 * ones past a server-wide cap per kind and a cap per principal, before a response or socket is
 * committed. One limiter is shared by every handler of a server (stream, chat, ChatKit, the
 * WebSocket route), so the caps hold across endpoints.
 *
 * A slot is taken when a request is accepted and released exactly once when its connection ends
 * (a response that closes, a client that cuts, a socket that closes), so the counts come back
 * after any cut.
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';
import type { HttpReply, SseSink } from './http-types.ts';

/** The kinds of stream connection, each with its own server-wide cap. */
export type ConnectionKind = 'sse' | 'websocket';

/**
 * Defaults of {@link ConnectionLimiterOptions}.
 *
 * @internal
 */
export const CONNECTION_LIMITER_DEFAULTS = Object.freeze({
  maxEventStreams: 10_000,
  maxWebSockets: 2000,
  maxConnectionsPerPrincipal: 0,
});

/** Options of {@link createConnectionLimiter}. 0 disables a cap. */
export interface ConnectionLimiterOptions {
  /**
   * Most open event-stream responses (all handlers sharing the limiter); past it a request that
   * would open one is answered `503 too_many_connections` with `Retry-After`. Each open response
   * holds a socket (a file descriptor) and about 9 kB when idle (docs/benchmarks.md, T6).
   * @defaultValue 10000
   */
  readonly maxEventStreams?: number;
  /** Most open WebSocket sockets; past it an upgrade is refused with `503 too_many_connections`. @defaultValue 2000 */
  readonly maxWebSockets?: number;
  /**
   * Most open stream connections (event-stream responses and WebSocket sockets together) of one
   * principal; past it `429 too_many_principal_connections`. Connections without a principal
   * (auth off) are not counted. @defaultValue 0 (disabled)
   */
  readonly maxConnectionsPerPrincipal?: number;
  /** A connection was refused (for metrics), with the error code. */
  readonly onRefused?: (kind: ConnectionKind, code: 'too_many_connections' | 'too_many_principal_connections') => void;
}

/** One taken slot. */
export interface ConnectionSlot {
  /** Gives the slot back. Idempotent: only the first call counts. */
  release(): void;
}

/** The limiter. */
export interface ConnectionLimiter {
  /**
   * Takes a slot for a new connection of `kind`, or refuses it.
   *
   * @param kind - event stream or WebSocket
   * @param principal - who opens it (the API key id), or undefined
   * @returns the slot, to release when the connection ends
   * @throws StreamwellError `too_many_connections` (503, retryable) past the server-wide cap,
   *   `too_many_principal_connections` (429, retryable) past the principal's
   */
  acquire(kind: ConnectionKind, principal: string | undefined): ConnectionSlot;
  /**
   * Open connections of one kind (slots taken and not released).
   *
   * @param kind - the kind
   * @returns the count
   */
  open(kind: ConnectionKind): number;
  /**
   * Open connections of one principal, both kinds together (0 when the per-principal cap is off).
   *
   * @param principal - the principal
   * @returns the count
   */
  openOf(principal: string): number;
}

/**
 * Creates a connection limiter.
 *
 * @param options - the caps
 * @returns the limiter; give the same one to every handler of the server
 * @example
 * const connections = createConnectionLimiter({ maxEventStreams: 5000, maxConnectionsPerPrincipal: 100 });
 * const streams = createStreamHandler({ registry, connections });
 */
export function createConnectionLimiter(options: ConnectionLimiterOptions = {}): ConnectionLimiter {
  const caps: Record<ConnectionKind, number> = {
    sse: options.maxEventStreams ?? CONNECTION_LIMITER_DEFAULTS.maxEventStreams,
    websocket: options.maxWebSockets ?? CONNECTION_LIMITER_DEFAULTS.maxWebSockets,
  };
  const perPrincipal = options.maxConnectionsPerPrincipal ?? CONNECTION_LIMITER_DEFAULTS.maxConnectionsPerPrincipal;
  const open: Record<ConnectionKind, number> = { sse: 0, websocket: 0 };
  const byPrincipal = new Map<string, number>();

  function refuse(kind: ConnectionKind, error: StreamwellError): never {
    options.onRefused?.(kind, error.code as 'too_many_connections' | 'too_many_principal_connections');
    throw error;
  }

  return {
    acquire(kind, principal) {
      const cap = caps[kind];
      if (cap > 0 && open[kind] >= cap) {
        const what = kind === 'sse' ? 'event streams' : 'WebSocket connections';
        refuse(
          kind,
          new StreamwellError('too_many_connections', `The server has ${cap} open ${what}, its limit; retry shortly.`, {
            status: 503,
            retryable: true,
          }),
        );
      }
      const counted = perPrincipal > 0 && principal !== undefined ? principal : undefined;
      if (counted !== undefined && (byPrincipal.get(counted) ?? 0) >= perPrincipal) {
        refuse(
          kind,
          new StreamwellError(
            'too_many_principal_connections',
            `At most ${perPrincipal} stream connections of one principal may be open at once; close one and retry.`,
            { status: 429, retryable: true },
          ),
        );
      }
      open[kind] += 1;
      if (counted !== undefined) byPrincipal.set(counted, (byPrincipal.get(counted) ?? 0) + 1);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          open[kind] -= 1;
          if (counted === undefined) return;
          const left = (byPrincipal.get(counted) ?? 1) - 1;
          if (left > 0) byPrincipal.set(counted, left);
          else byPrincipal.delete(counted);
        },
      };
    },
    open(kind) {
      return open[kind];
    },
    openOf(principal) {
      return byPrincipal.get(principal) ?? 0;
    },
  };
}

/**
 * A sink that gives its slot back when the response ends, however it ends (the run's end, a
 * client cut, a dropped slow reader, shutdown): every writer ends its sink exactly that way.
 */
class SlotSink implements SseSink {
  #sink: SseSink;
  #slot: ConnectionSlot;

  constructor(sink: SseSink, slot: ConnectionSlot) {
    this.#sink = sink;
    this.#slot = slot;
  }

  write(chunk: string): boolean {
    return this.#sink.write(chunk);
  }

  get bufferedBytes(): number {
    return this.#sink.bufferedBytes;
  }

  end(): void {
    this.#slot.release();
    this.#sink.end();
  }

  endWith(chunk: string): void {
    this.#slot.release();
    if (this.#sink.endWith === undefined) {
      this.#sink.write(chunk);
      this.#sink.end();
    } else this.#sink.endWith(chunk);
  }

  abort(): void {
    this.#slot.release();
    if (this.#sink.abort === undefined) this.#sink.end();
    else this.#sink.abort();
  }
}

/**
 * Makes a streaming reply hold a connection slot until its response ends, or until the adapter
 * discards it unopened (the client left first). A body reply gives the slot back at once.
 *
 * @param reply - the reply the handler produced
 * @param slot - the slot taken for it
 * @returns the reply to hand to the adapter
 *
 * @internal
 */
export function holdConnectionSlot(reply: HttpReply, slot: ConnectionSlot): HttpReply {
  if (reply.type !== 'stream') {
    slot.release();
    return reply;
  }
  // Object.assign, not a spread: the same own properties, without V8's slow clone path for a
  // spread followed by more properties (~2 µs per stream in a micro-benchmark, ~0.3 µs this way).
  return Object.assign({}, reply, {
    open: (sink: SseSink) => reply.open(new SlotSink(sink, slot)),
    discard() {
      slot.release();
      reply.discard?.();
    },
  });
}
