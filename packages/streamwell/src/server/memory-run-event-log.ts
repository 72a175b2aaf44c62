/**
 * The in-process {@link RunEventLog}: a {@link RunLog} (compact, packed once the run ends) plus
 * the fan-out to the subscribers attached in this process.
 *
 * @module
 */
import type { StreamEventName } from '../protocol/index.ts';
import {
  type RunAttachment,
  RunEventBatch,
  type RunEventLog,
  type RunLogReplica,
  type RunLogSummary,
  type RunSubscriber,
} from './run-event-log.ts';
import { type RunEvent, RunLog } from './run-log.ts';

const NO_OP = (): void => {};

/**
 * Creates an in-memory run event log.
 *
 * @param replica - a copy in a shared store that receives every event (several instances)
 * @returns the log
 */
export function createMemoryRunEventLog(replica?: RunLogReplica): RunEventLog {
  return new MemoryRunEventLog(replica);
}

/** See {@link createMemoryRunEventLog}. */
class MemoryRunEventLog implements RunEventLog {
  #log = new RunLog();
  #subscribers = new Set<RunSubscriber>();
  #replica: RunLogReplica | undefined;
  #batching = false;
  #pending: RunEvent[] = [];
  #closed = false;

  constructor(replica: RunLogReplica | undefined) {
    this.#replica = replica;
  }

  get lastEventId(): number {
    return this.#log.length;
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  append(event: StreamEventName, json: string, tokenText?: string): number {
    if (this.#closed) throw new Error('RunEventLog: append after finalize');
    if (tokenText === undefined) this.#log.appendEvent(event, json);
    else this.#log.appendToken(tokenText);
    // Ids are consecutive from 1 (RunLog's contract).
    const id = this.#log.length;
    this.#replica?.append(id, event, json);
    // With nobody attached (a client between a drop and its resume) there is nothing to build.
    if (this.#subscribers.size === 0) return id;
    const record: RunEvent = { id, event, json };
    if (this.#batching) this.#pending.push(record);
    else this.#deliverOne(record);
    return id;
  }

  beginBatch(): void {
    this.#batching = true;
  }

  endBatch(): void {
    this.#batching = false;
    this.#flush();
  }

  finalize(event: 'done' | 'error', json: string, summary: Omit<RunLogSummary, 'textLength'>): number {
    this.#log.appendEvent(event, json);
    const id = this.#log.length;
    this.#closed = true;
    if (this.#subscribers.size > 0) this.#pending.push({ id, event, json });
    // Ending inside a batch (the per-run byte cap): its events, terminal included, go out together.
    this.#batching = false;
    this.#flush();
    this.#subscribers.clear();
    // Nothing is appended after the terminal event: pack the log for its retention.
    this.#log.pack();
    // After packing, the text is one string: its length costs nothing.
    this.#replica?.finalize(id, event, json, { ...summary, textLength: this.#log.text().length });
    return id;
  }

  after(after: number | undefined): RunEvent[] {
    return this.#log.after(after);
  }

  subscribe(after: number | undefined, subscriber: RunSubscriber): RunAttachment {
    if (this.#closed) return { backlog: this.#log.after(after), live: false, detach: NO_OP };
    // Inside an open batch the events already queued for delivery come live, not in the backlog
    // (else they would arrive twice; found by the run log property test). They are the newest
    // ones: once anybody is attached, every append is queued.
    const first = this.#pending[0];
    const delivered = first === undefined ? this.#log.length : first.id - 1;
    let backlog = this.#log.after(after);
    if (first !== undefined) backlog = backlog.filter((event) => event.id <= delivered);
    // A cursor beyond what was delivered (a client that claims events this run has not produced:
    // HTTP refuses it, a WebSocket resume or an embedder may pass it) must not be handed the
    // events up to it as live ones: it gets those after its cursor, as the Redis store does.
    const attached = after !== undefined && after > delivered ? skipThrough(after, subscriber) : subscriber;
    this.#subscribers.add(attached);
    return {
      backlog,
      live: true,
      detach: () => {
        this.#subscribers.delete(attached);
      },
    };
  }

  text(): string {
    return this.#log.text();
  }

  evict(): void {
    const subscribers = [...this.#subscribers];
    this.#subscribers.clear();
    this.#closed = true;
    this.#log.clear();
    for (const subscriber of subscribers) subscriber.onEvicted?.();
  }

  #deliverOne(record: RunEvent): void {
    const batch = new RunEventBatch([record]);
    for (const subscriber of this.#subscribers) {
      // A subscriber that throws must not let the exception reach the provider loop, fail the
      // run and cut every other view of it. It stays attached: detaching goes through the
      // registry (which counts subscribers for the disconnect grace), so that is its own job.
      try {
        subscriber.onEvent(record, batch);
      } catch {
        // Swallowed on purpose; see above.
      }
    }
  }

  #flush(): void {
    const records = this.#pending;
    if (records.length === 0) return;
    this.#pending = [];
    const batch = new RunEventBatch(records);
    if (records.length === 1) {
      const record = records[0] as RunEvent;
      for (const subscriber of this.#subscribers) {
        try {
          subscriber.onEvent(record, batch);
        } catch {
          // See #deliverOne.
        }
      }
      return;
    }
    for (const subscriber of this.#subscribers) {
      try {
        if (subscriber.onEvents !== undefined) subscriber.onEvents(batch);
        else for (const record of records) subscriber.onEvent(record, new RunEventBatch([record]));
      } catch {
        // See #deliverOne.
      }
    }
  }
}

/**
 * Wraps a subscriber whose cursor is ahead of what the log has delivered so that it receives only
 * events with an id greater than `after` (found by the run log property test: a subscriber at a
 * cursor beyond the end got events 1..after as live ones).
 * Only such rare subscribers pay for the filter; the others are delivered to as they are.
 */
function skipThrough(after: number, subscriber: RunSubscriber): RunSubscriber {
  const wrapped: RunSubscriber = {
    onEvent(event, batch) {
      if (event.id > after) subscriber.onEvent(event, batch);
    },
    onEvents(batch) {
      const events = batch.events;
      if ((events[0] as RunEvent).id > after) {
        if (subscriber.onEvents !== undefined) subscriber.onEvents(batch);
        else for (const event of events) subscriber.onEvent(event, new RunEventBatch([event]));
        return;
      }
      const fresh = events.filter((event) => event.id > after);
      if (fresh.length === 0) return;
      const part = new RunEventBatch(fresh);
      if (fresh.length === 1) subscriber.onEvent(fresh[0] as RunEvent, part);
      else if (subscriber.onEvents !== undefined) subscriber.onEvents(part);
      else for (const event of fresh) subscriber.onEvent(event, new RunEventBatch([event]));
    },
  };
  if (subscriber.onEvicted !== undefined) {
    const onEvicted = subscriber.onEvicted.bind(subscriber);
    wrapped.onEvicted = () => onEvicted();
  }
  return wrapped;
}
