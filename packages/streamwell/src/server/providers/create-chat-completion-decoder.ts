/**
 * Decodes the `data:` payloads of a streamed Chat Completions response
 * (`chat.completion.chunk` objects, then `[DONE]`) into provider events.
 *
 * Wire format: https://platform.openai.com/docs/api-reference/chat/streaming. Servers that only
 * claim compatibility differ in the details, so the decoder is lenient where it is safe: a
 * missing `[DONE]` after a `finish_reason` is fine, `content: null` and empty `choices` (the
 * usage chunk) are skipped, unknown finish reasons map to `stop`, and an `{"error": …}` payload in
 * the stream (vLLM, OpenRouter) becomes an `upstream_error`.
 *
 * A general hand-written scan that pulls `delta.content` out of the text without parsing was
 * tried and measured slower than V8's `JSON.parse` on typical 230-byte chunks (1.3 µs against
 * 1.1 µs per chunk), besides being riskier, so it was dropped. What is used instead is narrower
 * (see {@link learnTemplate}): a server sends the same chunk again and again with only the
 * content changing, so once one chunk was parsed and its content's place proven, a later chunk
 * that is that chunk with other plain text in that place is read with two string comparisons
 * and a scan of the text; anything else goes through `JSON.parse`.
 *
 * @module
 */
import type { FinishReason } from '../../protocol/index.ts';
import type { ProviderEvent } from '../provider.ts';
import { isPlainJsonText } from '../run-log.ts';
import { createUpstreamError } from './create-upstream-error.ts';

/**
 * Decoder state for one response.
 *
 * @internal
 */
export interface ChatCompletionDecoder {
  /**
   * Handles one SSE `data` payload and appends the events it produces to `out`.
   *
   * @param payload - the event's data
   * @param out - receives `text`, `tool-call` and `finish` events
   * @returns true when the stream is complete (`[DONE]`)
   * @throws StreamwellError `upstream_error` for an error payload or a chunk that is not JSON
   */
  push(payload: string, out: ProviderEvent[]): boolean;
  /**
   * Called when the body ended. Appends the `finish` event if `[DONE]` never came but a
   * `finish_reason` did.
   *
   * @throws StreamwellError `upstream_error` when the stream ended before the reply finished
   */
  end(out: ProviderEvent[]): void;
  /**
   * Reads one upstream read that is exactly one SSE event, `data: <payload>` and the blank line,
   * whose payload is a chunk of the learned template (see {@link learnTemplate}) with plain
   * ASCII text as its content, straight from its bytes: the events {@link ChatCompletionDecoder.push}
   * would append for that payload, without decoding the read or parsing its SSE. The caller
   * must know that its SSE parser sits between events (`SseParser.atEventBoundary`) and
   * that the frame is within its line and event limits.
   *
   * @param bytes - one upstream read
   * @param out - receives the `text` event
   * @returns true when the read was such a frame (and was consumed); false to parse it as usual
   */
  pushFrame(bytes: Buffer, out: ProviderEvent[]): boolean;
  /** True once `[DONE]` arrived or the finish event was emitted. */
  readonly finished: boolean;
}

interface PartialToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** The subset of a `chat.completion.chunk` the decoder reads. */
interface ChunkShape {
  choices?: Array<{
    delta?: {
      content?: string | null;
      tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: string } }>;
    };
    finish_reason?: string | null;
  }>;
  error?: { message?: string } | string;
}

/**
 * Maps a Chat Completions `finish_reason` to the protocol's.
 *
 * @param reason - `stop`, `length`, `tool_calls`, `function_call`, `content_filter`, or a server's own
 * @returns the protocol finish reason; unknown ones are `stop`
 *
 * @internal
 */
