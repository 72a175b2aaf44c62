/**
 * Conformance corpus for the event-stream parser, after the WHATWG "event stream
 * interpretation" rules: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 *
 * Every fixture is fed whole, one piece at a time (UTF-16 code units for text, bytes for the byte
 * parser), and at seeded random split points, and must give the same events every time.
 */
import { isStreamwellError, type StreamwellError } from 'streamwell/client';
import {
  createSseByteParser,
  createSseParser,
  createSseParserStream,
  encodeSseComment,
  encodeSseEvent,
  encodeSseFrame,
  encodeSseRetry,
  parseSseStream,
  type SseEvent,
} from 'streamwell/protocol';
import { describe, expect, it } from 'vitest';
import { createRandom } from '../client/helpers/random.ts';

interface Parsed {
  events: SseEvent[];
  retries: number[];
  comments: string[];
  errors: StreamwellError[];
  lastEventId: string;
}

type Split = 'whole' | 'single' | 'random';

const SEEDS = [1, 2, 3, 42, 1337];
const encoder = new TextEncoder();

function splitPoints(length: number, split: Split, seed: number): number[] {
  if (split === 'whole') return [length];
  if (split === 'single') return Array.from({ length }, (_, index) => index + 1);
  const random = createRandom(seed);
  const points: number[] = [];
  let position = 0;
  while (position < length) {
    position = Math.min(length, position + 1 + Math.floor(random() * 7));
    points.push(position);
  }
  return points;
}

/** Parses text with the string parser, split as asked, then ends the stream. */
function parseText(input: string, split: Split, seed = 1, limits: object = {}): Parsed {
  const parsed: Parsed = { events: [], retries: [], comments: [], errors: [], lastEventId: '' };
  const parser = createSseParser({
    ...limits,
    onEvent: (event) => parsed.events.push(event),
    onRetry: (milliseconds) => parsed.retries.push(milliseconds),
    onComment: (text) => parsed.comments.push(text),
    onError: (error) => parsed.errors.push(error),
  });
  let start = 0;
  for (const end of splitPoints(input.length, split, seed)) {
    parser.feed(input.slice(start, end));
    start = end;
  }
  parser.end();
  parsed.lastEventId = parser.lastEventId;
  return parsed;
}

/** Parses the UTF-8 bytes of `input` (or raw bytes) with the byte parser, split as asked. */
function parseBytes(input: string | Uint8Array, split: Split, seed = 1, limits: object = {}): Parsed {
  const bytes = typeof input === 'string' ? encoder.encode(input) : input;
  const parsed: Parsed = { events: [], retries: [], comments: [], errors: [], lastEventId: '' };
  const parser = createSseByteParser({
    ...limits,
    onEvent: (event) => parsed.events.push(event),
    onRetry: (milliseconds) => parsed.retries.push(milliseconds),
    onComment: (text) => parsed.comments.push(text),
    onError: (error) => parsed.errors.push(error),
  });
  let start = 0;
  for (const end of splitPoints(bytes.length, split, seed)) {
    parser.feed(bytes.subarray(start, end));
    start = end;
  }
  parser.end();
  parsed.lastEventId = parser.lastEventId;
  return parsed;
}

/** Every way of feeding `input`: all must agree. */
function allFeeds(input: string, limits: object = {}): Array<[string, Parsed]> {
  const results: Array<[string, Parsed]> = [
    ['text whole', parseText(input, 'whole', 1, limits)],
    ['text one unit at a time', parseText(input, 'single', 1, limits)],
    ['bytes whole', parseBytes(input, 'whole', 1, limits)],
    ['bytes one at a time', parseBytes(input, 'single', 1, limits)],
  ];
  for (const seed of SEEDS) {
    results.push([`text random seed ${seed}`, parseText(input, 'random', seed, limits)]);
    results.push([`bytes random seed ${seed}`, parseBytes(input, 'random', seed, limits)]);
  }
  return results;
}

function expectEverywhere(input: string, expected: Partial<Parsed>, limits: object = {}): void {
  for (const [how, parsed] of allFeeds(input, limits)) {
    const view = {
      events: parsed.events,
      retries: parsed.retries,
      comments: parsed.comments,
      lastEventId: parsed.lastEventId,
      errors: parsed.errors.map((error) => error.code),
    };
    const want = {
      events: expected.events ?? [],
      retries: expected.retries ?? [],
      comments: expected.comments ?? [],
      lastEventId: expected.lastEventId ?? view.lastEventId,
      errors: (expected.errors ?? []).map((error) => error.code),
    };
    expect(view, how).toEqual(want);
  }
}

