/**
 * The SSE writer of one open response: the backlog in one write, then each live event, or each
 * batch of events from one upstream read, as one write (the run encodes frames once and shares
 * them among subscribers), keep-alive comments from
 * the shared heartbeat, a cap on bytes buffered for a client that stopped reading, and a detach
 * from the run when the response closes (the registry's disconnect grace then applies).
 *
 * @module
 */
import { encodeSseComment } from '../../protocol/index.ts';
import type { RunEvent, RunEventBatch, RunSubscriber } from '../run-event-log.ts';
import type { RunHandle } from '../run-handle.ts';
import type { RunRegistry } from '../run-registry.ts';
import type { Heartbeat } from './create-heartbeat.ts';
import type { SseSink, SseStreamHandle } from './http-types.ts';
import { SSE_EVENT_ENCODER } from './sse-event-encoder.ts';

/** Why an event stream response ended. */
export type SseCloseReason =
  /** The run's terminal event was written (or the run had already ended). */
  | 'end'
  /** The client closed the connection. */
  | 'client_closed'
  /** The client stopped reading and the buffered bytes passed the cap; it can resume. */
  | 'slow_consumer'
  /** The run left retention while the response was open. */
  | 'evicted'
  /** The server ended every stream (shutdown). */
  | 'shutdown';

/**
 * Shared by the connections of one handler.
 *
 * @internal
 */
export interface SseResponseWriterHub {
  readonly heartbeat: Heartbeat<SseResponseWriter>;
  /** Most bytes one response may have buffered before its subscriber is dropped. */
  readonly maxBufferedBytes: number;
  /** Told once per connection when it ends. */
  readonly onClose: ((connection: SseResponseWriter, reason: SseCloseReason) => void) | undefined;
}

const PING = encodeSseComment('ping');

/**
 * One open event-stream response following one run. Methods are on the prototype (no closures)
 * to keep idle streams small.
 *
 * @internal
 */
export class SseResponseWriter implements RunSubscriber, SseStreamHandle {
  readonly run: RunHandle;
  lastWriteTick: number;
  #hub: SseResponseWriterHub;
  #sink: SseSink;
  #limit: number;
  #detach: (() => void) | undefined;
  #closed = false;
  /** A remote run delivers its backlog as its first batch (it has to read it first). */
  #awaitingBacklog = false;

  constructor(hub: SseResponseWriterHub, sink: SseSink, run: RunHandle) {
    this.#hub = hub;
    this.#sink = sink;
    this.run = run;
    this.#limit = hub.maxBufferedBytes;
    this.lastWriteTick = hub.heartbeat.tick;
  }

  /** True once the response has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Attaches at `after`, writes the backlog in one write and follows live events.
   *
   * @param registry - the registry (tracks subscribers for the disconnect grace)
   * @param after - the cursor, or undefined for the whole run
   */
  open(registry: RunRegistry, after: number | undefined): void {
    const attachment = registry.attach(this.run, after, this);
    this.#detach = attachment.detach;
    this.#hub.heartbeat.add(this);
    const backlog = attachment.backlog;
    const text = backlog.length === 0 ? '' : SSE_EVENT_ENCODER.encode(backlog);
    // A finished run: its whole backlog and the end of the response in one write.
    if (!attachment.live) {
      this.finish('end', text);
      return;
    }
    this.#awaitingBacklog = !this.run.local && backlog.length === 0;
    if (text !== '') {
      // A resume may legitimately replay a long reply in one go: allow the cap on top of it.
      this.#limit = this.#hub.maxBufferedBytes + text.length;
      this.#write(text);
    }
  }

  /** Live event from the run: one write of the shared frame. */
  onEvent(event: RunEvent, batch: RunEventBatch): void {
    if (this.#closed) return;
    const frame = batch.encode(SSE_EVENT_ENCODER);
    if (event.event === 'done' || event.event === 'error') this.finish('end', frame);
    else this.#write(frame);
  }

  /** Live events of one upstream read (or of a remote run's read): one write of their frames. */
  onEvents(batch: RunEventBatch): void {
    if (this.#closed) return;
    const events = batch.events;
    const last = events[events.length - 1];
    const frames = batch.encode(SSE_EVENT_ENCODER);
    if (this.#awaitingBacklog) {
      // As for a local backlog in `open`: a replay may be long, allow the cap on top of it.
      this.#awaitingBacklog = false;
      this.#limit = this.#hub.maxBufferedBytes + frames.length;
    }
    if (last !== undefined && (last.event === 'done' || last.event === 'error')) this.finish('end', frames);
    else this.#write(frames);
  }

  /** The run left retention. */
  onEvicted(): void {
    this.finish('evicted');
  }

  /** Keep-alive from the shared heartbeat. */
  ping(): void {
    if (!this.#closed) this.#write(PING);
  }

  /** The adapter's connection closed. */
  close(): void {
    this.finish('client_closed');
  }

  /**
   * Ends the response and detaches from the run. Idempotent.
   *
   * @param reason - why, for logs and metrics
   * @param last - frames to write before the end, together with it where the sink can
   */
  finish(reason: SseCloseReason, last = ''): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#detach?.();
    this.#hub.heartbeat.remove(this);
    const sink = this.#sink;
    if (reason === 'slow_consumer' && sink.abort !== undefined) sink.abort();
    else if (last === '') sink.end();
    else if (sink.endWith !== undefined) sink.endWith(last);
    else {
      sink.write(last);
      sink.end();
    }
    this.#hub.onClose?.(this, reason);
  }

  #write(chunk: string): void {
    this.lastWriteTick = this.#hub.heartbeat.tick;
    // Only when the transport says it is over its high-water mark is the buffered size checked.
    if (!this.#sink.write(chunk) && this.#sink.bufferedBytes > this.#limit) this.finish('slow_consumer');
  }
}