export function mapChatFinishReason(reason: string): FinishReason {
  switch (reason) {
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'content_filter':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/**
 * Creates a decoder for one streamed Chat Completions response.
 *
 * @param target - `POST <url>`, for error messages
 * @param apiKey - the key in use, scrubbed from upstream messages (an error event may echo it)
 * @returns the decoder
 *
 * @internal
 */
export function createChatCompletionDecoder(target: string, apiKey?: string): ChatCompletionDecoder {
  let finishReason: FinishReason | undefined;
  let finished = false;
  let toolCalls: PartialToolCall[] | undefined;
  let template: ChunkTemplate | undefined;
  let frame: TemplateFrame | undefined;
  let learning = TEMPLATE_ATTEMPTS;

  const flushToolCalls = (out: ProviderEvent[]): void => {
    if (toolCalls === undefined) return;
    for (const call of toolCalls) {
      if (call !== undefined)
        out.push({ type: 'tool-call', callId: call.id, name: call.name, arguments: call.arguments });
    }
    toolCalls = undefined;
  };

  const finish = (out: ProviderEvent[], reason: FinishReason): void => {
    flushToolCalls(out);
    out.push({ type: 'finish', finishReason: reason });
    finished = true;
    decoder.finished = true;
  };

  const collectToolCalls = (deltas: NonNullable<NonNullable<ChunkShape['choices']>[number]['delta']>['tool_calls']) => {
    if (deltas === undefined) return;
    toolCalls ??= [];
    for (const delta of deltas) {
      const index = delta.index ?? 0;
      let call = toolCalls[index];
      if (call === undefined) {
        call = { id: delta.id ?? `call_${index}`, name: '', arguments: '' };
        toolCalls[index] = call;
      } else if (delta.id !== undefined && delta.id !== '') {
        call.id = delta.id;
      }
      if (delta.function?.name) call.name += delta.function.name;
      if (delta.function?.arguments) call.arguments += delta.function.arguments;
    }
  };

  // `finished` is a data property, not a getter: an object literal with a getter is kept in
  // dictionary mode, where every property read of the decoder (several per upstream read) is a
  // generic lookup.
  const decoder: { -readonly [Key in keyof ChatCompletionDecoder]: ChatCompletionDecoder[Key] } = {
    push(payload, out) {
      if (finished) return true;
      // "data: [DONE]" ends the stream. Some servers pad it with whitespace.
      if (payload.length <= 8 && payload.trim() === '[DONE]') {
        finish(out, finishReason ?? 'stop');
        return true;
      }
      if (template !== undefined) {
        const { head, tail } = template;
        if (
          payload.length > head.length + tail.length &&
          // A slice compared to the head costs half of `startsWith` (measured on a 160-char head).
          payload.slice(0, head.length) === head &&
          payload.endsWith(tail)
        ) {
          const text = payload.slice(head.length, payload.length - tail.length);
          // The same chunk with other plain text as its content: what JSON.parse would give.
          if (isPlainJsonText(text)) {
            out.push({ type: 'text', text });
            return false;
          }
        }
      }
      let chunk: ChunkShape;
      try {
        chunk = JSON.parse(payload) as ChunkShape;
      } catch (error) {
        throw createUpstreamError({
          target,
          upstreamMessage: 'the stream carried a chunk that is not JSON',
          cause: error,
        });
      }
      if (chunk.error !== undefined) {
        const upstreamMessage =
          typeof chunk.error === 'string' ? chunk.error : (chunk.error.message ?? 'error in stream');
        throw createUpstreamError({ target, upstreamMessage, apiKey });
      }
      const choice = chunk.choices?.[0];
      if (choice === undefined) return false;
      const delta = choice.delta;
      if (delta !== undefined) {
        const content = delta.content;
        if (typeof content === 'string' && content.length > 0) {
          out.push({ type: 'text', text: content });
          if (learning > 0 && template === undefined) {
            learning -= 1;
            template = learnTemplate(payload, content);
            if (template !== undefined) frame = templateFrame(template);
          }
        }
        if (delta.tool_calls !== undefined) collectToolCalls(delta.tool_calls);
      }
      if (typeof choice.finish_reason === 'string' && choice.finish_reason !== '') {
        // Kept until `[DONE]`: a usage chunk may still follow.
        finishReason = mapChatFinishReason(choice.finish_reason);
        flushToolCalls(out);
      }
      return false;
    },
    end(out) {
      if (finished) return;
      if (finishReason === undefined) {
        throw createUpstreamError({ target, upstreamMessage: 'the stream ended before the reply finished' });
      }
      finish(out, finishReason);
    },
    pushFrame(bytes, out) {
      if (frame === undefined || finished) return false;
      const text = readFrameText(frame, bytes);
      if (text === undefined) return false;
      out.push({ type: 'text', text });
      return true;
    },
    finished: false,
  };
  return decoder;
}

/**
 * A templated chunk sent as one SSE event, around its content: `data: ` and the head before it,
 * the tail and the blank line after it.
 */
interface TemplateFrame {
  readonly prefix: string;
  readonly suffix: string;
}

/**
 * The frame of a template whose head and tail are printable ASCII (so that each character is its
 * own byte, and neither holds a line break); undefined otherwise (then frames are parsed as usual).
 */
function templateFrame(template: ChunkTemplate): TemplateFrame | undefined {
  if (!isPrintableAscii(template.head) || !isPrintableAscii(template.tail)) return undefined;
  return { prefix: `data: ${template.head}`, suffix: `${template.tail}\n\n` };
}

function isPrintableAscii(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code > 0x7e) return false;
  }
  return true;
}

