/**
 * A pure, push-based parser for the `text/event-stream` format.
 *
 * Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 *
 * No I/O, no timers, no DOM: feed it decoded text, get events back through callbacks. Byte
 * decoding and Web Streams glue live in `sse-stream.ts`.
 *
 * Why our own parser and not `eventsource-parser@3` (which issue 3 suggests trying first):
 * - it resets the event id after every event, while the spec keeps the last event ID buffer
 *   until the next `id` field (a reconnect then sends the wrong `Last-Event-ID`);
 * - it strips a BOM only as the three UTF-8 *bytes* read as characters, never a decoded U+FEFF;
 * - its buffer limit is off by default, and its CR handling calls `indexOf` for both line
 *   breaks on every line, which is quadratic on a chunk whose CR is far away;
 * - the benchmark (`npm run bench`) shows this one at least as fast on whole chunks.
 *
 * Performance notes (the loop below is longer than our usual function size on purpose):
 * - line ends are found with `indexOf`, and the position of the next CR and the next LF are
 *   cached per chunk, so a chunk is scanned once however its lines end (linear time);
 * - a line that has not ended yet is kept as one string that grows by `+=`: engines build a
 *   rope for that (O(1) per append) and flatten it once when the line ends, so input fed one
 *   character at a time costs linear time, not quadratic, and no array is grown and freed per
 *   line;
 * - a one-character chunk that does not end a line skips the line-break searches;
 * - `data`, `id` and `event` fields are recognised by char codes, without slicing the field name.
 *
 * @module
 */
import { StreamwellError } from '../errors/index.ts';

/** One dispatched event. */
export interface SseEvent {
  /**
   * The last event ID in effect when the event was dispatched: the value of the most recent
   * `id` field of the stream (it persists across events, as the spec says), `''` after an
   * `id` field that reset it, or undefined when no `id` field has been seen at all.
   */
  readonly id: string | undefined;
  /** The event type: the `event` field, or `message` when there was none (or it was empty). */
  readonly event: string;
  /** The data lines joined with LF. */
  readonly data: string;
}

/** Options of {@link createSseParser}. */
export interface SseParserOptions {
  /** Called for every dispatched event. */
  onEvent(event: SseEvent): void;
  /** Called with the new reconnection time for every valid `retry` field (ASCII digits only). */
  onRetry?(milliseconds: number): void;
  /** Called for every comment line, with the text after the colon (one leading space removed). */
  onComment?(text: string): void;
  /**
   * Called once when a limit is exceeded, with a `StreamwellError` of code `buffer_overflow`.
   * The parser is then terminated: it ignores input until {@link SseParser.reset}.
   * Without this callback, `feed` throws that error instead.
   */
  onError?(error: StreamwellError): void;
  /**
   * Most data one event may collect (sum of its `data` lines plus one per line), counted in
   * UTF-16 code units (a string's length; equal to bytes for ASCII, never more than the UTF-8
   * size). `Infinity` turns the limit off.
   *
   * @defaultValue 1 MiB (1048576)
   */
  maxEventBytes?: number;
  /**
   * Longest line (field name, colon and value), counted as {@link SseParserOptions.maxEventBytes}.
   * It bounds the buffer of a line that has not ended yet, also for comments and unknown fields.
   *
   * @defaultValue 1 MiB (1048576)
   */
  maxLineBytes?: number;
  /**
   * The last event ID to start from, for example when a reconnect continues a stream whose
   * events the caller already saw. Browsers keep the id across reconnects the same way.
   */
  lastEventId?: string;
}