const message = (data: string, id?: string, event = 'message'): SseEvent => ({ id, event, data });

describe('line breaks: "Lines must be separated by either a CRLF pair, a single LF, or a single CR"', () => {
  it('LF', () => {
    expectEverywhere('id: 1\nevent: token\ndata: a\n\n', { events: [message('a', '1', 'token')] });
  });
  it('CR', () => {
    expectEverywhere('id: 1\revent: token\rdata: a\r\r', { events: [message('a', '1', 'token')] });
  });
  it('CRLF', () => {
    expectEverywhere('id: 1\r\nevent: token\r\ndata: a\r\n\r\n', { events: [message('a', '1', 'token')] });
  });
  it('mixed CR, LF and CRLF in one stream', () => {
    expectEverywhere('data: a\r\ndata: b\rdata: c\n\r\ndata: d\n\r', {
      events: [message('a\nb\nc'), message('d')],
    });
  });
  it('a CR at the end of one chunk and its LF at the start of the next are one line break', () => {
    const events: SseEvent[] = [];
    const parser = createSseParser({ onEvent: (event) => events.push(event) });
    parser.feed('data: a\r');
    parser.feed('\ndata: b\r');
    parser.feed('\n\r');
    parser.feed('\n');
    expect(events).toEqual([message('a\nb')]);
  });
  it('a CR at a chunk end followed by a non-LF chunk ends the line only once', () => {
    const events: SseEvent[] = [];
    const parser = createSseParser({ onEvent: (event) => events.push(event) });
    parser.feed('data: a\r');
    parser.feed('\r');
    expect(events).toEqual([message('a')]);
  });
  it('LF CR is two line breaks (a blank line)', () => {
    expectEverywhere('data: a\n\rdata: b\n\n', { events: [message('a'), message('b')] });
  });
});

describe('BOM: the stream is decoded with "UTF-8 decode", which strips one leading BOM', () => {
  it('a leading BOM is ignored (decoded text and raw bytes)', () => {
    expectEverywhere('\uFEFFdata: a\n\n', { events: [message('a')] });
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode('data: a\n\n')]);
    for (const split of ['whole', 'single', 'random'] as const) {
      expect(parseBytes(bytes, split).events).toEqual([message('a')]);
    }
  });
  it('only one BOM is stripped: a second one belongs to the field name', () => {
    expectEverywhere('\uFEFF\uFEFFdata: a\n\ndata: b\n\n', { events: [message('b')] });
  });
  it('a BOM later in the stream is not stripped', () => {
    expectEverywhere('data: a\n\n\uFEFFdata: b\n\n', { events: [message('a')] });
  });
  it('after end() a new stream may start with its own BOM', () => {
    const events: SseEvent[] = [];
    const parser = createSseParser({ onEvent: (event) => events.push(event) });
    parser.feed('\uFEFFdata: a\n\n');
    parser.end();
    parser.feed('\uFEFFdata: b\n\n');
    expect(events).toEqual([message('a'), message('b')]);
  });
});

describe('UTF-8', () => {
  it('multi-byte characters split across chunks decode intact', () => {
    const text = 'héllo 日本語 😀 𝄞 ok';
    expectEverywhere(`data: ${text}\n\n`, { events: [message(text)] });
  });
  it('invalid bytes become U+FFFD, as UTF-8 decode does', () => {
    const bytes = new Uint8Array([...encoder.encode('data: a'), 0xff, ...encoder.encode('b\n\n')]);
    expect(parseBytes(bytes, 'single').events).toEqual([message('a\uFFFDb')]);
  });
  it('a character cut short by an ASCII byte is one U+FFFD, however the bytes are split', () => {
    // E2 82 starts a three-byte character; the ASCII byte after it ends it early. Fed one byte
    // at a time, the ASCII byte must still go through the decoder that holds E2 82.
    const bytes = new Uint8Array([...encoder.encode('data: a'), 0xe2, 0x82, ...encoder.encode('b\n\n')]);
    for (const split of ['whole', 'single', 'random'] as const) {
      expect(parseBytes(bytes, split).events, split).toEqual([message('a\uFFFDb')]);
    }
  });
});

describe('comments: "If the line starts with a U+003A COLON character (:) Ignore the line."', () => {
  it('comments are reported (one leading space removed) and never dispatch', () => {
    expectEverywhere(': hello\n:\n:  two\ndata: a\n: between\n\n', {
      events: [message('a')],
      comments: ['hello', '', ' two', 'between'],
    });
  });
  it('a comment-only stream (keep-alives) dispatches nothing', () => {
    expectEverywhere(`${encodeSseComment('heartbeat')}${encodeSseComment()}`, { comments: ['heartbeat', ''] });
  });
});

