/**
 * Property tests of the run event log port in memory (`createMemoryRunEventLog`): random
 * interleavings of appends (tokens and other events, alone or in batches), subscribers attaching
 * at every kind of cursor (none, start, middle, last, beyond the end; while running, at the
 * terminal event, after it), detaching, throwing subscribers, finalize and evict, checked against
 * a plain array model:
 * - every subscriber receives a gap-free, duplicate-free, increasing run of ids starting right
 *   after its cursor, with the ids, names and data of the model's log (a token's JSON rebuilt from
 *   its text), and never anything at or before its cursor;
 * - at most one terminal event, nothing after it; a subscriber still attached at finalize gets
 *   everything up to and including it, whatever batches were open;
 * - a late subscriber (after the end) sees exactly the history an early one saw;
 * - an evicted log tells each attached subscriber once, then answers no events and no live
 *   attachment (not found), while its text stays;
 * - the replica receives every event once, in order, and one finalize;
 * - a subscriber that throws changes nothing for the others.
 *
 * The Redis store is checked by `redis-run-store.property.test.ts` with the same model.
 */
import fc from 'fast-check';
import {
  createMemoryRunEventLog,
  type RunEvent,
  type RunLogReplica,
  type RunLogSummary,
  type RunSubscriber,
} from 'streamwell/server';
import { describe, expect, it } from 'vitest';
import { tokenJson } from '../../packages/streamwell/src/server/run-log.ts';
import { propertyRuns } from './helpers/property-runs.ts';
import {
  type CursorKind,
  copy,
  cursorFor,
  expectedAfter,
  expectWellFormedSuffix,
  isTerminal,
  type Received,
} from './helpers/run-log-model.ts';
import { scale } from './helpers/soak-mode.ts';

/** One step of an interleaving. */
type LogCommand =
  | { readonly kind: 'token'; readonly text: string }
  | { readonly kind: 'event'; readonly event: 'handoff' | 'tool-call' | 'checkpoint'; readonly n: number }
  | { readonly kind: 'begin-batch' }
  | { readonly kind: 'end-batch' }
  | {
      readonly kind: 'subscribe';
      readonly cursor: CursorKind;
      readonly pick: number;
      readonly batches: boolean;
      readonly throws: boolean;
    }
  | { readonly kind: 'detach'; readonly pick: number }
  | { readonly kind: 'finalize'; readonly event: 'done' | 'error' }
  | { readonly kind: 'evict' };

/** Generates an interleaving: mostly appends and subscribes, now and then the rest. */
const logCommands = (maxLength: number): fc.Arbitrary<LogCommand[]> =>
  fc.array(
    fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .string({ unit: 'grapheme', minLength: 1, maxLength: 5 })
          .map((text) => ({ kind: 'token' as const, text })),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('event' as const),
          event: fc.constantFrom('handoff' as const, 'tool-call' as const, 'checkpoint' as const),
          n: fc.nat(1000),
        }),
      },
      { weight: 1, arbitrary: fc.constant({ kind: 'begin-batch' as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'end-batch' as const }) },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('subscribe' as const),
          cursor: fc.constantFrom<CursorKind>('none', 'start', 'middle', 'last', 'beyond'),
          pick: fc.nat(),
          batches: fc.boolean(),
          throws: fc.boolean(),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('detach' as const), pick: fc.nat() }) },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('finalize' as const),
          event: fc.constantFrom('done' as const, 'error' as const),
        }),
      },
      { weight: 1, arbitrary: fc.constant({ kind: 'evict' as const }) },
    ),
    { maxLength },
  );

interface ModelState {
  log: RunEvent[];
  closed: boolean;
  evicted: boolean;
  batching: boolean;
  text: string;
}

