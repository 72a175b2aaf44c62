/**
 * What a diagnosis saw of one event stream: the response, every network read with its arrival
 * time, every dispatched event and comment with the read it completed in, and how the stream
 * ended. Recorded by the CLI (raw sockets) and by the browser (`fetch` reader) alike, then
 * judged by the pure `evaluate*` functions.
 *
 * Times are milliseconds on one monotonic clock (`performance.now()`), so only differences mean
 * anything.
 *
 * @module
 */

/**
 * One network read (a socket `data` event, or one `reader.read()` result).
 *
 * @internal
 */
export interface ObservedRead {
  readonly at: number;
  readonly bytes: number;
}

/**
 * One dispatched SSE event.
 *
 * @internal
 */
export interface ObservedEvent {
  /** Arrival time: the time of the read that completed the event. */
  readonly at: number;
  /** Index into {@link StreamObservation.reads} of that read. */
  readonly readIndex: number;
  /** The event type (`message` when the stream gave none). */
  readonly event: string;
  /** The data buffer as the WHATWG parser dispatched it. */
  readonly data: string;
  /** The last event id in effect for this event ("" when no `id:` field was seen yet). */
  readonly lastEventId: string;
}

/**
 * One comment line (`: ping`), the usual SSE keep-alive.
 *
 * @internal
 */
export interface ObservedComment {
  readonly at: number;
  readonly readIndex: number;
  readonly text: string;
}

/**
 * Why the recording stopped.
 *
 * @internal
 */
export type StreamEndReason =
  /** The server closed the body (EOF). */
  | 'eof'
  /** The diagnosis stopped waiting (its time limit) while the stream was still open. */
  | 'timeout'
  /** The recording stopped itself: a terminal event arrived and the server kept the stream open. */
  | 'terminal-wait'
  /** A network error cut the body (reset, aborted by the peer). */
  | 'error'
  /** A size limit of the diagnosis was reached. */
  | 'limit';

/**
 * Everything recorded about one stream.
 *
 * @internal
 */
export interface StreamObservation {
  /** When the request was sent. */
  readonly requestedAt: number;
  /** When the response head arrived; undefined when none did. */
  readonly responseAt: number | undefined;
  /** HTTP status; undefined when no response arrived. */
  readonly status: number | undefined;
  /** Response headers, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly reads: readonly ObservedRead[];
  readonly events: readonly ObservedEvent[];
  readonly comments: readonly ObservedComment[];
  /** The first few hundred characters of the body, for evidence. */
  readonly bodySample: string;
  /** Parser complaints (invalid `retry:`, oversized lines, ...). */
  readonly parseErrors: readonly string[];
  /** When and why the recording ended. */
  readonly endedAt: number;
  readonly endReason: StreamEndReason;
  /** The network error message when `endReason` is `error` or no response arrived. */
  readonly errorMessage: string | undefined;
  /** True when the request carried a message, so a reply (tokens) is expected. */
  readonly expectsReply: boolean;
  /** How long the diagnosis was willing to wait, for evidence text. */
  readonly timeoutMs: number;
}
