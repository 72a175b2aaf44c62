/**
 * Validates a ChatKit request body, `{"type", "params", "metadata"?}`, into a
 * {@link ChatKitRequest}: every request type with its required fields and the reference's
 * defaults (`limit` 20, `order` "desc"). Unknown extra fields are ignored, as the reference does;
 * anything missing or of the wrong type is a `400 bad_request` naming the field.
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';
import type { JsonObject, JsonValue } from '../threads/thread-store.ts';
import type {
  ChatKitAction,
  ChatKitInferenceOptions,
  ChatKitListParams,
  ChatKitRequest,
  ChatKitStructuredAnswer,
  ChatKitStructuredSubmission,
  ChatKitUserContent,
  ChatKitUserMessageInput,
} from './chatkit-types.ts';

/** Longest id (thread, item, attachment) accepted. */
const MAX_ID_CHARS = 200;

function invalid(message: string): StreamwellError {
  return new StreamwellError('bad_request', message, { status: 400 });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (!isObject(value)) throw invalid(`"${field}" must be an object.`);
  return value;
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string') throw invalid(`"${field}" must be a string.`);
  return value;
}

function optionalText(value: unknown, field: string): string | undefined {
  return value === undefined || value === null ? undefined : text(value, field);
}

function id(value: unknown, field: string): string {
  const result = text(value, field);
  if (result === '' || result.length > MAX_ID_CHARS)
    throw invalid(`"${field}" must be 1 to ${MAX_ID_CHARS} characters.`);
  return result;
}

function list(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw invalid(`"${field}" must be an array.`);
  return value;
}

function content(value: unknown, field: string): ChatKitUserContent {
  const part = object(value, field);
  if (part.type === 'input_text') return { type: 'input_text', text: text(part.text, `${field}.text`) };
  if (part.type === 'input_tag') {
    const group = optionalText(part.group, `${field}.group`);
    return {
      type: 'input_tag',
      id: text(part.id, `${field}.id`),
      text: text(part.text, `${field}.text`),
      // Python requires `data`, the JS types mark it optional: default it.
      data: (part.data === undefined || part.data === null ? {} : object(part.data, `${field}.data`)) as JsonObject,
      ...(group === undefined ? {} : { group }),
      interactive: part.interactive === true,
    };
  }
  throw invalid(`"${field}.type" must be "input_text" or "input_tag".`);
}

function inferenceOptions(value: unknown): ChatKitInferenceOptions {
  // Required by the reference (an object, possibly empty).
  const options = object(value, 'params.input.inference_options');
  const model = optionalText(options.model, 'params.input.inference_options.model');
  const choice = options.tool_choice;
  const toolChoice =
    choice === undefined || choice === null
      ? undefined
      : {
          id: text(
            object(choice, 'params.input.inference_options.tool_choice').id,
            'params.input.inference_options.tool_choice.id',
          ),
        };
  return {
    ...(toolChoice === undefined ? {} : { tool_choice: toolChoice }),
    ...(model === undefined ? {} : { model }),
  };
}

function userInput(value: unknown): ChatKitUserMessageInput {
  const input = object(value, 'params.input');
  const quoted = optionalText(input.quoted_text, 'params.input.quoted_text');
  return {
    content: list(input.content, 'params.input.content').map((part, index) =>
      content(part, `params.input.content[${index}]`),
    ),
    attachments: list(input.attachments, 'params.input.attachments').map((entry, index) =>
      id(entry, `params.input.attachments[${index}]`),
    ),
    ...(quoted === undefined ? {} : { quoted_text: quoted }),
    inference_options: inferenceOptions(input.inference_options),
  };
}

function listParams(params: Record<string, unknown>): ChatKitListParams {
  let limit = 20;
  if (params.limit !== undefined && params.limit !== null) {
    if (typeof params.limit !== 'number' || !Number.isInteger(params.limit) || params.limit < 1) {
      throw invalid('"params.limit" must be a whole number of at least 1.');
    }
    limit = params.limit;
  }
  const order = params.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw invalid('"params.order" must be "asc" or "desc".');
  const after = params.after === undefined || params.after === null ? undefined : id(params.after, 'params.after');
  return { limit, order, after };
}

function action(value: unknown): ChatKitAction {
  const parsed = object(value, 'params.action');
  return {
    type: text(parsed.type, 'params.action.type'),
    ...(parsed.payload === undefined || parsed.payload === null ? {} : { payload: parsed.payload as JsonValue }),
  };
}

function structuredSubmission(value: unknown): ChatKitStructuredSubmission {
  const input = object(value, 'params.input');
  if (input.status !== 'answered' && input.status !== 'skipped') {
    throw invalid('"params.input.status" must be "answered" or "skipped".');
  }
  const answers: Record<string, ChatKitStructuredAnswer> = {};
  for (const [key, raw] of Object.entries(object(input.answers ?? {}, 'params.input.answers'))) {
    const answer = object(raw, `params.input.answers.${key}`);
    const values =
      answer.values === undefined || answer.values === null
        ? undefined
        : list(answer.values, `params.input.answers.${key}.values`).map((entry) =>
            text(entry, `params.input.answers.${key}.values[]`),
          );
    answers[key] = { ...(values === undefined ? {} : { values }), skipped: answer.skipped === true };
  }
  return { status: input.status, answers };
}

