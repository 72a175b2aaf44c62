/**
 * Adapters around the pure {@link createSseParser}: bytes in (a streaming UTF-8 decoder), and
 * Web Streams / async iteration.
 *
 * Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 * ("Streams must be decoded using the UTF-8 decode algorithm.")
 *
 * @module
 */
import { StreamwellError } from '../errors/index.ts';
import { createSseParser, type SseEvent, type SseParser, type SseParserOptions } from './sse-parser.ts';

/** A parser that takes bytes (or already decoded text) as they come off the wire. */
export interface SseByteParser extends Omit<SseParser, 'feed'> {
  /**
   * Decodes and parses the next chunk. A multi-byte UTF-8 character split across chunks is
   * decoded once its last byte arrives.
   *
   * @param chunk - bytes, or text (which is passed to the parser as is)
   */
  feed(chunk: Uint8Array | string): void;
}

/** For whole chunks (nothing held from before, ending on an ASCII byte); BOM kept, as below. */
const ONE_SHOT_DECODER = new TextDecoder('utf-8', { ignoreBOM: true });

/** Chunks up to this many bytes are tried as ASCII in JS before a `TextDecoder` call. */
const SMALL_CHUNK = 16;

/**
 * Decodes a short all-ASCII chunk without `TextDecoder`: for a byte or a few, the cost of a
 * `decode()` call is mostly fixed, and it dominated a sender that writes one byte at a time.
 * ASCII bytes decode to the same code units in UTF-8, so the text is identical.
 *
 * @returns the text, or undefined when a byte is not ASCII (then the decoder must run)
 */
function asciiText(chunk: Uint8Array, length: number): string | undefined {
  if (length === 1) {
    const byte = chunk[0] as number;
    return byte < 0x80 ? String.fromCharCode(byte) : undefined;
  }
  let text = '';
  for (let index = 0; index < length; index += 1) {
    const byte = chunk[index] as number;
    if (byte >= 0x80) return undefined;
    text += String.fromCharCode(byte);
  }
  return text;
}

/**
 * Creates a parser for raw bytes: a streaming `TextDecoder` in front of {@link createSseParser}.
 *
 * The decoder keeps a leading BOM (`ignoreBOM: true`) so that the parser strips exactly one, as
 * the spec's "UTF-8 decode" does (a default `TextDecoder` would strip one and the parser a
 * second). Invalid bytes become U+FFFD, as in the spec.
 *
 * @param options - as for {@link createSseParser}
 * @returns the parser
 */
export function createSseByteParser(options: SseParserOptions): SseByteParser {
  const parser = createSseParser(options);
  // The streaming decoder is made on first need: most streams never split a character, and a
  // server opens one parser per upstream request.
  let decoder: TextDecoder | undefined;
  // True when the streaming decoder may hold the start of a character from the last chunk.
  let mayHoldPartial = false;
  return {
    feed(chunk) {
      if (typeof chunk === 'string') {
        parser.feed(chunk);
        return;
      }
      const length = chunk.byteLength;
      if (length === 0) return;
      // Nothing held from before and a few ASCII bytes (a byte-by-byte sender): no decoder call.
      if (length <= SMALL_CHUNK && !mayHoldPartial) {
        const text = asciiText(chunk, length);
        if (text !== undefined) {
          parser.feed(text);
          return;
        }
      }
      // Fast path: a chunk that ends with an ASCII byte (SSE chunks nearly always end with LF)
      // cannot end inside a character, so when nothing is held from before, a one-shot decode
      // gives the same text as the streaming one, and costs less.
      const endsClean = (chunk[length - 1] as number) < 0x80;
      if (endsClean && !mayHoldPartial) {
        // A one-shot decode keeps no state, so every parser can share one decoder for it.
        parser.feed(ONE_SHOT_DECODER.decode(chunk));
        return;
      }
      mayHoldPartial = !endsClean;
      decoder ??= new TextDecoder('utf-8', { ignoreBOM: true });
      parser.feed(decoder.decode(chunk, { stream: true }));
    },
    end() {
      mayHoldPartial = false;
      // Flush a dangling partial character (it becomes U+FFFD) before the parser discards the
      // unfinished line it belongs to.
      const tail = decoder?.decode() ?? '';
      if (tail.length > 0) parser.feed(tail);
      parser.end();
    },
    reset(resetOptions) {
      decoder = undefined;
      mayHoldPartial = false;
      parser.reset(resetOptions);
    },
    get lastEventId() {
      return parser.lastEventId;
    },
    get terminated() {
      return parser.terminated;
    },
    get atEventBoundary() {
      // A character split at the end of the last chunk is part of the next one's first line.
      return !mayHoldPartial && parser.atEventBoundary;
    },
  };
}