describe('retry: "If the field value consists of only ASCII digits ... set the reconnection time"', () => {
  it('valid values, including 0', () => {
    expectEverywhere('retry: 1000\nretry:0\nretry: 0\n\n', { retries: [1000, 0, 0] });
  });
  it('invalid values are ignored: empty, letters, sign, decimal, extra space, no colon', () => {
    expectEverywhere('retry: \nretry:\nretry: 10a\nretry: -1\nretry: 1.5\nretry:  5\nretry\nretry: ５\n\n', {
      retries: [],
    });
  });
  it('a retry field does not dispatch or disturb an event', () => {
    expectEverywhere('data: a\nretry: 7\ndata: b\n\n', { events: [message('a\nb')], retries: [7] });
  });
});

describe('id: "If the field value does not contain U+0000 NULL, set the last event ID buffer"', () => {
  it('an id containing NUL is ignored', () => {
    expectEverywhere('id: 1\ndata: a\n\nid: 2\u0000x\ndata: b\n\n', {
      events: [message('a', '1'), message('b', '1')],
      lastEventId: '1',
    });
  });
  it('the last event id persists across events until the next id field', () => {
    expectEverywhere('id: 1\ndata: a\n\ndata: b\n\nid: 7\ndata: c\n\n', {
      events: [message('a', '1'), message('b', '1'), message('c', '7')],
      lastEventId: '7',
    });
  });
  it('an empty id (or `id` without colon) resets it to ""', () => {
    expectEverywhere('id: 1\ndata: a\n\nid\ndata: b\n\nid:\ndata: c\n\n', {
      events: [message('a', '1'), message('b', ''), message('c', '')],
      lastEventId: '',
    });
  });
  it('the last event ID string is set on dispatch even when there is no data', () => {
    expectEverywhere('id: 5\n\n', { events: [], lastEventId: '5' });
  });
  it('an id not followed by a blank line is not in effect at the end of the stream', () => {
    expectEverywhere('id: 1\ndata: a\n\nid: 2\ndata: b\n', { events: [message('a', '1')], lastEventId: '1' });
  });
  it('NUL in data is kept', () => {
    expectEverywhere('data: a\u0000b\n\n', { events: [message('a\u0000b')] });
  });
});

describe('event: "Set the event type buffer to the field value"', () => {
  it('an empty event name means "message"', () => {
    expectEverywhere('event:\ndata: a\n\nevent: \ndata: b\n\n', { events: [message('a'), message('b')] });
  });
  it('the event type is reset after each dispatch, also when nothing is dispatched', () => {
    expectEverywhere('event: x\ndata: a\n\ndata: b\n\nevent: y\n\ndata: c\n\n', {
      events: [message('a', undefined, 'x'), message('b'), message('c')],
    });
  });
});

describe('data and fields', () => {
  it('"If the data buffer is an empty string ... return": no data field, no event', () => {
    expectEverywhere('event: x\n\n\n\nid: 3\n\n', { events: [], lastEventId: '3' });
  });
  it('`data:` with an empty value dispatches an empty string; `data` without colon too', () => {
    expectEverywhere('data:\n\ndata\n\ndata\ndata\n\n', { events: [message(''), message(''), message('\n')] });
  });
  it('multi-line data joins with LF; a trailing empty data line keeps its LF', () => {
    expectEverywhere('data: a\ndata: b\ndata:\n\n', { events: [message('a\nb\n')] });
  });
  it('only one leading space of a value is removed; colons after the first stay', () => {
    expectEverywhere('data:  a\n\ndata:b\n\ndata: x: y\n\nid:: 9\ndata: z\n\n', {
      events: [message(' a'), message('b'), message('x: y'), message('z', ': 9')],
    });
  });
  it('unknown fields are ignored; names are case-sensitive and not trimmed', () => {
    expectEverywhere('foo: bar\nDATA: b\n data: c\ndata : d\ndata: a\n\n', { events: [message('a')] });
  });
  it('a final event without the blank line is not dispatched', () => {
    expectEverywhere('data: a\n\ndata: b\n', { events: [message('a')] });
    expectEverywhere('data: a\n\ndata: b', { events: [message('a')] });
    expectEverywhere('data: a\n\ndata: b\r', { events: [message('a')] });
  });
});

