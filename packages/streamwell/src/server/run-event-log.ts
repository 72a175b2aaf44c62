/**
 * The run event log port: what a run writes its events to and what its readers read from.
 *
 * A run appends events (each numbered: its id), delivers them to live subscribers, and ends the
 * log with exactly one terminal event. A reader asks for the events after a cursor and for the
 * live ones after them, with no gap and no duplicate. {@link createMemoryRunEventLog} is the
 * in-process implementation (the log and the fan-out of one instance); a store shared by several
 * instances (Redis Streams, `streamwell/server`'s `createRedisRunStore`) is attached to it as a
 * {@link RunLogReplica}, and readers on other instances read the replica.
 *
 * Wire formats are not the log's business: a delivery is a {@link RunEventBatch}, which each
 * format encodes once ({@link RunEventBatch.encode}) and shares among its connections.
 *
 * @module
 */
import type { StreamEventName } from '../protocol/index.ts';
import type { RunEvent } from './run-log.ts';

export type { RunEvent } from './run-log.ts';

/** Encodes events for one wire format (SSE frames, WebSocket frames, another stream format). */
export interface RunEventEncoder {
  /**
   * @param events - events in id order
   * @returns their encoding, as one string to write
   */
  encode(events: readonly RunEvent[]): string;
}

/**
 * The events of one delivery (one upstream read, or one event), with a one-entry cache of their
 * encoding: the first subscriber that needs a format encodes the batch, the others reuse it.
 */
export class RunEventBatch {
  /** The events, in id order. */
  readonly events: readonly RunEvent[];
  #encoder: RunEventEncoder | undefined;
  #encoded = '';

  /** @param events - the events of the delivery, in id order */
  constructor(events: readonly RunEvent[]) {
    this.events = events;
  }

  /**
   * The batch in `encoder`'s format, encoded once per batch for the first format asked (the
   * common case: every subscriber speaks it); other formats are encoded per call.
   *
   * @param encoder - the wire format
   * @returns the encoded events
   */
  encode(encoder: RunEventEncoder): string {
    if (this.#encoder === encoder) return this.#encoded;
    const text = encoder.encode(this.events);
    if (this.#encoder === undefined) {
      this.#encoder = encoder;
      this.#encoded = text;
    }
    return text;
  }
}

/**
 * Receives a run's live events. Called synchronously, in id order. Must not throw: an exception
 * is swallowed so that it cannot fail the run or starve the other subscribers.
 */
export interface RunSubscriber {
  /** One live event; `batch` holds it alone (encode it with {@link RunEventBatch.encode}). */
  onEvent(event: RunEvent, batch: RunEventBatch): void;
  /**
   * Several live events at once (all that one upstream read produced): one write instead of one
   * per event. Optional; without it each event goes to {@link RunSubscriber.onEvent}.
   */
  onEvents?(batch: RunEventBatch): void;
  /** The run was dropped from retention (expired or evicted); no more events will come. */
  onEvicted?(): void;
}

/** What attaching a subscriber returns. */
export interface RunAttachment {
  /**
   * Events after the cursor that were at hand when attaching, in order. A remote run may return
   * none here and deliver its backlog to the subscriber instead (it has to read it first).
   */
  readonly backlog: readonly RunEvent[];
  /**
   * False when the backlog is everything there will be (the run had ended): nothing is delivered
   * live. True when more events (and, eventually, the terminal one) will reach the subscriber.
   */
  readonly live: boolean;
  /** Stops live delivery. Idempotent. */
  detach(): void;
}

/**
 * A copy of a run's log outside the process (a shared store). Receives every event as it is
 * appended, synchronously and in order; it batches and writes on its own schedule. Reports
 * trouble through the callbacks it was created with, never by throwing.
 */
export interface RunLogReplica {
  /** A non-terminal event. */
  append(id: number, event: StreamEventName, json: string): void;
  /** The terminal event; nothing follows. */
  finalize(id: number, event: 'done' | 'error', json: string, summary: RunLogSummary): void;
}

/** What a replica records with the terminal event. */
export interface RunLogSummary {
  readonly status: string;
  readonly outcome: string;
  readonly tokens: number;
  readonly textLength: number;
}

/** The log of one run, as the run writes it and local readers read it. */
export interface RunEventLog {
  /** Id of the newest event (0 before the first). */
  readonly lastEventId: number;
  /** Number of attached live subscribers. */
  readonly subscriberCount: number;
  /**
   * Appends a non-terminal event and delivers it (or queues it in the open batch).
   *
   * @param event - the event name
   * @param json - its data as JSON text
   * @param tokenText - a token's text (the log may keep only this and rebuild `json`)
   * @returns the event's id
   */
  append(event: StreamEventName, json: string, tokenText?: string): number;
  /** Events appended until {@link RunEventLog.endBatch} go out in one delivery. */
  beginBatch(): void;
  /** Delivers the events appended since {@link RunEventLog.beginBatch}. */
  endBatch(): void;
  /**
   * Appends the terminal event, delivers everything pending with it, and closes the log: no
   * more appends, subscribers released.
   *
   * @returns the terminal event's id
   */
  finalize(event: 'done' | 'error', json: string, summary: Omit<RunLogSummary, 'textLength'>): number;
  /** Retained events with an id greater than `after` (all when undefined), in order. */
  after(after: number | undefined): RunEvent[];
  /**
   * The backlog after `after` and live delivery of what follows, in one synchronous step (no
   * gap, no duplicate). A closed log returns its backlog with `live: false`.
   */
  subscribe(after: number | undefined, subscriber: RunSubscriber): RunAttachment;
  /** Every token's text so far, joined. */
  text(): string;
  /** Drops the events and tells every subscriber it was evicted. {@link RunEventLog.text} stays. */
  evict(): void;
}
