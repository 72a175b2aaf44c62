/**
 * Wire formats of an event-stream response. One run, several encodings: the connection writer
 * ({@link SseResponseWriter}: backlog, live batches, backpressure cap, heartbeat, close reasons,
 * metrics hooks) is shared, and a format is only what differs: its headers, how a batch of run
 * events is encoded, and its keep-alive. How a format ends is part of its encoding of the
 * terminal event (the AI SDK's stream, for one, closes with `data: [DONE]`).
 *
 * An encoder must be stateless per event: a batch is encoded once per format and the text is
 * shared by every connection in that format, whatever each one saw before.
 *
 * @module
 */
import { encodeSseComment, PROTOCOL_HEADER, PROTOCOL_VERSION, SSE_HEADERS } from '../../protocol/index.ts';
import type { RunEventEncoder } from '../run-event-log.ts';
import { SSE_EVENT_ENCODER } from './sse-event-encoder.ts';

/** One wire format of event-stream responses. */
export interface StreamFormat {
  /** A short name, for logs. */
  readonly name: string;
  /** Response headers of the format (content type and anti-buffering ones included). */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Encodes run events, stateless per event. May return '' for a batch with nothing to send in
   * this format (the writer then writes nothing). The terminal event's encoding ends the stream.
   */
  readonly encoder: RunEventEncoder;
  /** The keep-alive written when nothing else was for a heartbeat interval. */
  readonly heartbeat: string;
}

/** streamwell's own SSE protocol (v1): `id:`, `event:` and one `data:` line per event. */
export const STREAMWELL_SSE_FORMAT: StreamFormat = Object.freeze({
  name: 'streamwell',
  headers: Object.freeze({ ...SSE_HEADERS, [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) }),
  encoder: SSE_EVENT_ENCODER,
  heartbeat: encodeSseComment('ping'),
});
