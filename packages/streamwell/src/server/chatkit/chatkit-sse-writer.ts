/**
 * The event stream of one ChatKit response: each event as exactly one `data: {json}` line (no
 * `id:` or `event:` lines, as the reference sends none), `: ping` comments from the handler's
 * shared heartbeat while nothing else is written, and a cap on the bytes buffered for a client
 * that stopped reading. ChatKit has no resume: a client that goes away, or stops reading, has
 * stopped the response (its Stop button closes the stream), which the writer reports once.
 *
 * @module
 */
import { encodeSseComment } from '../../protocol/index.ts';
import type { Heartbeat } from '../http/create-heartbeat.ts';
import type { SseSink, SseStreamHandle } from '../http/http-types.ts';
import type { ChatKitEvent } from './chatkit-types.ts';

/** Why a ChatKit response ended. */
export type ChatKitCloseReason = 'end' | 'client_closed' | 'slow_consumer' | 'shutdown';

/**
 * Shared by the responses of one handler.
 *
 * @internal
 */
export interface ChatKitWriterHub {
  readonly heartbeat: Heartbeat<ChatKitSseWriter>;
  readonly maxBufferedBytes: number;
}

const PING = encodeSseComment('ping');

/**
 * Drops `null` fields, as the reference's "exclude none" serialization does (`undefined` ones
 * are dropped by JSON itself). Array entries stay.
 */
function withoutNulls(_key: string, value: unknown): unknown {
  return value === null ? undefined : value;
}

/**
 * The SSE frame of a ChatKit event: `data: ` + compact JSON + a blank line.
 *
 * @param event - the event
 * @returns the frame
 * @example encodeChatKitFrame({ type: 'progress_update', text: 'Searching' }) // 'data: {"type":"progress_update","text":"Searching"}\n\n'
 */
export function encodeChatKitFrame(event: ChatKitEvent): string {
  // JSON.stringify escapes CR and LF, so the frame is one line.
  return `data: ${JSON.stringify(event, withoutNulls)}\n\n`;
}

/**
 * JSON text of a non-streamed answer, with the same `null` rule as the frames.
 *
 * @param value - the answer
 * @returns its JSON
 *
 * @internal
 */
export function encodeChatKitJson(value: unknown): string {
  return JSON.stringify(value, withoutNulls);
}

/**
 * One open ChatKit event stream.
 *
 * @internal
 */
export class ChatKitSseWriter implements SseStreamHandle {
  lastWriteTick: number;
  #hub: ChatKitWriterHub;
  #sink: SseSink;
  #closed = false;
  #onClose: (reason: ChatKitCloseReason) => void;

  /**
   * @param hub - the handler's heartbeat and buffer cap
   * @param sink - the adapter's writer
   * @param onClose - told once, when the response ends for any reason
   */
  constructor(hub: ChatKitWriterHub, sink: SseSink, onClose: (reason: ChatKitCloseReason) => void) {
    this.#hub = hub;
    this.#sink = sink;
    this.#onClose = onClose;
    this.lastWriteTick = hub.heartbeat.tick;
    hub.heartbeat.add(this);
  }

  /** True once the response has ended (also when the client left). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Writes events as one chunk; nothing once the response has ended.
   *
   * @param events - the events, in order
   */
  write(events: readonly ChatKitEvent[]): void {
    if (this.#closed || events.length === 0) return;
    let text = '';
    for (const event of events) text += encodeChatKitFrame(event);
    this.lastWriteTick = this.#hub.heartbeat.tick;
    if (!this.#sink.write(text) && this.#sink.bufferedBytes > this.#hub.maxBufferedBytes) this.finish('slow_consumer');
  }

  /** Keep-alive from the shared heartbeat. */
  ping(): void {
    if (this.#closed) return;
    // The heartbeat updates `lastWriteTick` itself; a ping never counts as a stalled write.
    this.#sink.write(PING);
  }

  /** The adapter's connection closed: the client stopped the response. */
  close(): void {
    this.finish('client_closed');
  }

  /**
   * Ends the response. Idempotent.
   *
   * @param reason - why
   */
  finish(reason: ChatKitCloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#hub.heartbeat.remove(this);
    if (reason === 'slow_consumer' && this.#sink.abort !== undefined) this.#sink.abort();
    else this.#sink.end();
    this.#onClose(reason);
  }
}
