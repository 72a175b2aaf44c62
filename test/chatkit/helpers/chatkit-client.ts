/**
 * A ChatKit client for tests, over real sockets: posts `{type, params}` bodies as ChatKit.js
 * does and reads the answer. Streamed answers are checked against the reference's framing while
 * they are read: every frame is exactly `data: <one line of JSON>` and a blank line, or a `:`
 * comment (heartbeat), and nothing else (no `id:`, `event:` or `retry:` lines).
 *
 * @module
 */
import { expect } from 'vitest';

/** A ChatKit event as received. */
// biome-ignore lint/suspicious/noExplicitAny: events are free-form JSON that tests inspect.
export type ReceivedChatKitEvent = { readonly type: string } & Record<string, any>;

/** A streamed answer. */
export interface ChatKitStreamRead {
  readonly status: number;
  readonly headers: Headers;
  readonly events: ReceivedChatKitEvent[];
  /** The heartbeat comments seen. */
  readonly comments: string[];
  /** The raw body. */
  readonly text: string;
}

/** Options of the requests. */
export interface ChatKitRequestOptions {
  readonly headers?: Record<string, string>;
  /** Stop reading (and close the stream: ChatKit's Stop) once this returns true. */
  readonly until?: (events: readonly ReceivedChatKitEvent[]) => boolean;
  /** Told each comment (heartbeat) as it arrives. */
  readonly onComment?: (comment: string) => void;
}

/** A user message input of the protocol. */
export function userInput(text: string, extra: Record<string, unknown> = {}) {
  return { content: [{ type: 'input_text', text }], attachments: [], inference_options: {}, ...extra };
}

function request(url: string, body: unknown, options: ChatKitRequestOptions, signal?: AbortSignal): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(signal === undefined ? {} : { signal }),
  });
}

/** Parses frames out of `buffer`, checking the framing; returns what is left. */
function takeFrames(buffer: string, events: ReceivedChatKitEvent[], comments: string[]): string {
  let rest = buffer;
  for (let end = rest.indexOf('\n\n'); end !== -1; end = rest.indexOf('\n\n')) {
    const frame = rest.slice(0, end);
    rest = rest.slice(end + 2);
    if (frame.startsWith(':')) {
      expect(frame).not.toContain('\n');
      comments.push(frame);
      continue;
    }
    expect(frame).toMatch(/^data: \{.*\}$/);
    expect(frame).not.toContain('\n');
    events.push(JSON.parse(frame.slice('data: '.length)) as ReceivedChatKitEvent);
  }
  return rest;
}

/**
 * Posts a streaming request and reads its events until the server ends the stream (or `until`).
 *
 * @param url - the ChatKit endpoint
 * @param body - the request (an object, or raw text)
 * @param options - headers, stop condition
 * @returns status, headers, events, comments and raw text
 */
export async function streamChatKit(
  url: string,
  body: unknown,
  options: ChatKitRequestOptions = {},
): Promise<ChatKitStreamRead> {
  const controller = new AbortController();
  const response = await request(url, body, options, controller.signal);
  const events: ReceivedChatKitEvent[] = [];
  const comments: string[] = [];
  let text = '';
  let buffer = '';
  if (response.body === null) return { status: response.status, headers: response.headers, events, comments, text };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = decoder.decode(value, { stream: true });
      text += chunk;
      const seen = comments.length;
      buffer = takeFrames(buffer + chunk, events, comments);
      for (const comment of comments.slice(seen)) options.onComment?.(comment);
      if (options.until?.(events)) {
        controller.abort();
        break;
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  }
  if (!controller.signal.aborted) expect(buffer).toBe('');
  return { status: response.status, headers: response.headers, events, comments, text };
}

/**
 * Posts a JSON request and returns the status and parsed answer.
 *
 * @param url - the ChatKit endpoint
 * @param body - the request
 * @param options - headers
 * @returns status, headers and JSON body
 */
export async function callChatKit(
  url: string,
  body: unknown,
  options: ChatKitRequestOptions = {},
  // biome-ignore lint/suspicious/noExplicitAny: answers are free-form JSON that tests inspect.
): Promise<{ status: number; headers: Headers; json: any }> {
  const response = await request(url, body, options);
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text === '' ? undefined : JSON.parse(text) };
}

/** The `type` of each event, in order. */
export const kinds = (events: readonly ReceivedChatKitEvent[]): string[] =>
  events.map((event) =>
    event.type === 'thread.item.updated'
      ? `updated:${event.update.type.replace('assistant_message.content_part.', '')}`
      : event.type === 'thread.item.done' || event.type === 'thread.item.added' || event.type === 'thread.item.replaced'
        ? `${event.type.replace('thread.item.', '')}:${event.item.type}`
        : event.type,
  );