/** Decodes standard base64, refusing anything else (Buffer would skip invalid characters). */
function base64(value: unknown, field: string): Uint8Array {
  const encoded = text(value, field).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 === 1) throw invalid(`"${field}" must be base64.`);
  return Buffer.from(encoded, 'base64');
}

/** One parser per request type: `params` in, the request out. */
const PARSERS: Readonly<Record<ChatKitRequest['type'], (params: Record<string, unknown>) => ChatKitRequest>> = {
  'threads.create': (params) => ({ type: 'threads.create', input: userInput(params.input) }),
  'threads.add_user_message': (params) => ({
    type: 'threads.add_user_message',
    thread_id: id(params.thread_id, 'params.thread_id'),
    input: userInput(params.input),
  }),
  'threads.add_client_tool_output': (params) => ({
    type: 'threads.add_client_tool_output',
    thread_id: id(params.thread_id, 'params.thread_id'),
    result: (params.result ?? null) as JsonValue,
  }),
  'threads.add_structured_input': (params) => ({
    type: 'threads.add_structured_input',
    thread_id: id(params.thread_id, 'params.thread_id'),
    item_id: id(params.item_id, 'params.item_id'),
    input: structuredSubmission(params.input),
  }),
  'threads.retry_after_item': (params) => ({
    type: 'threads.retry_after_item',
    thread_id: id(params.thread_id, 'params.thread_id'),
    item_id: id(params.item_id, 'params.item_id'),
  }),
  'threads.custom_action': (params) => customAction('threads.custom_action', params),
  'threads.sync_custom_action': (params) => customAction('threads.sync_custom_action', params),
  'threads.get_by_id': (params) => ({ type: 'threads.get_by_id', thread_id: id(params.thread_id, 'params.thread_id') }),
  'threads.delete': (params) => ({ type: 'threads.delete', thread_id: id(params.thread_id, 'params.thread_id') }),
  'threads.list': (params) => ({ type: 'threads.list', ...listParams(params) }),
  'items.list': (params) => ({
    type: 'items.list',
    thread_id: id(params.thread_id, 'params.thread_id'),
    ...listParams(params),
  }),
  'threads.update': (params) => ({
    type: 'threads.update',
    thread_id: id(params.thread_id, 'params.thread_id'),
    title: text(params.title, 'params.title'),
  }),
  'items.feedback': (params) => {
    if (params.kind !== 'positive' && params.kind !== 'negative') {
      throw invalid('"params.kind" must be "positive" or "negative".');
    }
    return {
      type: 'items.feedback',
      thread_id: id(params.thread_id, 'params.thread_id'),
      item_ids: list(params.item_ids, 'params.item_ids').map((entry, index) => id(entry, `params.item_ids[${index}]`)),
      kind: params.kind,
    };
  },
  'attachments.create': (params) => {
    if (typeof params.size !== 'number' || !Number.isInteger(params.size) || params.size < 0) {
      throw invalid('"params.size" must be a whole number of bytes.');
    }
    return {
      type: 'attachments.create',
      name: id(params.name, 'params.name'),
      size: params.size,
      mime_type: id(params.mime_type, 'params.mime_type'),
    };
  },
  'attachments.delete': (params) => ({
    type: 'attachments.delete',
    attachment_id: id(params.attachment_id, 'params.attachment_id'),
  }),
  'input.transcribe': (params) => ({
    type: 'input.transcribe',
    audio: base64(params.audio_base64, 'params.audio_base64'),
    mime_type: id(params.mime_type, 'params.mime_type'),
  }),
};

function customAction(
  type: 'threads.custom_action' | 'threads.sync_custom_action',
  params: Record<string, unknown>,
): ChatKitRequest {
  return {
    type,
    thread_id: id(params.thread_id, 'params.thread_id'),
    item_id: params.item_id === undefined || params.item_id === null ? undefined : id(params.item_id, 'params.item_id'),
    action: action(params.action),
  };
}

/**
 * Decodes and validates a request body.
 *
 * @param bytes - the raw body (JSON)
 * @returns the request
 * @throws StreamwellError `invalid_json` (400) for a body that is not JSON, `bad_request` (400)
 *   for an unknown `type` or a missing or mistyped field
 *
 * @internal
 */
export function parseChatKitRequest(bytes: Uint8Array): ChatKitRequest {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new StreamwellError('invalid_json', 'The request body is not valid JSON.', { status: 400 });
  }
  const request = object(body, 'body');
  const type = request.type;
  if (typeof type !== 'string' || !Object.hasOwn(PARSERS, type)) {
    throw invalid(`Unknown ChatKit request type ${JSON.stringify(type)}.`);
  }
  const parse = PARSERS[type as ChatKitRequest['type']];
  return parse(request.params === undefined ? {} : object(request.params, 'params'));
}
