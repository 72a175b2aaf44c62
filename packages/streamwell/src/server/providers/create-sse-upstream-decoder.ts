/**
 * Decodes the body of an existing SSE backend (the troubleshooting guide's FastAPI endpoint, or
 * anything that streams `data: {"token": ...}`) into provider events.
 *
 * What an upstream event means ({@link readUpstreamEvent}), whatever its `event:` name:
 * - `{"token": "..."}` or the guide's short form `{"t": "..."}`: a token;
 * - `{"error": ...}` (a string, or an object with `message`): the reply failed;
 * - `data: [DONE]`, or an event named `done` (a streamwell upstream): the reply is complete;
 * - the guide's `{"type": "checkpoint", ...}` and any other JSON: skipped (streamwell makes its
 *   own checkpoints); comments, `id:` and `retry:` lines are the parser's and never reach here;
 * - data that is not JSON: the upstream is broken, so the reply fails (never a silent loss).
 *
 * The body goes through the library's own WHATWG parser (any line ending, split anywhere, one
 * streaming UTF-8 decoder), bounded per line and per event.
 *
 * @module
 */

import type { StreamwellError } from '../../errors/index.ts';
import type { FinishReason } from '../../protocol/index.ts';
// The one import of the SSE parser in the `sse` provider (it may move to the protocol side).
import { createSseByteParser } from '../../protocol/sse-stream.ts';
import type { ProviderEvent } from '../provider.ts';
import { createUpstreamError, scrubSecret } from './create-upstream-error.ts';

/** What one upstream event means to the gateway. */
export type UpstreamEventMeaning =
  | { readonly kind: 'token'; readonly text: string; readonly field: 'token' | 't' }
  | { readonly kind: 'skip'; readonly reason: 'empty' | 'checkpoint' | 'other' }
  | { readonly kind: 'end'; readonly finishReason: FinishReason }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'invalid'; readonly reason: string };

const FINISH_REASONS: ReadonlySet<string> = new Set(['stop', 'length', 'cancelled', 'content_filter', 'tool_calls']);

/** Longest upstream text quoted in a message. */
const MAX_SAMPLE = 80;

function sample(text: string): string {
  return JSON.stringify(text.length > MAX_SAMPLE ? `${text.slice(0, MAX_SAMPLE - 3)}...` : text);
}

function errorMessage(error: unknown, data: string): string {
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null) {
    const message = (error as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  }
  return data;
}

/**
 * Reads one upstream event.
 *
 * @param name - the event type (`message` when the upstream sent no `event:` line)
 * @param data - the event's data
 * @returns what it means; see the module comment
 */
export function readUpstreamEvent(name: string, data: string): UpstreamEventMeaning {
  const trimmed = data.trim();
  if (trimmed === '')
    return name === 'done' ? { kind: 'end', finishReason: 'stop' } : { kind: 'skip', reason: 'empty' };
  if (trimmed === '[DONE]') return { kind: 'end', finishReason: 'stop' };
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    if (name === 'error') return { kind: 'error', message: trimmed };
    return { kind: 'invalid', reason: `data that is not JSON: ${sample(trimmed)}` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return name === 'error' ? { kind: 'error', message: trimmed } : { kind: 'skip', reason: 'other' };
  }
  const fields = json as Record<string, unknown>;
  const error = fields.error;
  if (error !== undefined && error !== null && error !== false) {
    const code = typeof fields.code === 'string' ? ` (code ${fields.code})` : '';
    return { kind: 'error', message: `${errorMessage(error, trimmed)}${code}` };
  }
  if (name === 'error') return { kind: 'error', message: trimmed };
  if (typeof fields.token === 'string') {
    return fields.token === ''
      ? { kind: 'skip', reason: 'empty' }
      : { kind: 'token', text: fields.token, field: 'token' };
  }
  if (typeof fields.t === 'string') {
    return fields.t === '' ? { kind: 'skip', reason: 'empty' } : { kind: 'token', text: fields.t, field: 't' };
  }
  if (name === 'done') {
    const reason = fields.finishReason;
    return {
      kind: 'end',
      finishReason: typeof reason === 'string' && FINISH_REASONS.has(reason) ? (reason as FinishReason) : 'stop',
    };
  }
  return { kind: 'skip', reason: fields.type === 'checkpoint' || name === 'checkpoint' ? 'checkpoint' : 'other' };
}

