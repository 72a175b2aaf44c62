/**
 * Wire shapes of the fake OpenAI server: Chat Completions chunks and Responses API events,
 * built with the fields the real API sends (and the `openai@6` / `@openai/agents@0.14` packages
 * read). Kept apart from the server so the server file stays about I/O and timing.
 *
 * Shapes follow the OpenAI API reference and the SDK types in
 * `node_modules/openai/resources/chat/completions/completions.d.ts` and
 * `node_modules/openai/resources/responses/responses.d.ts`.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';

/** A scripted tool (function) call. */
export interface FakeToolCall {
  /** Function name; `transfer_to_<agent>` is how the Agents SDK names a handoff. */
  readonly name: string;
  /** Arguments as JSON text. */
  readonly arguments: string;
  /** The call id; generated when omitted. */
  readonly callId?: string;
}

/** Finish reasons of Chat Completions. */
export type FakeFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/** Makes an id like the real API's (`chatcmpl-…`, `resp_…`, `msg_…`, `fc_…`, `call_…`). */
export function fakeId(prefix: string): string {
  return `${prefix}${randomBytes(12).toString('hex')}`;
}

/** `data: <json>\n\n`: one Chat Completions SSE frame (no `event:` line, as the real API). */
export function chatFrame(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/** The Chat Completions end marker. */
export const CHAT_DONE_FRAME = 'data: [DONE]\n\n';

/** `event: <type>\ndata: <json>\n\n`: one Responses API SSE frame, as the real API sends it. */
export function responsesFrame(payload: { type: string }): string {
  return `event: ${payload.type}\ndata: ${JSON.stringify(payload)}\n\n`;
}

/** Context shared by the chunks of one Chat Completions reply. */
export interface ChatContext {
  readonly id: string;
  readonly created: number;
  readonly model: string;
}

/** A `chat.completion.chunk` with one choice. */
export function chatChunk(context: ChatContext, delta: Record<string, unknown>, finishReason: FakeFinishReason | null) {
  return {
    id: context.id,
    object: 'chat.completion.chunk',
    created: context.created,
    model: context.model,
    system_fingerprint: 'fp_fake',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
}

/** The usage chunk sent last when `stream_options.include_usage` is true (empty `choices`). */
export function chatUsageChunk(context: ChatContext, usage: ChatUsage) {
  return {
    id: context.id,
    object: 'chat.completion.chunk',
    created: context.created,
    model: context.model,
    system_fingerprint: 'fp_fake',
    choices: [],
    usage,
  };
}

/** Chat Completions usage. */
export interface ChatUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

/** Usage with the token counts of a reply. */
export function chatUsage(promptTokens: number, completionTokens: number): ChatUsage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/** Tool-call deltas as the real API streams them: first id+name, then the arguments in pieces. */
export function chatToolCallDeltas(calls: readonly FakeToolCall[], callIds: readonly string[]) {
  const deltas: Record<string, unknown>[] = [];
  calls.forEach((call, index) => {
    deltas.push({
      tool_calls: [{ index, id: callIds[index], type: 'function', function: { name: call.name, arguments: '' } }],
    });
    for (const piece of splitInPieces(call.arguments, 3)) {
      deltas.push({ tool_calls: [{ index, function: { arguments: piece } }] });
    }
  });
  return deltas;
}

/** A non-streamed `chat.completion`. */
export function chatCompletion(
  context: ChatContext,
  text: string,
  calls: readonly FakeToolCall[],
  callIds: readonly string[],
  finishReason: FakeFinishReason,
  usage: ChatUsage,
) {
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: calls.length > 0 && text === '' ? null : text,
    refusal: null,
  };
  if (calls.length > 0) {
    message.tool_calls = calls.map((call, index) => ({
      id: callIds[index],
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  return {
    id: context.id,
    object: 'chat.completion',
    created: context.created,
    model: context.model,
    system_fingerprint: 'fp_fake',
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
    usage,
  };
}

/** Splits text into about `count` pieces (at least one character each). */
export function splitInPieces(text: string, count: number): string[] {
  if (text.length === 0) return [];
  const size = Math.max(1, Math.ceil(text.length / count));
  const pieces: string[] = [];
  for (let index = 0; index < text.length; index += size) pieces.push(text.slice(index, index + size));
  return pieces;
}

/**
 * Builds the Responses API event sequence of one reply, numbering `sequence_number` as the real
 * API does. The caller writes the events with its own pacing; `textDeltaIndexes` says which
 * events carry a text delta (for first-token and stall scripting).
 */
export class ResponsesEventBuilder {
  readonly responseId = fakeId('resp_');
  readonly createdAt = Math.floor(Date.now() / 1000);
  #sequence = 0;
  #output: Record<string, unknown>[] = [];
  readonly #model: string;
  readonly #request: Record<string, unknown>;

  constructor(model: string, request: Record<string, unknown>) {
    this.#model = model;
    this.#request = request;
  }

  /** The `response` object in a given state. */
  response(status: 'in_progress' | 'completed' | 'incomplete', usage: Record<string, unknown> | null) {
    return {
      id: this.responseId,
      object: 'response',
      created_at: this.createdAt,
      status,
      background: false,
      error: null,
      incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
      instructions: this.#request.instructions ?? null,
      max_output_tokens: this.#request.max_output_tokens ?? null,
      model: this.#model,
      output: status === 'in_progress' ? [] : this.#output,
      parallel_tool_calls: this.#request.parallel_tool_calls ?? true,
      previous_response_id: this.#request.previous_response_id ?? null,
      reasoning: { effort: null, summary: null },
      store: this.#request.store ?? true,
      temperature: this.#request.temperature ?? 1,
      text: { format: { type: 'text' } },
      tool_choice: this.#request.tool_choice ?? 'auto',
      tools: this.#request.tools ?? [],
      top_p: this.#request.top_p ?? 1,
      truncation: 'disabled',
      usage,
      user: null,
      metadata: {},
    };
  }

  /** Stamps an event with the next `sequence_number`. */
  event<T extends { type: string }>(payload: T): T & { sequence_number: number } {
    const stamped = { ...payload, sequence_number: this.#sequence };
    this.#sequence += 1;
    return stamped;
  }

  /** `response.created` and `response.in_progress`. */
  opening() {
    return [
      this.event({ type: 'response.created', response: this.response('in_progress', null) }),
      this.event({ type: 'response.in_progress', response: this.response('in_progress', null) }),
    ];
  }

  /** A message item: added, content part added, one delta per token, and the done events. */
  message(tokens: readonly string[]) {
    const outputIndex = this.#output.length;
    const itemId = fakeId('msg_');
    const text = tokens.join('');
    const head = [
      this.event({
        type: 'response.output_item.added',
        output_index: outputIndex,
        item: { id: itemId, type: 'message', status: 'in_progress', content: [], role: 'assistant' },
      }),
      this.event({
        type: 'response.content_part.added',
        item_id: itemId,
        output_index: outputIndex,
        content_index: 0,
        part: { type: 'output_text', annotations: [], logprobs: [], text: '' },
      }),
    ];
    const deltas = tokens.map((delta) =>
      this.event({
        type: 'response.output_text.delta',
        item_id: itemId,
        output_index: outputIndex,
        content_index: 0,
        delta,
        logprobs: [],
      }),
    );
    const part = { type: 'output_text', annotations: [], logprobs: [], text };
    const item = { id: itemId, type: 'message', status: 'completed', content: [part], role: 'assistant' };
    this.#output.push(item);
    const tail = [
      this.event({
        type: 'response.output_text.done',
        item_id: itemId,
        output_index: outputIndex,
        content_index: 0,
        text,
        logprobs: [],
      }),
      this.event({
        type: 'response.content_part.done',
        item_id: itemId,
        output_index: outputIndex,
        content_index: 0,
        part,
      }),
      this.event({ type: 'response.output_item.done', output_index: outputIndex, item }),
    ];
    return { head, deltas, tail };
  }

  /** A function_call item: added, argument deltas, arguments done, item done. */
  functionCall(call: FakeToolCall) {
    const outputIndex = this.#output.length;
    const itemId = fakeId('fc_');
    const callId = call.callId ?? fakeId('call_');
    const base = { id: itemId, type: 'function_call', call_id: callId, name: call.name };
    const events = [
      this.event({
        type: 'response.output_item.added',
        output_index: outputIndex,
        item: { ...base, status: 'in_progress', arguments: '' },
      }),
      ...splitInPieces(call.arguments, 3).map((delta) =>
        this.event({
          type: 'response.function_call_arguments.delta',
          item_id: itemId,
          output_index: outputIndex,
          delta,
        }),
      ),
      this.event({
        type: 'response.function_call_arguments.done',
        item_id: itemId,
        output_index: outputIndex,
        name: call.name,
        arguments: call.arguments,
      }),
    ];
    const item = { ...base, status: 'completed', arguments: call.arguments };
    this.#output.push(item);
    events.push(this.event({ type: 'response.output_item.done', output_index: outputIndex, item }));
    return events;
  }

  /** `response.completed` (or `response.incomplete` for a length stop) with the full output and usage. */
  closing(status: 'completed' | 'incomplete', inputTokens: number, outputTokens: number) {
    const usage = {
      input_tokens: inputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: inputTokens + outputTokens,
    };
    return this.event({ type: `response.${status}`, response: this.response(status, usage) });
  }
}