describe('round trip with the protocol encoder', () => {
  it('every encoder output parses back to what was encoded', () => {
    const random = createRandom(99);
    const alphabet = ['a', 'é', '日', '😀', ' ', ':', '\n', '\r\n', '\r', '"', '\\', '\u0000'];
    const expected: SseEvent[] = [];
    let stream = encodeSseRetry(2500) + encodeSseComment('hi');
    for (let index = 1; index <= 60; index += 1) {
      let data = '';
      const length = Math.floor(random() * 12);
      for (let char = 0; char < length; char += 1) data += alphabet[Math.floor(random() * alphabet.length)];
      if (index % 3 === 0) {
        const json = JSON.stringify({ token: data });
        stream += encodeSseEvent(index, 'token', json);
        expected.push({ id: String(index), event: 'token', data: json });
      } else {
        stream += encodeSseFrame({ id: index, event: 'tool-result', data });
        expected.push({ id: String(index), event: 'tool-result', data: data.replace(/\r\n|\r/g, '\n') });
      }
      if (index % 10 === 0) stream += encodeSseComment();
    }
    expectEverywhere(stream, {
      events: expected,
      retries: [2500],
      comments: ['hi', '', '', '', '', '', ''],
      lastEventId: '60',
    });
  });
});

describe('bounded buffers (on by default)', () => {
  it('a line over maxLineBytes fails with buffer_overflow, whatever the split; earlier events stay', () => {
    const input = `data: a\n\n: ${'x'.repeat(20)}\ndata: b\n\n`;
    expectEverywhere(
      input,
      { events: [message('a')], errors: [{ code: 'buffer_overflow' } as StreamwellError] },
      { maxLineBytes: 16 },
    );
  });
  it('event data over maxEventBytes fails with buffer_overflow', () => {
    const input = `data: 12345\ndata: 12345\ndata: 12345\n\ndata: late\n\n`;
    expectEverywhere(
      input,
      { events: [], errors: [{ code: 'buffer_overflow' } as StreamwellError] },
      { maxEventBytes: 15 },
    );
  });
  it('the parser stays terminated until reset(), then works again', () => {
    const events: SseEvent[] = [];
    const errors: StreamwellError[] = [];
    const parser = createSseParser({
      maxLineBytes: 8,
      onEvent: (event) => events.push(event),
      onError: (error) => errors.push(error),
    });
    parser.feed('data: 123456789');
    expect(parser.terminated).toBe(true);
    parser.feed('\n\ndata: a\n\n');
    expect(events).toEqual([]);
    expect(errors).toHaveLength(1);
    parser.reset();
    parser.feed('data: a\n\n');
    expect(events).toEqual([message('a')]);
    expect(parser.terminated).toBe(false);
  });
  it('without onError, feed throws the typed error', () => {
    const parser = createSseParser({ maxEventBytes: 4, onEvent: () => {} });
    let thrown: unknown;
    try {
      parser.feed('data: 123456\n');
    } catch (error) {
      thrown = error;
    }
    expect(isStreamwellError(thrown) && thrown.code).toBe('buffer_overflow');
  });
  it('the defaults are bounded: 2 MiB on one line overflows', () => {
    const errors: StreamwellError[] = [];
    const parser = createSseParser({ onEvent: () => {}, onError: (error) => errors.push(error) });
    const piece = 'x'.repeat(64 * 1024);
    parser.feed('data: ');
    for (let index = 0; index < 32; index += 1) parser.feed(piece);
    expect(errors.map((error) => error.code)).toEqual(['buffer_overflow']);
  });
  it('rejects a limit that is not a positive integer', () => {
    expect(() => createSseParser({ onEvent: () => {}, maxEventBytes: 0 })).toThrow(/maxEventBytes/);
    expect(() => createSseParser({ onEvent: () => {}, maxLineBytes: 1.5 })).toThrow(/maxLineBytes/);
  });
});

describe('lifecycle', () => {
  it('end() discards a pending event and line but keeps the dispatched last event id', () => {
    const events: SseEvent[] = [];
    const parser = createSseParser({ onEvent: (event) => events.push(event) });
    parser.feed('id: 4\ndata: a\n\nid: 5\ndata: partial\nda');
    parser.end();
    expect(parser.lastEventId).toBe('4');
    parser.feed('ta: b\n\n');
    // "ta: b" is an unknown field of the new stream, so nothing is dispatched.
    expect(events).toEqual([message('a', '4')]);
    parser.feed('data: c\n\n');
    expect(events.at(-1)).toEqual(message('c', '4'));
  });
  it('starts from a given last event id (reconnect) and reset() can change it', () => {
    const events: SseEvent[] = [];
    const parser = createSseParser({ lastEventId: '10', onEvent: (event) => events.push(event) });
    expect(parser.lastEventId).toBe('10');
    parser.feed('data: a\n\n');
    parser.reset({ lastEventId: '20' });
    parser.feed('data: b\n\n');
    expect(events).toEqual([message('a', '10'), message('b', '20')]);
  });
  it('a callback that calls end() stops the rest of the chunk', () => {
    const events: SseEvent[] = [];
    const parser = createSseParser({
      onEvent: (event) => {
        events.push(event);
        parser.end();
      },
    });
    parser.feed('data: a\n\ndata: b\n\n');
    expect(events).toEqual([message('a')]);
  });
});

