/**
 * A run's event log: every event it emitted, in id order, for replay to a reconnecting client.
 *
 * Most events are tokens, and a token's JSON (`{"token":"..."}`) is a pure function of its
 * text, which the run keeps anyway for its final answer. So the log keeps a token as its text
 * alone and rebuilds the JSON when a reconnect replays it; other events keep their JSON. Per
 * live token that drops a record object and a JSON string, the objects that survived every
 * young-generation collection until the run ended (heap profile of the resume benchmark: they
 * set how long each scavenge took), and it makes the answer's text and the replay log one copy.
 *
 * When the run ends, {@link RunLog.pack} joins the pieces: the tokens into the run's text, the
 * other events into one JSON string, with typed arrays of where each piece ends. A retained
 * 100-token run is then a handful of heap objects instead of ~300.
 *
 * @module
 */
import { STREAM_EVENT_NAMES, type StreamEventName } from '../protocol/index.ts';

/** One event as the run keeps it: id, name and the data as JSON text (one line). */
export interface RunEvent {
  readonly id: number;
  readonly event: StreamEventName;
  readonly json: string;
}

const NAME_INDEX = new Map<StreamEventName, number>(STREAM_EVENT_NAMES.map((name, index) => [name, index]));
const TOKEN = NAME_INDEX.get('token') as number;

/**
 * The token event's JSON for `text`: what {@link RunLog} rebuilds on replay.
 *
 * @internal
 */
export function tokenJson(text: string): string {
  // Most tokens need no escaping: then the JSON is the text between fixed pieces, without the
  // object and the serializer's walk that `JSON.stringify` costs per token.
  return isPlainJsonText(text) ? `{"token":"${text}"}` : JSON.stringify({ token: text });
}

/**
 * True when `text` is written as-is inside a JSON string: no quote, backslash, control character
 * or surrogate (`JSON.stringify` escapes lone surrogates; paired ones are left out too, to keep
 * the test to one range). Then `JSON.stringify(text)` is `"${text}"`, and `"${text}"` parses back
 * to `text`.
 *
 * @param text - any string
 * @returns whether it needs no escaping
 *
 * @internal
 */
export function isPlainJsonText(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)) return false;
  }
  return true;
}

/** Bits of a packed event entry that hold its name's index (there are fewer than 32 names). */
const NAME_BITS = 5;
const NAME_MASK = (1 << NAME_BITS) - 1;
if (STREAM_EVENT_NAMES.length > NAME_MASK + 1) throw new Error('RunLog: more event names than NAME_BITS can hold');

/**
 * The packed form, once nothing more can be appended. One typed array holds everything that is
 * not text: each typed array costs ~150 bytes of headers before its first element, which for a
 * short run is more than the elements.
 */
interface Packed {
  /** Every token's text, joined: the run's answer. */
  readonly text: string;
  /** Every other event's JSON, joined. */
  readonly json: string;
  readonly events: number;
  readonly tokens: number;
  /**
   * `events` entries (`ref << NAME_BITS | name`: the name's index in `STREAM_EVENT_NAMES` and the
   * event's index among the tokens or among the others), then the end offset of each token in
   * `text`, then the end offset of each other event in `json`.
   */
  readonly layout: Uint32Array;
}

/** An event's entry: its index among the tokens or among the others, and its name's index. */
function entry(ref: number, name: number): number {
  return (ref << NAME_BITS) | name;
}

/**
 * The log of one run. Ids are consecutive from 1: the event at index `i` has id `i + 1`.
 * Not shared: the run owns it.
 *
 * @internal
 */
export class RunLog {
  // While live: plain arrays (appending is the hot path); `#packed` once the run has ended.
  // `#entries` holds one {@link entry} per event, the same encoding as the packed layout.
  #entries: number[] = [];
  #tokens: string[] = [];
  #others: string[] = [];
  #packed: Packed | undefined;
  /** {@link RunLog.text} as of its last call while live, and how many tokens it holds. */
  #text = '';
  #textTokens = 0;

  /** Number of events. */
  get length(): number {
    return this.#packed?.events ?? this.#entries.length;
  }