/** A parser made by {@link createSseParser}. */
export interface SseParser {
  /**
   * Parses the next piece of the stream. Pieces may split lines, line breaks (a CR at the end
   * of one piece and its LF at the start of the next) and characters anywhere.
   *
   * @param chunk - decoded text. A leading U+FEFF of the stream is stripped, as the spec's
   *   "UTF-8 decode" does: decode with `ignoreBOM: true` (as {@link createSseByteParser} does)
   *   so that it is stripped exactly once.
   * @throws StreamwellError `buffer_overflow` when a limit is exceeded and no `onError` is set
   */
  feed(chunk: string): void;
  /**
   * Ends the stream (the connection closed). Per spec, "once the end of the file is reached,
   * any pending data must be discarded. (If the file ends in the middle of an event, before the
   * final empty line, the incomplete event is not dispatched.)" So a last event without its
   * blank line is dropped, as are a partial line and a pending `id`. The last event ID that was
   * in effect at the last dispatch is kept, and the next `feed` starts a new stream (a leading
   * BOM is stripped again), which is what a reconnect needs.
   */
  end(): void;
  /**
   * Returns the parser to its initial state, also after a buffer overflow.
   *
   * @param options - `lastEventId` to start from; defaults to the one given at creation
   */
  reset(options?: { lastEventId?: string }): void;
  /**
   * The spec's "last event ID string": updated when an event is dispatched (also an event
   * with no data), `''` when none. Send it as `Last-Event-ID` on reconnect.
   */
  readonly lastEventId: string;
  /** True after a buffer overflow, until {@link SseParser.reset}. */
  readonly terminated: boolean;
  /**
   * True when the parser is past the start of the stream and holds nothing between events: no
   * unfinished line, no data or event type of an undispatched event, no `id` waiting for its
   * dispatch, no CR whose LF may follow, and it is not terminated. A chunk of whole events then
   * means what it says on its own, which lets a caller that recognises such a chunk read it
   * without the parser (the upstream parser's one-frame fast path).
   *
   * @internal
   */
  readonly atEventBoundary: boolean;
}

/**
 * Default of {@link SseParserOptions.maxEventBytes}.
 *
 * @internal
 */
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;
/**
 * Default of {@link SseParserOptions.maxLineBytes}.
 *
 * @internal
 */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

const LF = 10;
const CR = 13;
const SPACE = 32;
const COLON = 58;
const BOM = 0xfeff;

function readLimit(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (value === Number.POSITIVE_INFINITY || (Number.isSafeInteger(value) && value > 0)) return value;
  throw new StreamwellError('invalid_config', `${name} must be a positive integer or Infinity, got ${value}`);
}

/** True when `value` is one or more ASCII digits: the spec's test for a `retry` value. */
function isAsciiDigits(value: string): boolean {
  if (value.length === 0) return false;
  for (let index = 0; index < value.length; index += 1) {
    const code = value.charCodeAt(index);
    if (code < 48 || code > 57) return false;
  }
  return true;
}

/**
 * Creates an event-stream parser.
 *
 * @param options - callbacks and limits
 * @returns the parser
 * @throws StreamwellError `invalid_config` for a limit that is not a positive integer or Infinity
 * @example
 * const parser = createSseParser({ onEvent: (event) => console.log(event.id, event.event, event.data) });
 * parser.feed('id: 1\nevent: token\ndata: {"token":"Hi"}\n\n');
 */