/** Options of {@link createSseParserStream} and {@link parseSseStream}. */
export type SseStreamOptions = Omit<SseParserOptions, 'onEvent' | 'onError'>;

/**
 * A `TransformStream` from bytes (or text) to events. A buffer overflow errors the stream.
 *
 * @param options - limits and the optional `onRetry` / `onComment` callbacks
 * @returns the transform stream
 * @example
 * const events = response.body.pipeThrough(createSseParserStream());
 */
export function createSseParserStream(options: SseStreamOptions = {}): TransformStream<Uint8Array | string, SseEvent> {
  let parser: SseByteParser | undefined;
  return new TransformStream<Uint8Array | string, SseEvent>({
    start(controller) {
      parser = createSseByteParser({
        ...options,
        onEvent: (event) => controller.enqueue(event),
        onError: (error) => controller.error(error),
      });
    },
    transform(chunk) {
      parser?.feed(chunk);
    },
    flush() {
      parser?.end();
    },
  });
}

/** Anything a body can be read from: a `ReadableStream` or an async iterable of chunks. */
export type SseSource = ReadableStream<Uint8Array | string> | AsyncIterable<Uint8Array | string>;

/**
 * Reads a whole event stream as an async iterable of events. Breaking out of the loop releases
 * (cancels) the source.
 *
 * @param source - a response body or any async iterable of chunks
 * @param options - limits, callbacks and an optional `signal` that stops the iteration
 * @returns the events in order
 * @throws StreamwellError `buffer_overflow` when a limit is exceeded; `aborted` when `signal` aborts
 * @example
 * for await (const event of parseSseStream(response.body)) console.log(event.data);
 */
export async function* parseSseStream(
  source: SseSource,
  options: SseStreamOptions & { signal?: AbortSignal } = {},
): AsyncGenerator<SseEvent, void, undefined> {
  const { signal, ...parserOptions } = options;
  const queue: SseEvent[] = [];
  let failure: StreamwellError | undefined;
  const parser = createSseByteParser({
    ...parserOptions,
    onEvent: (event) => queue.push(event),
    onError: (error) => {
      failure = error;
    },
  });
  const iterator = toAsyncIterator(source);
  let finished = false;
  try {
    while (true) {
      if (signal?.aborted)
        throw new StreamwellError('aborted', 'The event stream was aborted.', { cause: signal.reason });
      const next = await iterator.next();
      if (next.done === true) {
        finished = true;
        parser.end();
      } else {
        parser.feed(next.value);
      }
      // Events parsed from this chunk go out before any error it caused, in stream order.
      for (let index = 0; index < queue.length; index += 1) yield queue[index] as SseEvent;
      queue.length = 0;
      if (failure !== undefined) throw failure;
      if (finished) return;
    }
  } finally {
    if (!finished) await iterator.return?.();
  }
}

function toAsyncIterator(source: SseSource): AsyncIterator<Uint8Array | string> {
  if (typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    return (source as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
  }
  // Older runtimes (and some DOM typings) lack async iteration on ReadableStream.
  const reader = (source as ReadableStream<Uint8Array | string>).getReader();
  return {
    next: () => reader.read() as Promise<IteratorResult<Uint8Array | string>>,
    return: async () => {
      await reader.cancel();
      reader.releaseLock();
      return { done: true, value: undefined };
    },
  };
}
