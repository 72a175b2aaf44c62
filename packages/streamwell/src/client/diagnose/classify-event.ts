/**
 * Reads meaning out of events from any LLM event stream, not only streamwell's: which events
 * carry a token, and which one ends the stream. Knows streamwell / the guide (`{"token"}`,
 * `done`/`error`), OpenAI Chat Completions (`choices[0].delta.content`, `[DONE]`), the OpenAI
 * Responses API, Anthropic Messages and the Vercel AI SDK UI stream.
 *
 * @module
 */

/**
 * The outcome a terminal event announces.
 *
 * @internal
 */
export interface TerminalSignal {
  readonly kind: 'done' | 'error';
  /** For `error`: the code and message the server sent, when it sent them. */
  readonly code?: string;
  readonly message?: string;
}

/**
 * Parses event data as JSON without throwing.
 *
 * @param data - the event's data buffer
 * @returns the parsed value, or undefined when the data is not JSON
 *
 * @internal
 */
export function parseJsonData(data: string): unknown {
  if (data.length === 0) return undefined;
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return undefined;
  }
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * The text delta an event carries, if it is a token event of a known format.
 *
 * @param event - the event type
 * @param json - the parsed data (see {@link parseJsonData})
 * @returns the non-empty token text, or undefined
 *
 * @internal
 */
export function extractToken(event: string, json: unknown): string | undefined {
  // streamwell and the guide: {"token": "..."}
  const token = nonEmptyString(field(json, 'token'));
  if (token !== undefined) return token;
  // OpenAI Chat Completions chunk: choices[0].delta.content
  const choices = field(json, 'choices');
  if (Array.isArray(choices)) return nonEmptyString(field(field(choices[0], 'delta'), 'content'));
  const type = field(json, 'type');
  // OpenAI Responses API and the Vercel AI SDK UI stream.
  if (event === 'response.output_text.delta' || type === 'response.output_text.delta' || type === 'text-delta') {
    return nonEmptyString(field(json, 'delta'));
  }
  // Anthropic Messages: content_block_delta with delta.text
  if (event === 'content_block_delta' || type === 'content_block_delta') {
    return nonEmptyString(field(field(json, 'delta'), 'text'));
  }
  return undefined;
}

const DONE_EVENTS = new Set(['done', 'end', 'complete', 'completed', 'finish', 'message_stop', 'response.completed']);
const ERROR_EVENTS = new Set(['response.failed', 'response.error']);

function errorSignal(json: unknown, data: string): TerminalSignal {
  const error = field(json, 'error');
  const message = nonEmptyString(error) ?? nonEmptyString(field(error, 'message')) ?? nonEmptyString(data);
  const code = nonEmptyString(field(json, 'code')) ?? nonEmptyString(field(error, 'code'));
  return { kind: 'error', ...(code === undefined ? {} : { code }), ...(message === undefined ? {} : { message }) };
}

/**
 * Whether an event ends its stream, and how.
 *
 * An `error` event only counts with data: the browser's EventSource also fires a data-less `error`
 * on a connection failure, which the protocol keeps apart (docs/protocol.md).
 *
 * @param event - the event type
 * @param data - the raw data buffer
 * @param json - the parsed data (see {@link parseJsonData})
 * @returns the signal, or undefined for a non-terminal event
 *
 * @internal
 */
export function classifyTerminal(event: string, data: string, json: unknown): TerminalSignal | undefined {
  if (data.trim() === '[DONE]') return { kind: 'done' };
  if (event === 'error' && data.length > 0) return errorSignal(json, data);
  if (DONE_EVENTS.has(event)) return { kind: 'done' };
  if (ERROR_EVENTS.has(event)) return errorSignal(json, data);
  const type = field(json, 'type');
  if (type === 'finish' || type === 'message_stop' || type === 'response.completed' || type === 'done') {
    return { kind: 'done' };
  }
  if (type === 'error') return errorSignal(json, data);
  // The guide's own backend reports a failure as an unnamed `data: {"error": "..."}` event.
  if (event === 'message' && field(json, 'error') !== undefined && field(json, 'token') === undefined) {
    return errorSignal(json, data);
  }
  return undefined;
}