/** Runs one interleaving against a fresh memory log and checks every invariant. */
function runInterleaving(commands: readonly LogCommand[]): void {
  const replicated: Array<[number, string, string]> = [];
  const finalized: Array<[number, string, RunLogSummary]> = [];
  const replica: RunLogReplica = {
    append: (id, event, json) => replicated.push([id, event, json]),
    finalize: (id, event, _json, summary) => finalized.push([id, event, summary]),
  };
  const log = createMemoryRunEventLog(replica);
  const model: ModelState = { log: [], closed: false, evicted: false, batching: false, text: '' };
  const readers: Array<{ received: Received; detach: () => void }> = [];
  // Subscribers that throw once: whatever they lose is their own doing (a throw inside a batch
  // drops the rest of it for them); they are checked for nothing but not disturbing the others.
  const throwing = new Set<Received>();

  const subscribe = (command: Extract<LogCommand, { kind: 'subscribe' }>): void => {
    const after = cursorFor(command.cursor, model.log.length, command.pick);
    const received: Received = { after, events: [], evicted: 0, late: [], detached: false };
    let thrown = false;
    const take = (event: RunEvent): void => {
      if (received.evicted > 0 || received.events.some(isTerminal)) received.late.push(`${event.id} ${event.event}`);
      received.events.push(copy(event));
      // A throwing subscriber throws once, mid-delivery: the log must carry on for everyone.
      if (command.throws && !thrown) {
        thrown = true;
        throw new Error('subscriber failure');
      }
    };
    const subscriber: RunSubscriber = {
      onEvent: (event) => take(event),
      onEvicted: () => {
        received.evicted += 1;
      },
      ...(command.batches ? { onEvents: (batch: { events: readonly RunEvent[] }) => batch.events.forEach(take) } : {}),
    };
    const attachment = log.subscribe(after, subscriber);
    received.events.unshift(...attachment.backlog.map(copy));
    if (model.evicted) {
      // Not found: nothing retained, nothing live.
      expect(attachment).toMatchObject({ backlog: [], live: false });
    } else {
      expect(attachment.live).toBe(!model.closed);
      const backlog = attachment.backlog.map(copy);
      // Inside an open batch the queued events come live instead: the backlog may stop short.
      if (model.batching) expect(backlog).toEqual(expectedAfter(model.log, after).slice(0, backlog.length));
      else expect(backlog).toEqual(expectedAfter(model.log, after));
    }
    readers.push({ received, detach: attachment.detach });
    if (command.throws) throwing.add(received);
  };

  for (const command of commands) {
    switch (command.kind) {
      case 'token':
      case 'event': {
        if (model.closed) {
          if (!model.evicted) expect(() => appendTo(log, command)).toThrow();
          continue;
        }
        const id = appendTo(log, command);
        const json = command.kind === 'token' ? tokenJson(command.text) : eventJson(command.n);
        const event = command.kind === 'token' ? 'token' : command.event;
        expect(id).toBe(model.log.length + 1);
        model.log.push({ id, event, json });
        if (command.kind === 'token') model.text += command.text;
        break;
      }
      case 'begin-batch':
        if (model.closed) continue;
        log.beginBatch();
        model.batching = true;
        break;
      case 'end-batch':
        if (model.closed) continue;
        log.endBatch();
        model.batching = false;
        break;
      case 'subscribe':
        subscribe(command);
        break;
      case 'detach': {
        const reader = readers[command.pick % Math.max(1, readers.length)];
        if (reader === undefined) continue;
        reader.detach();
        reader.detach();
        // Detaching after an eviction is allowed (and changes nothing).
        if (!model.evicted) reader.received.detached = true;
        break;
      }
      case 'finalize': {
        if (model.closed) continue;
        const json = JSON.stringify(
          command.event === 'done' ? { finishReason: 'stop', tokens: 1 } : { error: 'x', code: 'upstream_error' },
        );
        const id = log.finalize(command.event, json, { status: 'complete', outcome: 'stop', tokens: 1 });
        expect(id).toBe(model.log.length + 1);
        model.log.push({ id, event: command.event, json });
        model.closed = true;
        model.batching = false;
        break;
      }
      case 'evict':
        log.evict();
        model.closed = true;
        model.evicted = true;
        model.batching = false;
        break;
    }
    // Between steps (outside an open batch) every attached reader is up to date.
    if (!model.batching && !model.evicted) {
      for (const { received } of readers) {
        if (received.detached || received.evicted > 0 || throwing.has(received)) continue;
        expect(received.events).toEqual(expectedAfter(model.log, received.after));
      }
    }
    expect(log.lastEventId).toBe(model.evicted ? 0 : model.log.length);
  }

  // Final checks.
  for (const { received } of readers) {
    if (throwing.has(received)) continue;
    expectWellFormedSuffix(received, model.log);
    expect(received.evicted).toBeLessThanOrEqual(1);
    if (received.detached) expect(received.evicted).toBe(0);
    if (!received.detached && model.closed && !model.evicted) {
      // Got everything, terminal included (or was attached after the end: its backlog was it).
      expect(received.events).toEqual(expectedAfter(model.log, received.after));
    }
  }
  expect(log.text()).toBe(model.text);
  if (model.evicted) {
    expect(log.after(undefined)).toEqual([]);
    expect(log.subscribe(undefined, { onEvent: () => {} })).toMatchObject({ backlog: [], live: false });
  } else {
    expect(log.after(undefined).map(copy)).toEqual(model.log);
    if (model.closed) {
      // A late reader from the start sees the same history as any early one.
      const late = log.subscribe(undefined, { onEvent: () => {} });
      expect(late.live).toBe(false);
      expect(late.backlog.map(copy)).toEqual(model.log);
    }
  }
  // The replica got every event once, in order, and the terminal once.
  const appended = model.log.filter((event) => !isTerminal(event));
  expect(replicated.map(([id, event]) => [id, event])).toEqual(appended.map((event) => [event.id, event.event]));
  expect(replicated.map(([, , json]) => json)).toEqual(appended.map((event) => event.json));
  const terminal = model.log.find(isTerminal);
  expect(finalized.map(([id, event]) => [id, event])).toEqual(
    terminal === undefined ? [] : [[terminal.id, terminal.event]],
  );
  expect(log.subscriberCount).toBe(
    0 + (model.closed ? 0 : readers.filter((reader) => !reader.received.detached).length),
  );
}

function eventJson(n: number): string {
  return JSON.stringify({ type: 'handoff', from: 'a', to: `b${n}` });
}

function appendTo(
  log: ReturnType<typeof createMemoryRunEventLog>,
  command: Extract<LogCommand, { kind: 'token' | 'event' }>,
): number {
  return command.kind === 'token'
    ? log.append('token', tokenJson(command.text), command.text)
    : log.append(command.event, eventJson(command.n));
}

describe('run event log properties: memory', () => {
  it(
    'random interleavings of append, batch, subscribe at any cursor, detach, finalize and evict',
    () => {
      fc.assert(
        fc.property(logCommands(60), (commands) => runInterleaving(commands)),
        propertyRuns(500, 100_000),
      );
    },
    scale(60_000, 1_800_000),
  );
});