export function createSseParser(options: SseParserOptions): SseParser {
  const { onEvent, onRetry, onComment, onError } = options;
  const maxEvent = readLimit(options.maxEventBytes, DEFAULT_MAX_EVENT_BYTES, 'maxEventBytes');
  const maxLine = readLimit(options.maxLineBytes, DEFAULT_MAX_LINE_BYTES, 'maxLineBytes');

  // Stream state (one connection).
  let atStreamStart = true;
  let skipLeadingLf = false;
  // The start of a line whose end has not arrived yet ('' when none).
  let pending = '';
  let terminated = false;
  // Bumped by end() and reset(), so a callback that calls them stops the loop over its chunk.
  let generation = 0;

  // Event state. "When a stream is parsed, a data buffer, an event type buffer, and a last event
  // ID buffer must be associated with it." The data buffer is kept as its lines.
  let firstData = '';
  let moreData: string[] | undefined;
  let dataLines = 0;
  let dataSize = 0;
  let eventType = '';
  let idBuffer: string | undefined = options.lastEventId;
  let dispatchedId: string | undefined = options.lastEventId;

  function clearEvent(): void {
    firstData = '';
    moreData = undefined;
    dataLines = 0;
    dataSize = 0;
    eventType = '';
  }

  function overflow(what: string, limit: number): void {
    terminated = true;
    pending = '';
    clearEvent();
    const error = new StreamwellError(
      'buffer_overflow',
      `SSE ${what} exceeded the ${limit}-character limit; the parser stopped (call reset() to reuse it).`,
    );
    if (onError === undefined) throw error;
    onError(error);
  }

  /** "If the line is empty (a blank line): Dispatch the event." */
  function dispatch(): void {
    // 1. "Set the last event ID string of the event source to the value of the last event ID buffer."
    dispatchedId = idBuffer;
    // 2. "If the data buffer is an empty string, set the data buffer and the event type buffer to
    //    the empty string and return." (Empty means no data field, so `data:` alone dispatches "".)
    if (dataLines === 0) {
      eventType = '';
      return;
    }
    // 3. "If the data buffer's last character is a U+000A LINE FEED (LF) character, then remove
    //    the last character": the lines are kept apart, so joining them omits that LF.
    const data = dataLines === 1 ? firstData : (moreData as string[]).join('\n');
    // 5. "Initialize event's type attribute to "message" ... If the event type buffer has a value
    //    other than the empty string, change the type of the newly created event to equal it."
    const event = eventType === '' ? 'message' : eventType;
    clearEvent();
    onEvent({ id: idBuffer, event, data });
  }

  /** "If the field name is "data": Append the field value to the data buffer, then a LF." */
  function appendData(value: string): void {
    dataSize += value.length + 1;
    if (dataSize > maxEvent) {
      overflow('event data', maxEvent);
      return;
    }
    if (dataLines === 0) firstData = value;
    else if (dataLines === 1) moreData = [firstData, value];
    else (moreData as string[]).push(value);
    dataLines += 1;
  }

  /** The spec's "process the field" for fields without a fast path. */
  function processField(field: string, value: string): void {
    switch (field) {
      case 'event':
        // "Set the event type buffer to the field value."
        eventType = value;
        break;
      case 'data':
        appendData(value);
        break;
      case 'id':
        // "If the field value does not contain U+0000 NULL, then set the last event ID buffer to
        // the field value. Otherwise, ignore the field."
        if (value.indexOf('\0') === -1) idBuffer = value;
        break;
      case 'retry':
        // "If the field value consists of only ASCII digits, then interpret the field value as
        // an integer in base ten, and set the event stream's reconnection time to that integer.
        // Otherwise, ignore the field." An empty value is ignored (as browsers do).
        if (onRetry !== undefined && isAsciiDigits(value)) onRetry(Number(value));
        break;
      default:
      // "Otherwise: The field is ignored."
    }
  }

  /** Valid value start after the colon at `colon`: "If value starts with a U+0020 SPACE character, remove it". */
  function valueStart(text: string, colon: number, end: number): number {
    return colon + 1 < end && text.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1;
  }

  function processLine(text: string, start: number, end: number): void {
    if (start === end) {
      dispatch();
      return;
    }
    const first = text.charCodeAt(start);
    // "If the line starts with a U+003A COLON character (:): Ignore the line." (a comment)
    if (first === COLON) {
      if (onComment !== undefined) onComment(text.slice(valueStart(text, start, end), end));
      return;
    }
    const length = end - start;
    // Fast paths for `data:`, `id:` and `event:`, the fields of nearly every line.
    if (
      first === 100 &&
      length >= 5 &&
      text.charCodeAt(start + 4) === COLON &&
      text.charCodeAt(start + 1) === 97 &&
      text.charCodeAt(start + 2) === 116 &&
      text.charCodeAt(start + 3) === 97
    ) {
      appendData(text.slice(valueStart(text, start + 4, end), end));
      return;
    }
    if (first === 105 && length >= 3 && text.charCodeAt(start + 2) === COLON && text.charCodeAt(start + 1) === 100) {
      const value = text.slice(valueStart(text, start + 2, end), end);
      if (value.indexOf('\0') === -1) idBuffer = value;
      return;
    }
    if (
      first === 101 &&
      length >= 6 &&
      text.charCodeAt(start + 5) === COLON &&
      text.charCodeAt(start + 1) === 118 &&
      text.charCodeAt(start + 2) === 101 &&
      text.charCodeAt(start + 3) === 110 &&
      text.charCodeAt(start + 4) === 116
    ) {
      eventType = text.slice(valueStart(text, start + 5, end), end);
      return;
    }
    // "If the line contains a U+003A COLON character (:): Collect the characters on the line
    // before the first colon, and let field be that string. Collect the characters on the line
    // after the first colon, and let value be that string. If value starts with a U+0020 SPACE
    // character, remove it from value." The scan stops at the line end, so it stays linear.
    let colon = start + 1;
    while (colon < end && text.charCodeAt(colon) !== COLON) colon += 1;
    if (colon < end) {
      processField(text.slice(start, colon), text.slice(valueStart(text, colon, end), end));
    } else {
      // "Otherwise, the string is not empty but does not contain a U+003A COLON character (:):
      // Process the field using the whole line as the field name, and the empty string as the
      // field value."
      processField(text.slice(start, end), '');
    }
  }

  /** Keeps the unfinished end of a chunk; its line is joined once its end arrives. */
  function stash(chunk: string, position: number): void {
    const piece = position === 0 ? chunk : chunk.slice(position);
    if (pending.length + piece.length > maxLine) {
      overflow('line', maxLine);
      return;
    }
    pending += piece;
  }

  /**
   * The hot loop for text whose rest has no CR: one `indexOf` per line, the common fields
   * inline, and an event of one `data` line followed by the blank line dispatched in one step.
   *
   * @returns where the unfinished last line starts, or -1 when parsing stopped (overflow,
   *   or a callback called end() or reset())
   */
  function feedLfLines(chunk: string, start: number, current: number): number {
    let position = start;
    let nextNul = -2;
    // A line can only be too long when the rest of the chunk is: usually one check per chunk.
    const checkLines = chunk.length - position > maxLine;
    let lineEnd = chunk.indexOf('\n', position);
    while (lineEnd !== -1) {
      const length = lineEnd - position;
      if (checkLines && length > maxLine) {
        overflow('line', maxLine);
        return -1;
      }
      const first = chunk.charCodeAt(position);
      if (
        first === 100 &&
        length >= 5 &&
        chunk.charCodeAt(position + 4) === COLON &&
        chunk.charCodeAt(position + 1) === 97 &&
        chunk.charCodeAt(position + 2) === 116 &&
        chunk.charCodeAt(position + 3) === 97
      ) {
        // The line's LF bounds these look-aheads, so no length check is needed for the space.
        const data = chunk.slice(chunk.charCodeAt(position + 5) === SPACE ? position + 6 : position + 5, lineEnd);
        if (dataLines === 0 && chunk.charCodeAt(lineEnd + 1) === LF) {
          // `data: ...` then the blank line: the steps of appendData() and dispatch() in one.
          if (data.length >= maxEvent) {
            overflow('event data', maxEvent);
            return -1;
          }
          dispatchedId = idBuffer;
          const event = eventType === '' ? 'message' : eventType;
          eventType = '';
          position = lineEnd + 2;
          onEvent({ id: idBuffer, event, data });
          // A callback may have called end() or reset(): then the rest of this chunk is stale.
          if (generation !== current) return -1;
        } else {
          appendData(data);
          if (terminated) return -1;
          position = lineEnd + 1;
        }
      } else if (
        first === 101 &&
        length >= 6 &&
        chunk.charCodeAt(position + 5) === COLON &&
        chunk.charCodeAt(position + 1) === 118 &&
        chunk.charCodeAt(position + 2) === 101 &&
        chunk.charCodeAt(position + 3) === 110 &&
        chunk.charCodeAt(position + 4) === 116
      ) {
        eventType = chunk.slice(chunk.charCodeAt(position + 6) === SPACE ? position + 7 : position + 6, lineEnd);
        position = lineEnd + 1;
      } else if (
        first === 105 &&
        length >= 3 &&
        chunk.charCodeAt(position + 2) === COLON &&
        chunk.charCodeAt(position + 1) === 100
      ) {
        const from = chunk.charCodeAt(position + 3) === SPACE ? position + 4 : position + 3;
        // An id with NUL is ignored; one search per chunk tells whether any line has a NUL.
        if (nextNul !== -1 && nextNul < from) nextNul = chunk.indexOf('\0', from);
        if (nextNul === -1 || nextNul >= lineEnd) idBuffer = chunk.slice(from, lineEnd);
        position = lineEnd + 1;
      } else {
        processLine(chunk, position, lineEnd);
        if (terminated || generation !== current) return -1;
        position = lineEnd + 1;
      }
      lineEnd = chunk.indexOf('\n', position);
    }
    return position;
  }

  function feed(chunk: string): void {
    if (terminated) return;
    const length = chunk.length;
    if (length === 0) return;
    const current = generation;
    let position = 0;
    if (atStreamStart) {
      atStreamStart = false;
      // The spec decodes the stream with "UTF-8 decode", which strips one leading BOM.
      if (chunk.charCodeAt(0) === BOM) position = 1;
    }
    if (skipLeadingLf) {
      // The previous chunk ended with CR: "CRLF" is one line break even when split across chunks.
      skipLeadingLf = false;
      if (position < length && chunk.charCodeAt(position) === LF) position += 1;
    }
    if (length - position === 1) {
      // One character (a byte-by-byte sender): unless it ends a line, it only extends the
      // unfinished line, so skip the searches below.
      const code = chunk.charCodeAt(position);
      if (code !== LF && code !== CR) {
        stash(chunk, position);
        return;
      }
    }
    // Positions of the next CR and LF at or after `position`; -1 when the chunk has none left,
    // -2 before the first search of LF. Caching them is what keeps mixed line breaks linear.
    let nextCr = chunk.indexOf('\r', position);
    let nextLf = -2;
    while (position < length) {
      if (pending.length === 0 && nextCr === -1) {
        // No CR in the rest of the chunk (the usual case): the LF-only loop below is faster.
        position = feedLfLines(chunk, position, current);
        if (position === -1) return;
        if (position < length) stash(chunk, position);
        return;
      }
      if (nextLf !== -1 && nextLf < position) nextLf = chunk.indexOf('\n', position);
      if (nextCr !== -1 && nextCr < position) nextCr = chunk.indexOf('\r', position);
      let lineEnd: number;
      if (nextLf === -1) {
        if (nextCr === -1) {
          stash(chunk, position);
          return;
        }
        lineEnd = nextCr;
      } else {
        lineEnd = nextCr !== -1 && nextCr < nextLf ? nextCr : nextLf;
      }
      if (pending.length === 0) {
        if (lineEnd - position > maxLine) {
          overflow('line', maxLine);
          return;
        }
        processLine(chunk, position, lineEnd);
      } else {
        if (pending.length + lineEnd - position > maxLine) {
          overflow('line', maxLine);
          return;
        }
        const line = pending + chunk.slice(position, lineEnd);
        pending = '';
        processLine(line, 0, line.length);
      }
      if (terminated || generation !== current) return;
      // "Lines must be separated by either a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF)
      // character pair, a single U+000A LINE FEED (LF) character, or a single U+000D CARRIAGE
      // RETURN (CR) character."
      if (lineEnd === nextCr) {
        if (lineEnd + 1 === length) {
          skipLeadingLf = true;
          return;
        }
        position = chunk.charCodeAt(lineEnd + 1) === LF ? lineEnd + 2 : lineEnd + 1;
      } else {
        position = lineEnd + 1;
      }
    }
  }

  function end(): void {
    generation += 1;
    // "Once the end of the file is reached, any pending data must be discarded."
    pending = '';
    clearEvent();
    atStreamStart = true;
    skipLeadingLf = false;
    // An `id` field not yet dispatched is pending data too; the dispatched one stays in effect.
    idBuffer = dispatchedId;
  }

  function reset(resetOptions?: { lastEventId?: string }): void {
    end();
    terminated = false;
    const initial = resetOptions === undefined ? options.lastEventId : resetOptions.lastEventId;
    idBuffer = initial;
    dispatchedId = initial;
  }

  return {
    feed,
    end,
    reset,
    get lastEventId() {
      return dispatchedId ?? '';
    },
    get terminated() {
      return terminated;
    },
    get atEventBoundary() {
      return (
        !atStreamStart &&
        !skipLeadingLf &&
        !terminated &&
        pending.length === 0 &&
        dataLines === 0 &&
        eventType === '' &&
        idBuffer === dispatchedId
      );
    },
  };
}
