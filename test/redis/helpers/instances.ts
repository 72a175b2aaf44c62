/**
 * Shared pieces of the multi-instance suites: a paced upstream reply scripted by the message
 * itself (so one fake OpenAI serves every test of a file), and an SSE reader that keeps reading
 * while a test waits for conditions on what it got so far.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { createSseParser, type SseEvent } from 'streamwell/client';
import type { FakeReply, FakeRequest } from '../../helpers/fake-openai.ts';
import { type ReceivedEvent, resumeStream } from '../../server/helpers/sse-client.ts';

/** How the fake upstream answers one message. */
export interface PacedScript {
  /** Number of tokens (` t0`, ` t1`, …). */
  readonly tokens: number;
  /** Delay between tokens. */
  readonly delayMs: number;
  /** Send this many tokens, then nothing until the client goes away. */
  readonly stallAfter?: number;
}

/**
 * The message that makes the fake answer as `script` says.
 *
 * @param tag - makes the message unique (idempotency, logs)
 * @param script - tokens and pacing
 * @returns the message text
 */
export function pacedMessage(tag: string, script: PacedScript): string {
  return `${tag} ${JSON.stringify(script)}`;
}

/** The text the fake streams for `script`. */
export function pacedText(script: PacedScript): string {
  return tokensOf(script).join('');
}

function tokensOf(script: PacedScript): string[] {
  return Array.from({ length: script.tokens }, (_, index) => ` t${index}`);
}

/** The fake's reply function: reads the script from the last message. */
export function pacedReply(request: FakeRequest): FakeReply {
  const messages = (request.body?.messages ?? []) as Array<{ content?: unknown }>;
  const content = String(messages.at(-1)?.content ?? '');
  const json = content.slice(content.indexOf('{'));
  const script = JSON.parse(json.length > 0 ? json : '{"tokens":3,"delayMs":0}') as PacedScript;
  return {
    tokens: tokensOf(script),
    tokenDelayMs: script.delayMs,
    ...(script.stallAfter === undefined ? {} : { stallAfterTokens: script.stallAfter }),
  };
}

/**
 * POSTs a paced message (with a fresh tag) to `/api/stream/message`.
 *
 * @param baseUrl - the server
 * @param script - how the fake upstream answers
 * @param headers - extra headers (auth, `Idempotency-Key`)
 * @returns the response and the message sent
 */
export async function postPaced(
  baseUrl: string,
  script: PacedScript,
  headers: Record<string, string> = {},
): Promise<{ response: Response; message: string }> {
  const message = pacedMessage(randomBytes(4).toString('hex'), script);
  const response = await fetch(`${baseUrl}/api/stream/message`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ message }),
  });
  return { response, message };
}

/**
 * Starts a paced stream and follows its reply.
 *
 * @returns its id, the follower of the reply, and the message
 * @throws Error with the status and body when the server does not answer 200
 */
export async function startPaced(
  baseUrl: string,
  script: PacedScript,
  headers: Record<string, string> = {},
): Promise<{ streamId: string; follower: SseFollower; message: string }> {
  const { response, message } = await postPaced(baseUrl, script, headers);
  if (response.status !== 200) throw new Error(`start on ${baseUrl}: ${response.status} ${await response.text()}`);
  const streamId = response.headers.get('x-stream-id') as string;
  return { streamId, follower: new SseFollower(response, `start on ${baseUrl}`), message };
}

/**
 * Resumes a stream (`GET /api/streams/{id}`) and follows it; the status is the caller's to check.
 *
 * @param query - e.g. `?after=3`
 */
export async function followResume(
  baseUrl: string,
  streamId: string,
  headers: Record<string, string> = {},
  query = '',
): Promise<SseFollower> {
  const response = await resumeStream(baseUrl, streamId, headers, query);
  return new SseFollower(response, `resume ${query}${JSON.stringify(headers)} on ${baseUrl}`);
}

/** `Authorization` header of a principal of the suites' `API_KEYS`. */
export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

/**
 * Bounds a wait (for waits without their own bound, such as a WebSocket frame), so that a test
 * that would hang fails with what it waited for.
 *
 * @param promise - the wait
 * @param what - named in the error
 * @param timeoutMs - the bound
 * @returns what the promise resolves with
 */
export async function within<T>(promise: Promise<T>, what: string, timeoutMs = 30_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** True for `done` and `error`. */
export const isTerminal = (event: ReceivedEvent): boolean => event.event === 'done' || event.event === 'error';

/** Reads an event stream to its end in the background; tests wait on what arrives. */
export class SseFollower {
  readonly response: Response;
  readonly events: ReceivedEvent[] = [];
  /** Resolves when the body ended, or failed (the server process died): `error` says which. */
  readonly closed: Promise<{ error?: unknown }>;
  readonly #label: string;
  #waiters: Array<() => void> = [];
  #isClosed = false;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;

  /**
   * @param response - an event-stream response (status 200)
   * @param label - names the stream in timeout messages
   */
  constructor(response: Response, label: string) {
    this.response = response;
    this.#label = label;
    this.closed = this.#read();
  }

  async #read(): Promise<{ error?: unknown }> {
    const parser = createSseParser({
      onEvent: (event: SseEvent) => {
        this.events.push({ id: Number(event.id), event: event.event, data: JSON.parse(event.data) });
      },
    });
    const decoder = new TextDecoder();
    try {
      if (this.response.body === null) return {};
      const reader = this.response.body.getReader();
      this.#reader = reader;
      while (true) {
        const { done, value } = await reader.read();
        if (done) return {};
        parser.feed(decoder.decode(value, { stream: true }));
        this.#wake();
      }
    } catch (error) {
      return { error };
    } finally {
      this.#isClosed = true;
      this.#wake();
    }
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  /**
   * Resolves once `condition` holds for the events so far; rejects when the stream closes first,
   * or after `timeoutMs` (a bound against hanging, with what arrived in the message).
   */
  waitFor(condition: (events: readonly ReceivedEvent[]) => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${this.#label}: no ${what} within ${timeoutMs} ms; got ${this.describe()}`));
      }, timeoutMs);
      const check = (): void => {
        if (condition(this.events)) {
          clearTimeout(timer);
          resolve();
        } else if (this.#isClosed) {
          clearTimeout(timer);
          reject(new Error(`${this.#label}: closed before ${what}; got ${this.describe()}`));
        } else {
          this.#waiters.push(check);
        }
      };
      check();
    });
  }

  /** Resolves once an event with an id of at least `id` arrived. */
  seen(id: number, timeoutMs?: number): Promise<void> {
    return this.waitFor((events) => events.some((event) => event.id >= id), `event ${id}`, timeoutMs);
  }

  /** Resolves with the terminal event. */
  async terminal(timeoutMs?: number): Promise<ReceivedEvent> {
    await this.waitFor((events) => events.some(isTerminal), 'terminal event', timeoutMs);
    return this.events.find(isTerminal) as ReceivedEvent;
  }

  /** Stops reading. */
  async cancel(): Promise<void> {
    await this.#reader?.cancel().catch(() => {});
  }

  /** Ids and names received, for messages. */
  describe(): string {
    return this.events.map((event) => `${event.id}:${event.event}`).join(' ') || 'nothing';
  }
}
