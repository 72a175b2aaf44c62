import { describe, expect, it } from 'vitest';
import { createMemoryRunEventLog } from './memory-run-event-log.ts';
import { type RunEvent, RunEventBatch, type RunEventEncoder, type RunLogReplica } from './run-event-log.ts';

function recorder() {
  const deliveries: RunEvent[][] = [];
  return {
    deliveries,
    subscriber: {
      onEvent: (event: RunEvent) => deliveries.push([event]),
      onEvents: (batch: RunEventBatch) => deliveries.push([...batch.events]),
    },
  };
}

describe('memory run event log', () => {
  it('numbers events from 1, replays from any cursor and follows live with no gap or duplicate', () => {
    const log = createMemoryRunEventLog();
    log.append('start', '{"streamId":"s"}');
    log.append('token', '{"token":"a"}', 'a');
    const late = recorder();
    const attachment = log.subscribe(1, late.subscriber);
    expect(attachment.live).toBe(true);
    expect(attachment.backlog.map((event) => event.id)).toEqual([2]);
    log.append('token', '{"token":"b"}', 'b');
    log.finalize('done', '{"finishReason":"stop"}', { status: 'complete', outcome: 'stop', tokens: 2 });
    expect(late.deliveries.flat().map((event) => [event.id, event.event])).toEqual([
      [3, 'token'],
      [4, 'done'],
    ]);
    for (let after = 0; after <= 4; after += 1) {
      expect(log.after(after).map((event) => event.id)).toEqual([1, 2, 3, 4].filter((id) => id > after));
    }
    expect(log.text()).toBe('ab');
  });

  it('delivers a batch as one call, and the terminal event inside a batch with it', () => {
    const log = createMemoryRunEventLog();
    const seen = recorder();
    log.subscribe(undefined, seen.subscriber);
    log.beginBatch();
    log.append('token', '{"token":"a"}', 'a');
    log.append('token', '{"token":"b"}', 'b');
    expect(seen.deliveries).toEqual([]);
    log.endBatch();
    log.beginBatch();
    log.append('token', '{"token":"c"}', 'c');
    log.finalize('error', '{"error":"x","code":"retention_exceeded"}', {
      status: 'error',
      outcome: 'retention_exceeded',
      tokens: 3,
    });
    expect(seen.deliveries.map((batch) => batch.map((event) => event.id))).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('after finalize: no live delivery, the backlog is everything, and appends throw', () => {
    const log = createMemoryRunEventLog();
    log.append('start', '{}');
    log.finalize('done', '{"finishReason":"stop"}', { status: 'complete', outcome: 'stop', tokens: 0 });
    const attachment = log.subscribe(undefined, recorder().subscriber);
    expect(attachment.live).toBe(false);
    expect(attachment.backlog.map((event) => event.event)).toEqual(['start', 'done']);
    expect(() => log.append('token', '{"token":"x"}', 'x')).toThrow(/after finalize/);
  });

  it('hands a replica every event in order, and the summary with the text length at the end', () => {
    const calls: unknown[] = [];
    const replica: RunLogReplica = {
      append: (id, event, json) => calls.push(['append', id, event, json]),
      finalize: (id, event, json, summary) => calls.push(['finalize', id, event, json, summary]),
    };
    const log = createMemoryRunEventLog(replica);
    log.append('start', '{}');
    log.append('token', '{"token":"héllo"}', 'héllo');
    log.finalize('done', '{"finishReason":"stop"}', { status: 'complete', outcome: 'stop', tokens: 1 });
    expect(calls).toEqual([
      ['append', 1, 'start', '{}'],
      ['append', 2, 'token', '{"token":"héllo"}'],
      [
        'finalize',
        3,
        'done',
        '{"finishReason":"stop"}',
        { status: 'complete', outcome: 'stop', tokens: 1, textLength: 5 },
      ],
    ]);
  });

  it('keeps delivering to the others when a subscriber throws, and tells subscribers of an eviction', () => {
    const log = createMemoryRunEventLog();
    const good = recorder();
    let evicted = 0;
    log.subscribe(undefined, {
      onEvent: () => {
        throw new Error('boom');
      },
      onEvicted: () => {
        evicted += 1;
      },
    });
    log.subscribe(undefined, { ...good.subscriber, onEvicted: () => (evicted += 1) });
    log.append('token', '{"token":"a"}', 'a');
    expect(good.deliveries.flat().map((event) => event.id)).toEqual([1]);
    log.evict();
    expect(evicted).toBe(2);
    expect(log.after(undefined)).toEqual([]);
    expect(log.text()).toBe('a');
  });
});

describe('memory run event log: cursors the property test found mishandled', () => {
  it('a subscriber at a cursor beyond the newest event gets only the events after its cursor', () => {
    const log = createMemoryRunEventLog();
    log.append('start', '{"streamId":"s"}');
    const ahead = recorder();
    const attachment = log.subscribe(3, ahead.subscriber);
    expect(attachment).toMatchObject({ backlog: [], live: true });
    log.append('token', '{"token":"a"}', 'a');
    log.beginBatch();
    log.append('token', '{"token":"b"}', 'b');
    log.append('token', '{"token":"c"}', 'c');
    log.endBatch();
    log.finalize('done', '{"finishReason":"stop"}', { status: 'complete', outcome: 'stop', tokens: 3 });
    // Ids 2 and 3 were "seen" by the cursor; before the fix they arrived as live events.
    expect(ahead.deliveries.flat().map((event) => event.id)).toEqual([4, 5]);
  });

  it('a subscriber attaching inside an open batch gets each queued event once (live, not also in the backlog)', () => {
    const log = createMemoryRunEventLog();
    const early = recorder();
    log.subscribe(undefined, early.subscriber);
    log.append('start', '{"streamId":"s"}');
    log.beginBatch();
    log.append('token', '{"token":"a"}', 'a');
    const late = recorder();
    const attachment = log.subscribe(undefined, late.subscriber);
    log.append('token', '{"token":"b"}', 'b');
    log.endBatch();
    const received = [...attachment.backlog, ...late.deliveries.flat()].map((event) => event.id);
    expect(received).toEqual([1, 2, 3]);
    expect(early.deliveries.flat().map((event) => event.id)).toEqual([1, 2, 3]);
  });
});

describe('run event batch', () => {
  it('encodes once for the first format asked and per call for any other', () => {
    let calls = 0;
    const first: RunEventEncoder = {
      encode: (events) => {
        calls += 1;
        return events.map((event) => event.id).join(',');
      },
    };
    const other: RunEventEncoder = { encode: () => 'other' };
    const batch = new RunEventBatch([
      { id: 1, event: 'token', json: '{"token":"a"}' },
      { id: 2, event: 'token', json: '{"token":"b"}' },
    ]);
    expect(batch.encode(first)).toBe('1,2');
    expect(batch.encode(other)).toBe('other');
    expect(batch.encode(first)).toBe('1,2');
    expect(calls).toBe(1);
  });
});
