/**
 * The upstream parser's one-frame fast path (a read that is exactly one templated `data:` event
 * is read from its bytes) must give exactly what the SSE parser and the decoder give: for any
 * stream of templated and other chunks, `id`/`event`/comment lines, non-ASCII and escaped text,
 * `[DONE]`, cut into reads at frame boundaries (where the fast path applies) and anywhere else,
 * the events (and any error) equal those of the same stream fed as one decoded string, which
 * never takes the fast path.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ProviderEvent } from '../provider.ts';
import { createChatCompletionDecoder } from './create-chat-completion-decoder.ts';
import { createUpstreamParser } from './create-upstream-parser.ts';

const TARGET = 'POST http://127.0.0.1:1/v1/chat/completions';
const HEAD = '{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":';

/** A Chat Completions chunk with `content` as its text (JSON-escaped as a server would). */
function textChunk(content: string): string {
  return `${HEAD}${JSON.stringify(content)}},"finish_reason":null}]}`;
}

interface Outcome {
  readonly events: ProviderEvent[];
  readonly error: string | undefined;
  /** Reads taken by the fast path. */
  readonly fast: number;
}

function run(reads: readonly (Uint8Array | string)[], maxEventBytes: number): Outcome {
  const decoder = createChatCompletionDecoder(TARGET);
  let fast = 0;
  const pushFrame = decoder.pushFrame.bind(decoder);
  decoder.pushFrame = (bytes, out) => {
    const taken = pushFrame(bytes, out);
    if (taken) fast += 1;
    return taken;
  };
  const events: ProviderEvent[] = [];
  const parser = createUpstreamParser({ target: TARGET, apiKey: undefined, maxEventBytes }, decoder, () => events);
  try {
    for (const read of reads) parser.feed(read);
    if (!decoder.finished) decoder.end(events);
  } catch (error) {
    return { events, error: (error as { code?: string }).code ?? String(error), fast };
  }
  return { events, error: undefined, fast };
}

/** Pieces of an upstream body; `text` pieces are whole templated frames. */
const piece = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .oneof(fc.string({ maxLength: 6 }), fc.constantFrom('a"b', 'c\\d', 'é', '😀', '\u0000', 'x\u007f', ' ~1:2~'))
      .map((content) => `data: ${textChunk(content)}\n\n`),
  },
  { weight: 1, arbitrary: fc.constantFrom('id: 7\n', 'id:\n', 'event: x\n', ': keep-alive\n', 'retry: 5\n', '\n') },
  { weight: 1, arbitrary: fc.constantFrom('data: [DONE]\n\n', 'event: error\ndata: {"error":"boom"}\n\n') },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map((text) => `data: ${text}\n`) },
  { weight: 1, arbitrary: fc.constantFrom('\r\n', '\r', 'data: ', '\ufeff') },
);

describe('createUpstreamParser', () => {
  it('reads a templated one-event read from its bytes, as the full parser reads it', () => {
    const reads = ['x', 'é', 'ab cd', 'e"f', 'g'].map((content) => Buffer.from(`data: ${textChunk(content)}\n\n`));
    const outcome = run(reads, 1024 * 1024);
    expect(outcome.events).toEqual(['x', 'é', 'ab cd', 'e"f', 'g'].map((text) => ({ type: 'text', text })));
    // The first chunk teaches the template; then only the non-ASCII and escaped ones are parsed.
    expect(outcome.fast).toBe(2);
  });

  it('leaves a frame the parser would refuse (over the event limit) to the parser', () => {
    // The line `data: <chunk>` of 'ab' is exactly at the limit (it is the event limit too); one
    // more character is over it.
    const limit = `data: ${textChunk('ab')}`.length;
    const reads = ['a', 'ab', 'abc'].map((content) => Buffer.from(`data: ${textChunk(content)}\n\n`));
    const outcome = run(reads, limit);
    expect(outcome.events).toEqual([
      { type: 'text', text: 'a' },
      { type: 'text', text: 'ab' },
    ]);
    expect(outcome.fast).toBe(1);
    expect(outcome.error).toBe('buffer_overflow');
  });

  it('gives what the full parser gives for any stream and any reads', () => {
    let fastTotal = 0;
    fc.assert(
      fc.property(
        fc.array(piece, { minLength: 1, maxLength: 24 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        fc.constantFrom(1024 * 1024, 160, 150),
        (pieces, cuts, atBoundaries, maxEventBytes) => {
          const bytes = Buffer.from(pieces.join(''));
          let reads: Buffer[];
          if (atBoundaries) {
            reads = pieces.map((text) => Buffer.from(text));
          } else {
            const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
            reads = [];
            let from = 0;
            for (const point of [...points, bytes.length]) {
              reads.push(bytes.subarray(from, point));
              from = point;
            }
          }
          const expected = run([new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes)], maxEventBytes);
          const actual = run(reads, maxEventBytes);
          fastTotal += actual.fast;
          expect(actual.events).toEqual(expected.events);
          expect(actual.error).toBe(expected.error);
        },
      ),
      { numRuns: 400 },
    );
    // The property is only worth something if the fast path ran.
    expect(fastTotal).toBeGreaterThan(20);
  });
});
