/**
 * Validation of the JSON messages a client sends on `GET /ws/stream`:
 * `{"type":"start","message","threadId"?,"idempotencyKey"?}`, `{"type":"resume","streamId","after"}`
 * and `{"type":"cancel","streamId"}`. Hand-written guards, no schema library: the same rules and
 * codes as the HTTP endpoints, so a client sees one vocabulary whatever the transport.
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';
import { parseCursor, parseIdempotencyKey, validateStartBody } from '../http/parse-start-request.ts';

/**
 * A validated `start` message.
 *
 * @internal
 */
export interface StartMessage {
  readonly type: 'start';
  readonly message: string;
  readonly threadId?: string;
  readonly idempotencyKey?: string;
  /** Optional client correlation id, echoed on the error frame a refused start produces. */
  readonly requestId?: string;
}

/**
 * A validated `resume` message; `after` undefined means "from the start of the run".
 *
 * @internal
 */
export interface ResumeMessage {
  readonly type: 'resume';
  readonly streamId: string;
  readonly after: number | undefined;
}

/**
 * A validated `cancel` message.
 *
 * @internal
 */
export interface CancelMessage {
  readonly type: 'cancel';
  readonly streamId: string;
}

/**
 * Every message a client may send.
 *
 * @internal
 */
export type ClientMessage = StartMessage | ResumeMessage | CancelMessage;

/**
 * Limits applied by {@link parseClientMessage}.
 *
 * @internal
 */
export interface ClientMessageLimits {
  /** Longest `message` in characters (`MAX_MESSAGE_CHARS`). */
  readonly maxMessageChars: number;
}

/** Longest id-like string accepted (stream ids are 24 characters, thread ids similar). */
const MAX_ID_CHARS = 200;

function badRequest(message: string): StreamwellError {
  return new StreamwellError('bad_request', message, { status: 400 });
}

function optionalString(record: Record<string, unknown>, field: string): string | undefined {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_CHARS) {
    throw badRequest(`"${field}" must be a non-empty string of at most ${MAX_ID_CHARS} characters.`);
  }
  return value;
}

function requiredStreamId(record: Record<string, unknown>): string {
  const streamId = optionalString(record, 'streamId');
  if (streamId === undefined) throw badRequest('"streamId" is required.');
  return streamId;
}

/** `after` is the id of the last event received, as a number or its decimal text (what an SSE client stores). */
function parseAfter(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' && typeof value !== 'string') {
    throw new StreamwellError('invalid_cursor', '"after" must be the id of the last event received.', { status: 400 });
  }
  // The HTTP rule (Last-Event-ID / ?after=), so both transports accept the same cursors.
  return parseCursor(undefined, String(value));
}

function parseStart(record: Record<string, unknown>, limits: ClientMessageLimits): StartMessage {
  // Same rules, codes and messages as the body of POST /api/stream/message.
  const { message, threadId } = validateStartBody(record, limits);
  const key = record.idempotencyKey;
  if (key !== undefined && key !== null && typeof key !== 'string') {
    throw badRequest('"idempotencyKey" must be a string.');
  }
  const idempotencyKey = typeof key === 'string' ? parseIdempotencyKey(key) : undefined;
  const requestId = optionalString(record, 'requestId');
  return {
    type: 'start',
    message,
    ...(threadId === undefined ? {} : { threadId }),
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    ...(requestId === undefined ? {} : { requestId }),
  };
}

/**
 * Parses and validates one text message.
 *
 * @param text - the message as received
 * @param limits - message limits
 * @returns the validated message
 * @throws StreamwellError `invalid_json` (not JSON), `bad_request` (wrong shape or unknown type),
 *   `empty_message`, `message_too_long`, `invalid_cursor` (a resume `after` that is not an event id)
 * @example parseClientMessage('{"type":"cancel","streamId":"abc"}', { maxMessageChars: 8000 })
 *
 * @internal
 */
export function parseClientMessage(text: string, limits: ClientMessageLimits): ClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StreamwellError('invalid_json', 'The message is not valid JSON.', { status: 400 });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('A message must be a JSON object with a "type".');
  }
  const record = value as Record<string, unknown>;
  switch (record.type) {
    case 'start':
      return parseStart(record, limits);
    case 'resume':
      return { type: 'resume', streamId: requiredStreamId(record), after: parseAfter(record.after) };
    case 'cancel':
      return { type: 'cancel', streamId: requiredStreamId(record) };
    default:
      throw badRequest('"type" must be "start", "resume" or "cancel".');
  }
}
