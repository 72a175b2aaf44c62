/**
 * The transport seam of the stream client.
 *
 * A transport carries one connection's worth of protocol events: it starts a stream, resumes
 * one after a cursor, or cancels one. Everything that is not about the wire (reconnect loop,
 * backoff, stall detection, dedupe by id, partial text, metrics, status) lives in the session
 * (`stream-session.ts`) and works the same over every transport.
 *
 * Contract for a transport (SSE over fetch here; a WebSocket one in `ws-transport.ts`):
 * - `start` / `resume` resolve when the connection ends without an error: `'ended'` when the
 *   server closed it (the session resumes if no terminal event came), `'finished'` when the
 *   server said there is nothing more (SSE: 204).
 * - They reject with a `StreamwellError` when it failed. `retryable: true` makes the session
 *   reconnect (network drop, 5xx, 429); a {@link StreamHttpError} may carry `retryAfterMs`.
 *   When `signal` aborts they reject promptly (with the signal's reason if it is a
 *   StreamwellError: the session aborts with its own `stalled` error on a stall).
 * - Call `handlers.onStreamId` as soon as the stream id is known (SSE: the `X-Stream-Id`
 *   header), `onActivity` whenever bytes or frames arrive (heartbeats too: this feeds stall
 *   detection), and `onEvent` for every protocol event in order. Duplicates are fine (the
 *   session drops ids it has seen); unknown event names should be passed on (the session
 *   ignores them).
 * - Never re-send the prompt from `resume`.
 *
 * @module
 */
import type { StreamEvent } from '../protocol/index.ts';

/** What starts a stream. */
export interface TransportStartRequest {
  readonly message: string;
  readonly threadId?: string | undefined;
  /** Same key = same stream on the server: a retried start never makes a second model call. */
  readonly idempotencyKey?: string | undefined;
}

/** What resumes a stream. */
export interface TransportResumeRequest {
  readonly streamId: string;
  /** The last event id seen; undefined replays the whole run from `start`. */
  readonly after: number | undefined;
}

/** Where a transport delivers what it receives. */
export interface TransportHandlers {
  /** The server named the stream. */
  onStreamId(streamId: string): void;
  /** Anything arrived (an event, a heartbeat, part of a frame). */
  onActivity(): void;
  /** One protocol event. */
  onEvent(event: StreamEvent): void;
  /** The server asked for this reconnection delay (SSE `retry:`). */
  onRetry(milliseconds: number): void;
}

/** How a connection ended without an error. */
export type TransportResult = 'ended' | 'finished';

/** Carries protocol events between a server and the stream session. */
export interface StreamTransport {
  /** `sse` or `ws`, for diagnostics. */
  readonly name: string;
  start(request: TransportStartRequest, handlers: TransportHandlers, signal: AbortSignal): Promise<TransportResult>;
  resume(request: TransportResumeRequest, handlers: TransportHandlers, signal: AbortSignal): Promise<TransportResult>;
  /**
   * Stops the run on the server (and with it the model call). Resolves when the server
   * confirmed; rejects with a StreamwellError when it could not be reached.
   */
  cancel(streamId: string, signal?: AbortSignal): Promise<void>;
}