  /**
   * Appends a token. Its id is the new {@link RunLog.length}.
   *
   * @param text - the token's text (its JSON is {@link tokenJson} of it)
   */
  appendToken(text: string): void {
    if (this.#packed !== undefined) throw new Error('RunLog: append after pack');
    this.#entries.push(entry(this.#tokens.length, TOKEN));
    this.#tokens.push(text);
  }

  /**
   * Appends any other event. Its id is the new {@link RunLog.length}.
   *
   * @param event - the event name (not `token`: use {@link RunLog.appendToken})
   * @param json - its data as JSON text
   */
  appendEvent(event: StreamEventName, json: string): void {
    if (this.#packed !== undefined) throw new Error('RunLog: append after pack');
    const name = NAME_INDEX.get(event);
    if (name === undefined || name === TOKEN) throw new Error(`RunLog: not an event for appendEvent: ${event}`);
    this.#entries.push(entry(this.#others.length, name));
    this.#others.push(json);
  }

  /** Every token's text so far, joined: the partial or final answer. */
  text(): string {
    if (this.#packed !== undefined) return this.#packed.text;
    const tokens = this.#tokens;
    const from = this.#textTokens;
    if (from < tokens.length) {
      // Only the tokens since the last call are joined: the text is asked for at every
      // checkpoint (every 50 tokens), and joining every token each time was quadratic in a
      // long reply (a 2,000-token reply: 40 joins, 41,000 pieces). The `+` makes a rope, which
      // its reader (the database write, at most once a second) flattens once.
      this.#text = from === 0 ? tokens.join('') : this.#text + tokens.slice(from).join('');
      this.#textTokens = tokens.length;
    }
    return this.#text;
  }

  /**
   * The events with an id greater than `after`, in order.
   *
   * @param after - a cursor; undefined (or 0) means from the start
   * @returns fresh records (the log keeps none)
   */
  after(after: number | undefined): RunEvent[] {
    const packed = this.#packed;
    const count = this.length;
    const events: RunEvent[] = [];
    for (let index = Math.max(0, after ?? 0); index < count; index += 1) {
      const value = (packed === undefined ? this.#entries[index] : packed.layout[index]) as number;
      const name = value & NAME_MASK;
      const ref = value >>> NAME_BITS;
      const piece = packed === undefined ? this.#livePiece(name, ref) : packedPiece(packed, name, ref);
      events.push({
        id: index + 1,
        event: STREAM_EVENT_NAMES[name] as StreamEventName,
        json: name === TOKEN ? tokenJson(piece) : piece,
      });
    }
    return events;
  }

  #livePiece(name: number, ref: number): string {
    return (name === TOKEN ? this.#tokens[ref] : this.#others[ref]) as string;
  }

  /** Packs the log for retention; nothing can be appended afterwards. Idempotent. */
  pack(): void {
    if (this.#packed !== undefined) return;
    const count = this.#entries.length;
    const tokens = this.#tokens.length;
    const layout = new Uint32Array(count + tokens + this.#others.length);
    layout.set(this.#entries);
    writeEnds(this.#tokens, layout, count);
    writeEnds(this.#others, layout, count + tokens);
    // `join` builds flat strings (`+=` would build a rope of cons strings).
    this.#setPacked({ text: this.#tokens.join(''), json: this.#others.join(''), events: count, tokens, layout });
  }

  /** Drops the events (the run left retention); {@link RunLog.text} stays for the run's holders. */
  clear(): void {
    this.#setPacked({ text: this.text(), json: '', events: 0, tokens: 0, layout: new Uint32Array(0) });
  }

  #setPacked(packed: Packed): void {
    this.#packed = packed;
    this.#text = '';
    this.#textTokens = 0;
    this.#entries = [];
    this.#tokens = [];
    this.#others = [];
  }
}

/** The text of event piece `ref` (a token's text, or another event's JSON) in a packed log. */
function packedPiece(packed: Packed, name: number, ref: number): string {
  const isToken = name === TOKEN;
  // Where this kind's end offsets start in the layout.
  const base = isToken ? packed.events : packed.events + packed.tokens;
  const from = ref === 0 ? 0 : (packed.layout[base + ref - 1] as number);
  return (isToken ? packed.text : packed.json).slice(from, packed.layout[base + ref]);
}

/** Writes the end offset of each piece into `layout` from `at` on. */
function writeEnds(pieces: readonly string[], layout: Uint32Array, at: number): void {
  let end = 0;
  for (let index = 0; index < pieces.length; index += 1) {
    end += (pieces[index] as string).length;
    layout[at + index] = end;
  }
}
