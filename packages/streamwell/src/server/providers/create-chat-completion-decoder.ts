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
 * Every payload goes through `JSON.parse`. A hand-written scan that pulls `delta.content` out of
 * the text without parsing was tried and measured slower than V8's `JSON.parse` on typical
 * 230-byte chunks (1.3 µs against 1.1 µs per chunk), besides being riskier, so it was dropped.
 *
 * @module
 */
import type { FinishReason } from '../../protocol/index.ts';
import type { ProviderEvent } from '../provider.ts';
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

  return {
    push(payload, out) {
      if (finished) return true;
      // "data: [DONE]" ends the stream. Some servers pad it with whitespace.
      if (payload.length <= 8 && payload.trim() === '[DONE]') {
        finish(out, finishReason ?? 'stop');
        return true;
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
        if (typeof content === 'string' && content.length > 0) out.push({ type: 'text', text: content });
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
    get finished() {
      return finished;
    },
  };
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
