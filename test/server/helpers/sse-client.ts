/**
 * Test-side SSE reading over real sockets: `fetch` (undici) for most tests, raw `node:http` when a
 * test needs the exact bytes. Events are parsed with the library's WHATWG parser.
 *
 * @module
 */
import { createSseParser, type SseEvent } from 'streamwell/client';

/** A parsed protocol event. */
export interface ReceivedEvent {
  readonly id: number;
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** What {@link readSse} collected. */
export interface SseRead {
  readonly events: ReceivedEvent[];
  readonly comments: string[];
  /** Raw text as received. */
  readonly text: string;
  /** The stream ended (the server closed it) rather than `until` stopping the read. */
  readonly ended: boolean;
}

/**
 * Reads an event stream until the server ends it, or until `until` returns true for an event or
 * comment (then the response body is cancelled).
 *
 * @param response - a fetch response with an event-stream body
 * @param until - stop condition
 * @returns events, comments and raw text
 */
export async function readSse(
  response: Response,
  until?: (read: { events: ReceivedEvent[]; comments: string[] }) => boolean,
): Promise<SseRead> {
  const events: ReceivedEvent[] = [];
  const comments: string[] = [];
  let text = '';
  const parser = createSseParser({
    onEvent(event: SseEvent) {
      events.push({ id: Number(event.id), event: event.event, data: JSON.parse(event.data) });
    },
    onComment(comment) {
      comments.push(comment);
    },
  });
  if (response.body === null) return { events, comments, text, ended: true };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  while (true) {
    const { done, value } = await reader.read();
    if (done) return { events, comments, text, ended: true };
    const chunk = decoder.decode(value, { stream: true });
    text += chunk;
    parser.feed(chunk);
    if (until?.({ events, comments })) {
      await reader.cancel();
      return { events, comments, text, ended: false };
    }
  }
}

/**
 * Parses a whole event-stream text (for tests that read raw bytes off a socket).
 *
 * @param text - the decoded body
 * @returns the protocol events in it
 */
export function readSseText(text: string): ReceivedEvent[] {
  const events: ReceivedEvent[] = [];
  const parser = createSseParser({
    onEvent(event: SseEvent) {
      events.push({ id: Number(event.id), event: event.event, data: JSON.parse(event.data) });
    },
  });
  parser.feed(text);
  return events;
}

/**
 * POSTs a message and returns the response.
 *
 * @param baseUrl - `http://127.0.0.1:port`
 * @param body - the JSON body (an object) or raw text
 * @param headers - extra headers
 */
export function postMessage(baseUrl: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${baseUrl}/api/stream/message`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/**
 * Resumes a stream.
 *
 * @param baseUrl - server URL
 * @param streamId - the stream
 * @param headers - e.g. `Last-Event-ID`
 * @param query - e.g. `?after=3`
 */
export function resumeStream(
  baseUrl: string,
  streamId: string,
  headers: Record<string, string> = {},
  query = '',
): Promise<Response> {
  return fetch(`${baseUrl}/api/streams/${streamId}${query}`, { headers });
}

/** The text the token events carry, joined. */
export function textOf(events: readonly ReceivedEvent[]): string {
  return events
    .filter((event) => event.event === 'token')
    .map((event) => event.data.token as string)
    .join('');
}