/** Options of {@link createSseUpstreamDecoder}. */
export interface SseUpstreamDecoderOptions {
  /** `POST <url>`, for error messages. */
  readonly target: string;
  /** Longest event (and line) accepted, in UTF-16 code units. */
  readonly maxEventBytes: number;
  /** Values scrubbed from upstream text before it reaches a message (UPSTREAM_HEADERS values). */
  readonly secrets?: readonly string[];
}

/** The decoder of one upstream body. */
export interface SseUpstreamDecoder {
  /**
   * Parses the next bytes and appends the events they complete to `out`.
   *
   * @throws StreamwellError `upstream_error` for an upstream `{"error"}`, data that is not JSON, or
   *   an event past the size limit (events decoded before it are already in `out`)
   */
  push(chunk: Uint8Array, out: ProviderEvent[]): void;
  /** The body ended cleanly: appends `finish` (`stop`) unless the upstream already ended the reply. */
  end(out: ProviderEvent[]): void;
  /** True once the upstream said the reply is complete (`[DONE]`, `event: done`) or {@link end} ran. */
  readonly finished: boolean;
  /** Tokens decoded so far. */
  readonly tokens: number;
}

/**
 * Creates the decoder of one upstream body.
 *
 * @param options - target (for messages), limits, secrets
 * @returns the decoder
 */
export function createSseUpstreamDecoder(options: SseUpstreamDecoderOptions): SseUpstreamDecoder {
  const { target, maxEventBytes } = options;
  const secrets = (options.secrets ?? []).filter((secret) => secret.length >= 4);
  // Bearer tokens and the configured header values never reach a message, whatever the upstream echoes.
  const scrub = (text: string): string =>
    secrets.reduce((scrubbed, secret) => scrubSecret(scrubbed, secret), scrubSecret(text, undefined));
  let out: ProviderEvent[] = [];
  let finished = false;
  let tokens = 0;
  let overflow: StreamwellError | undefined;
  const fail = (headline: string, detail: string): StreamwellError =>
    createUpstreamError({ target, headline, upstreamMessage: scrub(detail) });
  const parser = createSseByteParser({
    maxEventBytes,
    maxLineBytes: maxEventBytes,
    onEvent(event) {
      if (finished) return;
      const meaning = readUpstreamEvent(event.event, event.data);
      switch (meaning.kind) {
        case 'token':
          tokens += 1;
          out.push({ type: 'text', text: meaning.text });
          return;
        case 'end':
          finished = true;
          out.push({ type: 'finish', finishReason: meaning.finishReason });
          return;
        case 'error':
          throw fail(`The upstream (${target}) reported an error after ${tokens} tokens`, meaning.message);
        case 'invalid':
          throw fail(
            `The upstream (${target}) sent ${meaning.reason}`,
            'every data line must be JSON such as {"token": "..."}',
          );
        default:
          return;
      }
    },
    onError(error) {
      overflow = error;
    },
  });
  return {
    push(chunk, events) {
      if (finished) return;
      out = events;
      parser.feed(chunk);
      if (overflow !== undefined) {
        throw fail(
          `The upstream (${target}) sent a line or event longer than ${maxEventBytes} characters`,
          'the gateway bounds what it buffers per event; send tokens in small events',
        );
      }
    },
    end(events) {
      if (finished) return;
      finished = true;
      events.push({ type: 'finish', finishReason: 'stop' });
    },
    get finished() {
      return finished;
    },
    get tokens() {
      return tokens;
    },
  };
}
