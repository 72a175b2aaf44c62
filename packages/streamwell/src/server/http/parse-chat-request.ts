/**
 * Validates the body `DefaultChatTransport` (Vercel AI SDK 6) POSTs to `/api/chat`:
 * `{id, messages, trigger, messageId?}` plus whatever the app adds with its `body` option. The
 * whole history comes every time; streamwell keeps its own thread (the chat `id`), so only the
 * last user message is read: its text parts, joined, are the prompt.
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';
import { isThreadId, parseJsonBody, type StartBodyLimits, validateStartBody } from './parse-start-request.ts';

/** What the SDK asks for. */
export type ChatTrigger = 'submit-message' | 'regenerate-message';

/** A validated chat request. */
export interface ChatRequestBody {
  /** The chat id: the streamwell thread id. */
  readonly chatId: string;
  /** The last user message's text. */
  readonly message: string;
  readonly trigger: ChatTrigger;
  /** The message the SDK names (an edited user message, or the reply to regenerate). */
  readonly messageId: string | undefined;
}

const EXAMPLE = '{"id": "...", "messages": [{"role": "user", "parts": [{"type": "text", "text": "..."}]}]}';

function badRequest(message: string): StreamwellError {
  return new StreamwellError('bad_request', message, { status: 400 });
}

interface UiMessageLike {
  readonly role?: unknown;
  readonly parts?: unknown;
}

/** The text of a UI message's text parts, one per line. */
function textOf(message: UiMessageLike): string {
  if (!Array.isArray(message.parts)) throw badRequest('The last user message has no "parts" array.');
  const texts: string[] = [];
  for (const part of message.parts as unknown[]) {
    if (typeof part !== 'object' || part === null) continue;
    const { type, text } = part as { type?: unknown; text?: unknown };
    if (type === 'text' && typeof text === 'string') texts.push(text);
  }
  return texts.join('\n');
}

/**
 * Decodes and validates a chat request.
 *
 * @param bytes - the raw body
 * @param limits - the message length limit (applies to the prompt, not to the history)
 * @returns the chat id, prompt, trigger and message id
 * @throws StreamwellError `invalid_json` (400), `bad_request` (400), `empty_message` (400),
 *   `message_too_long` (413)
 * @example
 * parseChatBody(new TextEncoder().encode(JSON.stringify({ id: 'c1', trigger: 'submit-message',
 *   messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'Hi' }] }] })), { maxMessageChars: 8000 })
 * // { chatId: 'c1', message: 'Hi', trigger: 'submit-message', messageId: undefined }
 */
export function parseChatBody(bytes: Uint8Array, limits: StartBodyLimits): ChatRequestBody {
  const value = parseJsonBody(bytes, EXAMPLE);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest(`The body must be a JSON object: ${EXAMPLE}.`);
  }
  const { id, messages, trigger, messageId } = value as Record<string, unknown>;
  if (!isThreadId(id)) throw badRequest('"id" (the chat id) must be a non-empty string of at most 200 characters.');
  if (trigger !== undefined && trigger !== 'submit-message' && trigger !== 'regenerate-message') {
    throw badRequest('"trigger" must be "submit-message" or "regenerate-message".');
  }
  if (messageId !== undefined && messageId !== null && typeof messageId !== 'string') {
    throw badRequest('"messageId" must be a string.');
  }
  if (!Array.isArray(messages)) throw badRequest('"messages" must be an array of UI messages.');
  let last: UiMessageLike | undefined;
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const candidate: unknown = messages[index];
    if (typeof candidate === 'object' && candidate !== null && (candidate as UiMessageLike).role === 'user') {
      last = candidate as UiMessageLike;
      break;
    }
  }
  if (last === undefined) {
    throw new StreamwellError('empty_message', 'The chat has no user message to answer.', { status: 400 });
  }
  // The message rules of every other endpoint: empty, too long.
  const { message } = validateStartBody({ message: textOf(last), threadId: id }, limits);
  return {
    chatId: id,
    message,
    trigger: trigger ?? 'submit-message',
    messageId: typeof messageId === 'string' ? messageId : undefined,
  };
}
