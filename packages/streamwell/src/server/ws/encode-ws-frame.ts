/**
 * Outgoing WebSocket frames of `GET /ws/stream`.
 *
 * An event frame is `{"streamId","id","event","data"}` with the same id, name and data object as
 * the SSE event. It is built from the run's stored JSON text by concatenation, never by parsing
 * and re-serializing: the bytes of `data` are exactly the bytes of the SSE `data:` line.
 *
 * Control frames carry a `type` (event frames never do), so a client tells them apart with one
 * property check:
 * - `{"type":"error","error":{"code","message"},"streamId"?,"requestId"?,"lastEventId"?}`: a refused
 *   message or a dropped subscriber. Other streams on the socket are unaffected.
 * - `{"type":"ended","streamId","lastEventId"}`: a resume whose cursor is at the terminal event
 *   (the WebSocket counterpart of the SSE `204`): nothing more will come for that stream.
 * - `{"type":"cancelled","streamId","status"}`: a cancel was applied (idempotent).
 * - `{"type":"heartbeat"}`: keep-alive on a quiet socket (browsers cannot see pings).
 *
 * @module
 */
import type { StreamwellErrorCode } from '../../errors/index.ts';
import type { RunEvent } from '../run.ts';

/**
 * The constant start of every event frame of one stream, built once per subscription.
 *
 * @param streamId - the stream id
 * @returns `{"streamId":"…","id":`
 *
 * @internal
 */
export function createEventFramePrefix(streamId: string): string {
  return `{"streamId":${JSON.stringify(streamId)},"id":`;
}

/**
 * Encodes one run event as a WebSocket text message.
 *
 * @param prefix - from {@link createEventFramePrefix}
 * @param event - the run event (its `json` is one line of JSON)
 * @returns the frame text
 * @example encodeEventFrame(createEventFramePrefix('s1'), { id: 2, event: 'token', json: '{"token":"Hi"}' })
 * // '{"streamId":"s1","id":2,"event":"token","data":{"token":"Hi"}}'
 *
 * @internal
 */
export function encodeEventFrame(prefix: string, event: RunEvent): string {
  // Event names are protocol identifiers (letters and dashes): no escaping needed.
  return `${prefix}${event.id},"event":"${event.event}","data":${event.json}}`;
}

/**
 * Optional context of an error frame.
 *
 * @internal
 */
export interface ErrorFrameContext {
  readonly streamId?: string | undefined;
  readonly requestId?: string | undefined;
  /** For a dropped subscriber: the last id it received, to resume from. */
  readonly lastEventId?: number | undefined;
}

/**
 * Encodes an error control frame.
 *
 * @param code - a stable error code
 * @param message - a message safe to show a client
 * @param context - the stream or request it is about
 * @returns the frame text
 *
 * @internal
 */
export function encodeErrorFrame(code: StreamwellErrorCode, message: string, context: ErrorFrameContext = {}): string {
  return JSON.stringify({
    type: 'error',
    error: { code, message },
    ...(context.streamId === undefined ? {} : { streamId: context.streamId }),
    ...(context.requestId === undefined ? {} : { requestId: context.requestId }),
    ...(context.lastEventId === undefined ? {} : { lastEventId: context.lastEventId }),
  });
}

/**
 * Encodes the `ended` control frame: the stream is finished and the cursor is at its end.
 *
 * @param streamId - the stream id
 * @param lastEventId - the id of its terminal event
 * @returns the frame text
 *
 * @internal
 */
export function encodeEndedFrame(streamId: string, lastEventId: number): string {
  return JSON.stringify({ type: 'ended', streamId, lastEventId });
}

/**
 * Encodes the `cancelled` control frame that acknowledges a cancel.
 *
 * @param streamId - the stream id
 * @param status - the run's status after the cancel (`cancelled`, or the status it had already)
 * @returns the frame text
 *
 * @internal
 */
export function encodeCancelledFrame(streamId: string, status: string): string {
  return JSON.stringify({ type: 'cancelled', streamId, status });
}