/**
 * The content of a read that is `prefix`, then one or more bytes of plain ASCII text, then
 * `suffix`; undefined for any other read. Such a read decodes to one line, `data: ` and
 * `head + text + tail`, then the blank line: to an SSE parser between events, one `message`
 * event with that data, which {@link ChatCompletionDecoder.push} reads by the template as
 * `text` (plain text needs no JSON escaping, and ASCII bytes are their own characters; a byte
 * below 0x20 would be a line break or need escaping, and quote and backslash are JSON's).
 *
 * The read is taken as Latin-1 text, one character per byte, and compared as strings: that
 * measured half the instructions of comparing its bytes in a loop (callgrind, 2,650 against
 * 4,917 per read of the benchmark's 230-byte chunk), and the text is then a slice of it. A byte
 * of 0x80 or more becomes a character above 0x7e, which the text check refuses, so no
 * non-ASCII read is ever misread.
 */
function readFrameText(frame: TemplateFrame, bytes: Buffer): string | undefined {
  const { prefix, suffix } = frame;
  const length = bytes.length;
  const textEnd = length - suffix.length;
  if (textEnd <= prefix.length) return undefined;
  const read = bytes.toString('latin1', 0, length);
  // The tail first: it holds the bytes that differ between a text chunk and the finish chunk.
  if (!read.endsWith(suffix) || read.slice(0, prefix.length) !== prefix) return undefined;
  for (let index = prefix.length; index < textEnd; index += 1) {
    const code = read.charCodeAt(index);
    if (code < 0x20 || code > 0x7e || code === 0x22 || code === 0x5c) return undefined;
  }
  return read.slice(prefix.length, textEnd);
}

/** A chunk split around its content: a later chunk `head + text + tail` has content `text`. */
interface ChunkTemplate {
  readonly head: string;
  readonly tail: string;
}

/** Chunks a decoder tries to learn a template from before it gives up (a server whose chunks all differ). */
const TEMPLATE_ATTEMPTS = 4;

/** Where a text chunk's content starts in the Chat Completions chunks of OpenAI and most servers. */
const CONTENT_MARK = '"delta":{"content":"';

/**
 * Splits a chunk that `JSON.parse` read, with `content` as its text, around that text, when it is
 * safe to read later chunks by the split: the content was written plainly right after the only
 * {@link CONTENT_MARK}, and a probe (the chunk with other plain text there) parses to that text
 * as `choices[0].delta.content` and to nothing else the decoder acts on (no `error`, no tool
 * call, no finish reason). Replacing the characters of a JSON string by other characters that
 * need no escaping leaves every other token of the document as it was, so every chunk of the
 * same head and tail then decodes as the probe did, with its own text.
 *
 * @returns the template, or undefined when this chunk does not allow one
 */
function learnTemplate(payload: string, content: string): ChunkTemplate | undefined {
  const mark = payload.indexOf(CONTENT_MARK);
  if (mark < 0 || payload.indexOf(CONTENT_MARK, mark + 1) >= 0 || !isPlainJsonText(content)) return undefined;
  const start = mark + CONTENT_MARK.length;
  const end = start + content.length;
  if (payload.slice(start, end) !== content || payload.charCodeAt(end) !== 0x22) return undefined;
  const head = payload.slice(0, start);
  const tail = payload.slice(end);
  const probeText = `${content}~`;
  let probe: ChunkShape;
  try {
    probe = JSON.parse(head + probeText + tail) as ChunkShape;
  } catch {
    return undefined;
  }
  const choice = probe.choices?.[0];
  const delta = choice?.delta;
  if (
    probe.error !== undefined ||
    delta?.content !== probeText ||
    delta.tool_calls !== undefined ||
    (choice?.finish_reason !== undefined && choice.finish_reason !== null && choice.finish_reason !== '')
  ) {
    return undefined;
  }
  return { head, tail };
}

/**
 * Decodes a server's answer to `stream: true` that came as one whole `chat.completion` JSON
 * (some servers ignore the flag): the whole text as one token, then the finish.
 *
 * @param text - the response body
 * @param contentType - its `Content-Type`
 * @param target - `POST <url>`, for error messages
 * @param apiKey - the key in use, scrubbed from upstream messages
 * @param out - receives the `text` and `finish` events
 * @throws StreamwellError `upstream_error` when the body is not JSON
 *
 * @internal
 */
export function decodeWholeCompletion(
  text: string,
  contentType: string,
  target: string,
  apiKey: string | undefined,
  out: ProviderEvent[],
): void {
  if (!contentType.includes('json')) {
    throw createUpstreamError({
      target,
      upstreamMessage: `expected text/event-stream, got "${contentType || 'no content type'}"`,
    });
  }
  let completion: { choices?: Array<{ message?: { content?: string | null }; finish_reason?: string }> };
  try {
    completion = JSON.parse(text) as typeof completion;
  } catch (error) {
    throw createUpstreamError({ target, upstreamMessage: 'the response is not JSON', cause: error });
  }
  const choice = completion.choices?.[0];
  const decoder = createChatCompletionDecoder(target, apiKey);
  decoder.push(
    JSON.stringify({
      choices: [{ delta: { content: choice?.message?.content ?? '' }, finish_reason: choice?.finish_reason ?? 'stop' }],
    }),
    out,
  );
  decoder.end(out);
}
