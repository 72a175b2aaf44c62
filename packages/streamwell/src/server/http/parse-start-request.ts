/**
 * Validates the body of `POST /api/stream/message`: `{"message": string, "threadId"?: string}`.
 *
 * JSON is accepted as `application/json` and as `text/plain`, because the troubleshooting guide's
 * browser code sends `body: JSON.stringify(...)` without a `Content-Type`, which browsers label
 * `text/plain;charset=UTF-8` (a "simple" request: no preflight). Any other type is `415`.
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';

/**
 * A validated start request.
 *
 * @internal
 */
export interface StartBody {
  readonly message: string;
  readonly threadId: string | undefined;
}

/** Limits of a start request's body (also used by the chat request's parser). */
export interface StartBodyLimits {
  /** Longest message in characters (UTF-16 code units). */
  readonly maxMessageChars: number;
}

const MAX_THREAD_ID_CHARS = 200;
const MAX_IDEMPOTENCY_KEY_CHARS = 256;
// Visible ASCII only: a key ends up in maps and logs, never control characters.
const HEADER_TOKEN = /^[\x21-\x7e]+$/;
function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * One strict decoder for every body: a `decode` call without `stream` starts from a clean state
 * and, being fatal, keeps nothing after a failure, so sharing it is exact (one object per request
 * less).
 */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

function badRequest(message: string): StreamwellError {
  return new StreamwellError('bad_request', message, { status: 400 });
}

/**
 * Checks the `Content-Type` of a start request. A missing type is read as JSON (curl without
 * `-H`, server-side callers).
 *
 * @param contentType - the header value
 * @throws StreamwellError `unsupported_media_type` (415)
 *
 * @internal
 */
export function assertJsonContentType(contentType: string | undefined): void {
  if (contentType === undefined) return;
  const mediaType = (contentType.split(';', 1)[0] ?? '').trim().toLowerCase();
  if (mediaType === 'application/json' || mediaType === 'text/plain' || mediaType === '') return;
  throw new StreamwellError(
    'unsupported_media_type',
    `Content-Type ${mediaType} is not accepted: send JSON as application/json or text/plain.`,
    { status: 415 },
  );
}

/**
 * Decodes and validates a start body.
 *
 * @param bytes - the raw body
 * @param limits - the message length limit
 * @returns the message and optional thread id
 * @throws StreamwellError `invalid_json` (400), `bad_request` (400), `empty_message` (400),
 *   `message_too_long` (413)
 *
 * @internal
 */
export function parseStartBody(bytes: Uint8Array, limits: StartBodyLimits): StartBody {
  return validateStartBody(parseJsonBody(bytes, '{"message": "..."}'), limits);
}

/**
 * Decodes a JSON request body (strict UTF-8).
 *
 * @param bytes - the raw body
 * @param example - the expected shape, for the error message
 * @returns the parsed value
 * @throws StreamwellError `invalid_json` (400) for an empty body, bytes that are not UTF-8, or bad JSON
 */
export function parseJsonBody(bytes: Uint8Array, example: string): unknown {
  try {
    // fatal: bytes that are not UTF-8 are a client error, not U+FFFD in the prompt.
    const text = STRICT_UTF8.decode(bytes);
    if (text.trim() === '') {
      throw new SyntaxError('empty body');
    }
    return JSON.parse(text);
  } catch {
    throw new StreamwellError('invalid_json', `The body is not valid JSON; send ${example}.`, { status: 400 });
  }
}

/**
 * Whether a value can be a thread id: a non-empty string of at most 200 characters without
 * control characters (it ends up in maps, store keys and logs).
 *
 * @param value - anything
 * @returns true for a usable thread id
 */
export function isThreadId(value: unknown): value is string {
  return (
    typeof value === 'string' && value !== '' && value.length <= MAX_THREAD_ID_CHARS && !hasControlCharacter(value)
  );
}

/**
 * Validates an already parsed start request: the rules behind {@link parseStartBody}, shared with
 * the WebSocket `start` message so both transports answer with the same codes and messages.
 *
 * @param value - the parsed JSON
 * @param limits - the message length limit
 * @returns the message and optional thread id
 * @throws StreamwellError `bad_request` (400), `empty_message` (400), `message_too_long` (413)
 * @example validateStartBody({ message: 'hi' }, { maxMessageChars: 8000 }) // { message: 'hi', threadId: undefined }
 *
 * @internal
 */
export function validateStartBody(value: unknown, limits: StartBodyLimits): StartBody {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('The body must be a JSON object: {"message": "...", "threadId"?: "..."}.');
  }
  const { message, threadId } = value as { message?: unknown; threadId?: unknown };
  if (message === undefined || message === null) {
    throw new StreamwellError('empty_message', 'The body has no "message".', { status: 400 });
  }
  if (typeof message !== 'string') throw badRequest('"message" must be a string.');
  if (message.trim() === '') throw new StreamwellError('empty_message', 'The message is empty.', { status: 400 });
  if (message.length > limits.maxMessageChars) {
    throw new StreamwellError(
      'message_too_long',
      `The message is ${message.length} characters; the limit is ${limits.maxMessageChars}.`,
      { status: 413 },
    );
  }
  if (threadId !== undefined && threadId !== null) {
    if (!isThreadId(threadId)) {
      throw badRequest(`"threadId" must be a non-empty string of at most ${MAX_THREAD_ID_CHARS} characters.`);
    }
    return { message, threadId };
  }
  return { message, threadId: undefined };
}

/**
 * Validates an `Idempotency-Key` header.
 *
 * @param value - the header value
 * @returns the key, or undefined when absent
 * @throws StreamwellError `bad_request` (400) for an empty, over-long or non-ASCII key
 *
 * @internal
 */
export function parseIdempotencyKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length > MAX_IDEMPOTENCY_KEY_CHARS || !HEADER_TOKEN.test(value)) {
    throw badRequest(`Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters.`);
  }
  return value;
}

/**
 * Reads a resume cursor: the `Last-Event-ID` header wins over `?after=` (EventSource updates the
 * header on every reconnect, while the URL keeps the value it was created with). An empty value
 * means no cursor, as EventSource sends none before it has seen an id.
 *
 * @param lastEventId - the `Last-Event-ID` header
 * @param after - the `after` query parameter
 * @returns the cursor, or undefined for "from the start"
 * @throws StreamwellError `invalid_cursor` (400) when the cursor is not a decimal integer
 *
 * @internal
 */
export function parseCursor(lastEventId: string | undefined, after: string | null): number | undefined {
  const raw = lastEventId !== undefined && lastEventId.trim() !== '' ? lastEventId.trim() : after?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d{1,15}$/.test(raw)) {
    throw new StreamwellError('invalid_cursor', `The cursor ${JSON.stringify(raw.slice(0, 40))} is not an event id.`, {
      status: 400,
    });
  }
  return Number(raw);
}