describe('adapters', () => {
  it('createSseParserStream turns a byte stream into events', async () => {
    const bytes = encoder.encode('\uFEFFid: 1\r\ndata: 日本\r\n\r\n: c\rdata: b\r\r');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let index = 0; index < bytes.length; index += 1) controller.enqueue(bytes.subarray(index, index + 1));
        controller.close();
      },
    });
    const events: SseEvent[] = [];
    const reader = body.pipeThrough(createSseParserStream()).getReader();
    while (true) {
      const next = await reader.read();
      if (next.done) break;
      events.push(next.value);
    }
    expect(events).toEqual([message('日本', '1'), message('b', '1')]);
  });
  it('createSseParserStream errors the stream on overflow', async () => {
    const body = new ReadableStream<string>({
      start(controller) {
        controller.enqueue(`data: ${'x'.repeat(100)}\n\n`);
        controller.close();
      },
    });
    const reader = body.pipeThrough(createSseParserStream({ maxLineBytes: 10 })).getReader();
    await expect(reader.read()).rejects.toMatchObject({ code: 'buffer_overflow' });
  });
  it('parseSseStream iterates events from an async iterable and drops an unfinished last event', async () => {
    async function* chunks(): AsyncGenerator<Uint8Array> {
      yield encoder.encode('data: a\n');
      yield encoder.encode('\ndata: b\n\ndata: unfinished');
    }
    const events: SseEvent[] = [];
    for await (const event of parseSseStream(chunks())) events.push(event);
    expect(events).toEqual([message('a'), message('b')]);
  });
  it('parseSseStream releases the source when the loop breaks early', async () => {
    let cancelled = false;
    const body = new ReadableStream<string>({
      pull(controller) {
        controller.enqueue('data: x\n\n');
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const event of parseSseStream(body)) {
      expect(event.data).toBe('x');
      break;
    }
    expect(cancelled).toBe(true);
  });
});

describe('linear time', () => {
  it('a 4 MiB event fed one character at a time completes', () => {
    const size = 4 * 1024 * 1024;
    const input = `data: ${'x'.repeat(size)}\n\n`;
    let received = 0;
    const parser = createSseParser({
      maxEventBytes: 8 * 1024 * 1024,
      maxLineBytes: 8 * 1024 * 1024,
      onEvent: (event) => {
        received = event.data.length;
      },
    });
    for (let index = 0; index < input.length; index += 1) parser.feed(input[index] as string);
    expect(received).toBe(size);
  });
  it('a 4 MiB event of many data lines fed one byte at a time completes', () => {
    const line = 'data: 0123456789abcdef0123456789abcdef0123456789abcdef\r\n';
    const lines = Math.ceil((4 * 1024 * 1024) / line.length);
    const bytes = encoder.encode(`${line.repeat(lines)}\r\n`);
    let received = 0;
    const parser = createSseByteParser({
      maxEventBytes: 8 * 1024 * 1024,
      onEvent: (event) => {
        received = event.data.length;
      },
    });
    for (let index = 0; index < bytes.length; index += 1) parser.feed(bytes.subarray(index, index + 1));
    expect(received).toBe(lines * 49 - 1);
  });
  it('a whole chunk whose only CR is at its very end does not rescan per line', () => {
    // A parser that searched for the next CR from every line would do ~n²/2 character steps
    // here (tens of billions): this would time out.
    const input = `${'data: x\n'.repeat(300_000)}\n\r`;
    const events: SseEvent[] = [];
    const parser = createSseParser({ maxEventBytes: 8 * 1024 * 1024, onEvent: (event) => events.push(event) });
    parser.feed(input);
    expect(events).toHaveLength(1);
    expect(events[0]?.data.length).toBe(300_000 * 2 - 1);
  });
  it('long lines without a colon do not rescan for one', () => {
    const input = `${`x${'y'.repeat(1000)}\n`.repeat(300)}data: z\n\n`;
    expectEverywhere(input, { events: [message('z')] });
  });
});
