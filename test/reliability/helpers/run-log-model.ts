/**
 * The model both run-log property suites (memory and Redis) check readers against: cursor kinds,
 * what a reader received, and the invariants of what it received.
 *
 * @module
 */
import type { RunEvent } from 'streamwell/server';
import { expect } from 'vitest';

/** Where a subscriber's cursor points, relative to the log when it attaches. */
export type CursorKind = 'none' | 'start' | 'middle' | 'last' | 'beyond';

/**
 * The cursor a kind stands for on a log whose newest id is `last`.
 *
 * @param pick - a random number choosing the middle cursor and the distance beyond the end
 */
export function cursorFor(kind: CursorKind, last: number, pick: number): number | undefined {
  switch (kind) {
    case 'none':
      return undefined;
    case 'start':
      return 0;
    case 'middle':
      return last <= 1 ? last : 1 + (pick % (last - 1));
    case 'last':
      return last;
    case 'beyond':
      return last + 1 + (pick % 5);
  }
}

/** What one subscriber received, in order. */
export interface Received {
  readonly after: number | undefined;
  readonly events: RunEvent[];
  evicted: number;
  /** Anything that arrived after the terminal event or after eviction. */
  readonly late: string[];
  detached: boolean;
}

/** Whether an event ends the run. */
export const isTerminal = (event: RunEvent): boolean => event.event === 'done' || event.event === 'error';
/** A plain copy of an event (for deep equality). */
export const copy = (event: RunEvent): RunEvent => ({ id: event.id, event: event.event, json: event.json });

/** The model's events after `after`. */
export const expectedAfter = (log: readonly RunEvent[], after: number | undefined): RunEvent[] =>
  log.filter((event) => event.id > (after ?? 0));

/**
 * The invariants every reader of a run must satisfy, whichever store it read: ids consecutive
 * from right after its cursor, the model's events, at most one terminal event and it last.
 */
export function expectWellFormedSuffix(received: Received, log: readonly RunEvent[]): void {
  const { events, after } = received;
  const start = after ?? 0;
  expect(received.late, 'events after the end or after eviction').toEqual([]);
  events.forEach((event, index) => {
    expect(event.id, `event ${index} of a reader after ${String(after)}`).toBe(start + 1 + index);
  });
  expect(events.filter(isTerminal).length).toBeLessThanOrEqual(1);
  const terminal = events.findIndex(isTerminal);
  if (terminal !== -1) expect(terminal).toBe(events.length - 1);
  // A prefix of what the model says comes after the cursor.
  expect(events).toEqual(expectedAfter(log, after).slice(0, events.length));
}
