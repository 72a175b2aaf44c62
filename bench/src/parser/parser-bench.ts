/**
 * Client parser throughput, in process (a child pinned to the gateway core): streamwell's
 * `createSseByteParser` against eventsource-parser@3 (`createParser` behind a streaming
 * `TextDecoder`, as its `EventSourceParserStream` does) and @microsoft/fetch-event-source
 * (`getLines` → `getMessages`, bytes in). All three take bytes. Shapes: one event per chunk,
 * 64 KiB chunks, 1-byte chunks (twice, at two sizes, to check linearity), and one 8 MiB event
 * in 1,460-byte fragments (a TCP segment's payload).
 *
 * @module
 */
import { createRequire } from 'node:module';
import { createParser } from 'eventsource-parser';
import { createSseByteParser } from 'streamwell/client';
import { announceReady, serveRequests } from '../lib/child-side.ts';
import { nowNs } from '../lib/clock.ts';

const require = createRequire(import.meta.url);
const fetchEventSource = require('@microsoft/fetch-event-source/lib/cjs/parse.js') as {
  getLines(onLine: (line: Uint8Array, fieldLength: number) => void): (chunk: Uint8Array) => void;
  getMessages(
    onId: (id: string) => void,
    onRetry: (retry: number) => void,
    onMessage?: (message: { data: string }) => void,
  ): (line: Uint8Array, fieldLength: number) => void;
};

/** A parser under test: returns a feed function; `onEvent` counts dispatched events. */
type Contestant = (onEvent: (data: string) => void) => (chunk: Uint8Array) => void;

const BIG = 16 * 1024 * 1024;

/** The contestants, by report name. */
export const CONTESTANTS: Record<string, Contestant> = {
  streamwell: (onEvent) => {
    const parser = createSseByteParser({
      onEvent: (event) => onEvent(event.data),
      maxEventBytes: BIG,
      maxLineBytes: BIG,
    });
    return (chunk) => parser.feed(chunk);
  },
  'eventsource-parser': (onEvent) => {
    const decoder = new TextDecoder();
    const parser = createParser({ onEvent: (event) => onEvent(event.data) });
    return (chunk) => parser.feed(decoder.decode(chunk, { stream: true }));
  },
  'fetch-event-source': (onEvent) =>
    fetchEventSource.getLines(
      fetchEventSource.getMessages(
        () => {},
        () => {},
        (message) => onEvent(message.data),
      ),
    ),
};

const EVENT = new TextEncoder().encode(
  'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":{"content":" hello"},"finish_reason":null}]}\n\n',
);

function concat(count: number): Uint8Array {
  const all = new Uint8Array(EVENT.length * count);
  for (let i = 0; i < count; i++) all.set(EVENT, i * EVENT.length);
  return all;
}

function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

/** A workload: its chunks, the events it holds, its size. */
interface Shape {
  readonly chunks: readonly Uint8Array[];
  readonly events: number;
  readonly bytes: number;
}

function shapes(quick: boolean): Record<string, Shape> {
  const many = quick ? 20_000 : 100_000;
  const fragmented = quick ? 300 : 2_000;
  // Quick mode (CI, under 2 minutes) uses a 1 MiB event: fetch-event-source's quadratic
  // buffering alone would take ~12 s on the full 8 MiB.
  const bigMiB = quick ? 1 : 8;
  const big = new Uint8Array(bigMiB * 1024 * 1024 + 8);
  big.fill(120);
  big.set(new TextEncoder().encode('data: '), 0);
  big[big.length - 2] = 10;
  big[big.length - 1] = 10;
  const all = concat(many);
  return {
    'one event per chunk': { chunks: Array.from({ length: many }, () => EVENT), events: many, bytes: all.length },
    '64 KiB chunks': { chunks: split(all, 65_536), events: many, bytes: all.length },
    '1-byte chunks': { chunks: split(concat(fragmented), 1), events: fragmented, bytes: fragmented * EVENT.length },
    '1-byte chunks ×10 events': {
      chunks: split(concat(fragmented * 10), 1),
      events: fragmented * 10,
      bytes: fragmented * 10 * EVENT.length,
    },
    [`${bigMiB} MiB event in 1,460-B fragments`]: { chunks: split(big, 1460), events: 1, bytes: big.length },
  };
}

/** One measurement. */
export interface ParserRow {
  readonly ms: number;
  readonly eventsPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly events: number;
  readonly correct: boolean;
}

function timeOnce(contestant: Contestant, shape: Shape): { ms: number; events: number } {
  let events = 0;
  const feed = contestant(() => {
    events += 1;
  });
  const start = nowNs();
  for (const chunk of shape.chunks) feed(chunk);
  return { ms: (nowNs() - start) / 1e6, events };
}

/** Runs every contestant on every shape; median of `reps` timed runs after one warm-up. */
export function runParserBench(quick: boolean): Record<string, Record<string, ParserRow>> {
  const reps = quick ? 3 : 5;
  const results: Record<string, Record<string, ParserRow>> = {};
  for (const [shapeName, shape] of Object.entries(shapes(quick))) {
    const row: Record<string, ParserRow> = {};
    for (const [name, contestant] of Object.entries(CONTESTANTS)) {
      timeOnce(contestant, shape);
      const runs = Array.from({ length: reps }, () => timeOnce(contestant, shape)).sort((a, b) => a.ms - b.ms);
      const middle = runs[Math.floor(runs.length / 2)] as { ms: number; events: number };
      row[name] = {
        ms: Math.round(middle.ms * 1000) / 1000,
        eventsPerSecond: Math.round((shape.events / middle.ms) * 1000),
        megabytesPerSecond: Math.round((shape.bytes / 1e6 / (middle.ms / 1000)) * 10) / 10,
        events: middle.events,
        correct: runs.every((run) => run.events === shape.events),
      };
    }
    results[shapeName] = row;
  }
  return results;
}

if (process.send) {
  serveRequests((message) => {
    if (message.type === 'parser') return runParserBench(message.quick === true);
    throw new Error(`unknown request ${String(message.type)}`);
  });
  announceReady({});
}
