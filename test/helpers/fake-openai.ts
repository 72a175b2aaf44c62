/**
 * A fake OpenAI server for tests: a real `node:http` server on `127.0.0.1`, port 0, that speaks
 * the real wire formats, so the real `openai` and `@openai/agents` packages (and our own lean
 * provider) run against it unchanged.
 *
 * Endpoints (under `/v1`, so `baseUrl` works as an SDK `baseURL` and as `LLM_BASE_URL`):
 * - `POST /v1/chat/completions`, streamed (`data: {chat.completion.chunk}` … `data: [DONE]`, a
 *   usage chunk when `stream_options.include_usage`) and not streamed;
 * - `POST /v1/responses`, streamed (`event: response.created` … `response.completed`) and not;
 * - `GET /v1/models`, `GET /v1/models/{id}`;
 * - 401 with the OpenAI error JSON when the bearer key is missing or wrong, 404 for unknown paths.
 *
 * Each generation request consumes the next queued {@link FakeReply} (see
 * {@link FakeOpenAI.enqueue}), else uses the default reply (option `reply`, or
 * {@link FakeOpenAI.setReply}). A reply scripts text tokens, tool calls (a `transfer_to_<agent>`
 * tool call is an Agents SDK handoff), finish reason, HTTP error status, and pacing: delay before
 * the first token, delay between tokens, never a first token, stall or drop after N tokens, and
 * byte fragmentation of the SSE body.
 *
 * Every request is recorded ({@link FakeRequest}: method, path, headers, parsed body) together
 * with whether the client went away before the response finished (`aborted`), so tests can
 * assert that a cancel reaches the upstream:
 *
 * @example
 * const fake = await startFakeOpenAI();
 * fake.enqueue({ tokens: ['a', 'b'], stallAfterTokens: 1 });
 * // … start a stream against fake.baseUrl with fake.apiKey, cancel it …
 * const request = await fake.waitForRequest(0);
 * expect(await request.closed).toEqual({ aborted: true });
 * await fake.close();
 *
 * @module
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  CHAT_DONE_FRAME,
  type ChatContext,
  chatChunk,
  chatCompletion,
  chatFrame,
  chatToolCallDeltas,
  chatUsage,
  chatUsageChunk,
  type FakeFinishReason,
  type FakeToolCall,
  fakeId,
  ResponsesEventBuilder,
  responsesFrame,
} from './fake-openai-wire.ts';

export type { FakeFinishReason, FakeToolCall } from './fake-openai-wire.ts';

/** The default reply text, as tokens. */
export const DEFAULT_FAKE_TOKENS: readonly string[] = ['Hello', ' from', ' the', ' fake', ' model', '.'];

/** The API key the fake accepts by default. */
export const FAKE_API_KEY = 'sk-fake-test-key-0123456789';

/** One scripted reply to a generation request (chat completions or responses). */
export interface FakeReply {
  /** Text tokens, one delta each. @defaultValue {@link DEFAULT_FAKE_TOKENS} (none when `toolCalls` is set) */
  readonly tokens?: readonly string[];
  /** Tool calls after the text. A `transfer_to_<agent>` call is an Agents SDK handoff. */
  readonly toolCalls?: readonly FakeToolCall[];
  /** @defaultValue `tool_calls` with tool calls, else `stop` (`length` ends a Responses reply as `response.incomplete`) */
  readonly finishReason?: FakeFinishReason;
  /** Answer with this HTTP status and an OpenAI error JSON body instead of a reply. */
  readonly status?: number;
  /** The error message for `status`. */
  readonly errorMessage?: string;
  /** A `Retry-After` header with `status` (seconds or an HTTP date). */
  readonly retryAfter?: string;
  /**
   * Answer nothing: reset the connection (TCP RST) as soon as the request arrived, before any
   * response byte (a crashed or overloaded upstream, a proxy dropping the connection).
   */
  readonly resetBeforeHeaders?: boolean;
  /** After this many tokens, reset the connection (TCP RST rather than `dropAfterTokens`' FIN). */
  readonly resetAfterTokens?: number;
  /** After the scripted tokens, keep sending `tokens` again forever (every `tokenDelayMs`): a model that never ends. */
  readonly endless?: boolean;
  /** Delay before the response headers. @defaultValue 0 */
  readonly headersDelayMs?: number;
  /** Delay between the headers (and opening events) and the first token. @defaultValue 0 */
  readonly firstTokenDelayMs?: number;
  /** Delay between tokens. @defaultValue 0 */
  readonly tokenDelayMs?: number;
  /** Send headers (and opening events), then nothing until the client goes away. */
  readonly neverFirstToken?: boolean;
  /** After this many tokens, send nothing more until the client goes away. */
  readonly stallAfterTokens?: number;
  /** After this many tokens, destroy the socket (an upstream crash mid-stream). */
  readonly dropAfterTokens?: number;
  /**
   * Write the SSE body in pieces of this many bytes, cut at multiples of N of the body's byte
   * offset (and at frame ends), yielding to the event loop between pieces, so a client sees
   * the bytes split at arbitrary points, also inside a line or a multibyte character.
   */
  readonly fragmentBytes?: number;
  /**
   * Cut the SSE body at these byte offsets (each cut is a separate write, after a turn of the
   * event loop). Combines with `fragmentBytes`.
   */
  readonly splitAt?: readonly number[];
  /** Answer a `stream: true` request with one JSON body, as servers that cannot stream do. */
  readonly ignoreStream?: boolean;
  /** Send this raw text (or these raw bytes, e.g. invalid UTF-8) as the SSE body instead of the scripted events (after the headers). */
  readonly rawBody?: string | Buffer;
}

/** One recorded request. */
export interface FakeRequest {
  readonly index: number;
  readonly method: string;
  /** Path with query. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The raw body text. */
  readonly raw: string;
  /** The parsed JSON body (undefined when there is none or it is not JSON). */
  // biome-ignore lint/suspicious/noExplicitAny: request bodies are free-form JSON that tests inspect.
  readonly body: any;
  /** Which endpoint answered. */
  readonly endpoint: 'chat' | 'responses' | 'models' | 'model' | 'unknown';
  /** The client's port: equal ports on two requests mean a reused keep-alive connection. */
  readonly remotePort: number | undefined;
  /** True once the response ended normally. */
  finished: boolean;
  /** True when the client closed the connection before the response finished. */
  aborted: boolean;
  /** Resolves when the connection of this request closes (normally or by abort). */
  readonly closed: Promise<{ aborted: boolean }>;
}

/** Options of {@link startFakeOpenAI}. */
export interface FakeOpenAIOptions {
  /** The accepted bearer key; `null` accepts any request, also without a key. @defaultValue {@link FAKE_API_KEY} */
  readonly apiKey?: string | null;
  /** Models listed by `GET /v1/models`. @defaultValue `['gpt-4o-mini', 'fake-model']` */
  readonly models?: readonly string[];
  /** The reply when the queue is empty: fixed, or computed from the request. */
  readonly reply?: FakeReply | ((request: FakeRequest) => FakeReply);
  /**
   * Keep every request in `requests` and `generations`. Off for soaks: hundreds of thousands of
   * kept bodies would grow the test process, not the server under test (and `waitForRequest`
   * then never resolves). @defaultValue true
   */
  readonly record?: boolean;
  /** How long an idle kept-alive connection stays open (node's `server.keepAliveTimeout`). @defaultValue 5000 */
  readonly keepAliveTimeoutMs?: number;
}

/** A running fake. */
export interface FakeOpenAI {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `http://127.0.0.1:PORT/v1`: an SDK `baseURL`, `LLM_BASE_URL` or `OPENAI_BASE_URL`. */
  readonly baseUrl: string;
  /** The accepted key (undefined when any key is accepted). */
  readonly apiKey: string | undefined;
  /** Every request so far, in arrival order. */
  readonly requests: readonly FakeRequest[];
  /** Generation requests only (chat completions and responses), in order. */
  readonly generations: readonly FakeRequest[];
  /** Connections open now (kept-alive idle ones too). */
  readonly openConnections: number;
  /** Closes the kept-alive connections that carry no request now (as a keep-alive timeout would). */
  closeIdleConnections(): void;
  /** Queues replies for the next generation requests, in order. */
  enqueue(...replies: FakeReply[]): void;
  /** Sets the reply used when the queue is empty. */
  setReply(reply: FakeReply | ((request: FakeRequest) => FakeReply)): void;
  /** Resolves with the generation request number `index` (0-based) once it has arrived. */
  waitForRequest(index: number, timeoutMs?: number): Promise<FakeRequest>;
  /** Ends every connection and stops the server. */
  close(): Promise<void>;
}

const sleep = (milliseconds: number): Promise<void> =>
  milliseconds > 0 ? new Promise((resolve) => setTimeout(resolve, milliseconds)) : Promise.resolve();

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Closes a socket with a TCP RST (the peer reads ECONNRESET), or destroys it when it is gone already. */
function resetSocket(socket: Socket | null): void {
  if (socket === null) return;
  if (!socket.destroyed && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

/** OpenAI's error body. */
function errorBody(message: string, type: string, code: string | null) {
  return { error: { message, type, param: null, code } };
}

function sendJson(
  response: ServerResponse,
  status: number,
  payload: unknown,
  extraHeaders: Record<string, string> = {},
): void {
  const text = JSON.stringify(payload);
  response.writeHead(status, {
    ...extraHeaders,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-request-id': fakeId('req_'),
    'openai-processing-ms': '1',
  });
  response.end(text);
}

function errorTypeFor(status: number): { type: string; code: string | null } {
  if (status === 401) return { type: 'invalid_request_error', code: 'invalid_api_key' };
  if (status === 403) return { type: 'invalid_request_error', code: 'unsupported_country_region_territory' };
  if (status === 404) return { type: 'invalid_request_error', code: 'model_not_found' };
  if (status === 429) return { type: 'requests', code: 'rate_limit_exceeded' };
  if (status >= 500) return { type: 'server_error', code: null };
  return { type: 'invalid_request_error', code: null };
}

/** Masks a key the way OpenAI's 401 message does (`sk-wr****ong`). */
function maskKey(key: string): string {
  return key.length <= 8 ? '****' : `${key.slice(0, 3)}${'*'.repeat(Math.min(20, key.length - 7))}${key.slice(-4)}`;
}

/** Tracks one response: writes (optionally fragmented) and knows whether the client left. */
class ResponseWriter {
  #offset = 0;
  #gone = false;
  #flushed: Promise<void> = Promise.resolve();
  readonly #response: ServerResponse;
  readonly #fragmentBytes: number;
  readonly #splitAt: readonly number[];
  readonly closed: Promise<void>;

  constructor(response: ServerResponse, reply: FakeReply) {
    this.#response = response;
    this.#fragmentBytes = reply.fragmentBytes ?? 0;
    this.#splitAt = [...(reply.splitAt ?? [])].sort((a, b) => a - b);
    this.closed = new Promise((resolve) => {
      response.on('close', () => {
        this.#gone = true;
        resolve();
      });
    });
  }

  /** True once the connection closed: stop writing. */
  get gone(): boolean {
    return this.#gone;
  }

  async write(text: string | Buffer): Promise<void> {
    if (this.#gone) return;
    if (this.#fragmentBytes <= 0 && this.#splitAt.length === 0) {
      this.#flushed = new Promise((resolve) => this.#response.write(text, () => resolve()));
      return;
    }
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    let start = 0;
    while (start < bytes.length && !this.#gone) {
      const end = Math.min(bytes.length, start + this.#nextCut());
      this.#flushed = new Promise((resolve) => this.#response.write(bytes.subarray(start, end), () => resolve()));
      this.#offset += end - start;
      start = end;
      await yieldToEventLoop();
    }
  }

  /**
   * Destroys the socket (an upstream crash), after what was written so far reached the kernel:
   * a crash after N tokens means the client did get those N tokens.
   */
  async drop(): Promise<void> {
    await this.#flushed;
    await yieldToEventLoop();
    this.#response.destroy();
  }

  /** Like {@link ResponseWriter.drop}, with a TCP RST instead of a FIN. */
  async reset(): Promise<void> {
    await this.#flushed;
    await yieldToEventLoop();
    resetSocket(this.#response.socket);
  }

  /** Bytes until the next cut, from the current body offset. */
  #nextCut(): number {
    let distance = Number.POSITIVE_INFINITY;
    if (this.#fragmentBytes > 0) distance = this.#fragmentBytes - (this.#offset % this.#fragmentBytes);
    for (const cut of this.#splitAt) {
      if (cut > this.#offset) {
        distance = Math.min(distance, cut - this.#offset);
        break;
      }
    }
    return distance;
  }

  /** Holds the response open until the client (or `close()`) ends the connection. */
  async hold(): Promise<void> {
    await this.closed;
  }
}

/**
 * Starts a fake OpenAI server on `127.0.0.1`, port 0.
 *
 * @param options - key, models and default reply
 * @returns the running fake; call `close()` in `afterEach`
 */
export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const apiKey = options.apiKey === undefined ? FAKE_API_KEY : (options.apiKey ?? undefined);
  const models = options.models ?? ['gpt-4o-mini', 'fake-model'];
  const requests: FakeRequest[] = [];
  const generations: FakeRequest[] = [];
  const queue: FakeReply[] = [];
  const sockets = new Set<Socket>();
  const waiters: Array<() => void> = [];
  let defaultReply: FakeReply | ((request: FakeRequest) => FakeReply) = options.reply ?? {};
  let closing = false;
  const recording = options.record ?? true;

  const nextReply = (request: FakeRequest): FakeReply => {
    const queued = queue.shift();
    if (queued) return queued;
    return typeof defaultReply === 'function' ? defaultReply(request) : defaultReply;
  };

  const server: Server = createServer((incoming, response) => {
    void handle(incoming, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, errorBody(String(error), 'server_error', null));
      else response.destroy();
    });
  });
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 5_000;
  server.on('connection', (socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(incoming: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const path = incoming.url ?? '/';
    const pathname = path.split('?')[0] ?? '/';
    const method = incoming.method ?? 'GET';
    const endpoint: FakeRequest['endpoint'] =
      method === 'POST' && pathname === '/v1/chat/completions'
        ? 'chat'
        : method === 'POST' && pathname === '/v1/responses'
          ? 'responses'
          : method === 'GET' && pathname === '/v1/models'
            ? 'models'
            : method === 'GET' && pathname.startsWith('/v1/models/')
              ? 'model'
              : 'unknown';
    let resolveClosed!: (value: { aborted: boolean }) => void;
    const record: FakeRequest = {
      index: requests.length,
      method,
      path,
      headers: incoming.headers,
      raw,
      body,
      endpoint,
      remotePort: incoming.socket.remotePort,
      finished: false,
      aborted: false,
      closed: new Promise((resolve) => {
        resolveClosed = resolve;
      }),
    };
    if (recording) requests.push(record);
    response.on('finish', () => {
      record.finished = true;
    });
    response.on('close', () => {
      // Closed before the response ended, and not by our own close(): the client went away.
      if (!response.writableFinished && !closing) record.aborted = true;
      resolveClosed({ aborted: record.aborted });
    });
    if (recording && (endpoint === 'chat' || endpoint === 'responses')) {
      generations.push(record);
      for (const wake of waiters.splice(0)) wake();
    }

    if (apiKey !== undefined) {
      const authorization = incoming.headers.authorization ?? '';
      const given = authorization.startsWith('Bearer ') ? authorization.slice(7) : '';
      if (given !== apiKey) {
        const message =
          given === ''
            ? "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            : `Incorrect API key provided: ${maskKey(given)}. You can find your API key at https://platform.openai.com/account/api-keys.`;
        sendJson(response, 401, errorBody(message, 'invalid_request_error', given === '' ? null : 'invalid_api_key'));
        return;
      }
    }

    if (endpoint === 'models') {
      sendJson(response, 200, {
        object: 'list',
        data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fake' })),
      });
    } else if (endpoint === 'model') {
      const id = decodeURIComponent(pathname.slice('/v1/models/'.length));
      if (models.includes(id))
        sendJson(response, 200, { id, object: 'model', created: 1_700_000_000, owned_by: 'fake' });
      else
        sendJson(
          response,
          404,
          errorBody(
            `The model '${id}' does not exist or you do not have access to it.`,
            'invalid_request_error',
            'model_not_found',
          ),
        );
    } else if (endpoint === 'chat' || endpoint === 'responses') {
      const reply = nextReply(record);
      if (reply.resetBeforeHeaders) {
        resetSocket(incoming.socket);
        return;
      }
      await sleep(reply.headersDelayMs ?? 0);
      if (reply.status !== undefined && reply.status >= 400) {
        const { type, code } = errorTypeFor(reply.status);
        sendJson(
          response,
          reply.status,
          errorBody(reply.errorMessage ?? `Fake upstream error ${reply.status}`, type, code),
          reply.retryAfter === undefined ? {} : { 'retry-after': reply.retryAfter },
        );
        return;
      }
      const request = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
      if (endpoint === 'chat') await answerChat(request, reply, response);
      else await answerResponses(request, reply, response);
    } else {
      sendJson(
        response,
        404,
        errorBody(`Unknown request URL: ${method} ${pathname}.`, 'invalid_request_error', 'unknown_url'),
      );
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    baseUrl: `${url}/v1`,
    apiKey,
    requests,
    generations,
    get openConnections() {
      return sockets.size;
    },
    closeIdleConnections() {
      server.closeIdleConnections();
    },
    enqueue(...replies) {
      queue.push(...replies);
    },
    setReply(reply) {
      defaultReply = reply;
    },
    async waitForRequest(index, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (generations[index] === undefined) {
        if (Date.now() > deadline)
          throw new Error(`fake-openai: generation request #${index} did not arrive in ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 50);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return generations[index] as FakeRequest;
    },
    async close() {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** Prompt size in "tokens" for usage: words of the request, roughly. */
function promptTokens(request: Record<string, unknown>): number {
  return Math.max(1, Math.ceil(JSON.stringify(request.messages ?? request.input ?? '').length / 4));
}

function replyTokens(reply: FakeReply): readonly string[] {
  return reply.tokens ?? (reply.toolCalls && reply.toolCalls.length > 0 ? [] : DEFAULT_FAKE_TOKENS);
}

function finishReasonOf(reply: FakeReply): FakeFinishReason {
  return reply.finishReason ?? (reply.toolCalls && reply.toolCalls.length > 0 ? 'tool_calls' : 'stop');
}

function startEventStream(response: ServerResponse): void {
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-request-id': fakeId('req_'),
    'openai-processing-ms': '1',
  });
  response.flushHeaders();
}

/**
 * Writes the token frames with the reply's pacing. Returns false when the script stopped the
 * stream (client gone, never a first token, stall or drop), true when every token was written.
 */
async function writeTokens(writer: ResponseWriter, reply: FakeReply, frames: readonly string[]): Promise<boolean> {
  if (reply.neverFirstToken) {
    await writer.hold();
    return false;
  }
  await sleep(reply.firstTokenDelayMs ?? 0);
  for (let index = 0; index < frames.length; index += 1) {
    if (writer.gone) return false;
    if (reply.stallAfterTokens !== undefined && index >= reply.stallAfterTokens) {
      await writer.hold();
      return false;
    }
    if (reply.dropAfterTokens !== undefined && index >= reply.dropAfterTokens) {
      await writer.drop();
      return false;
    }
    if (reply.resetAfterTokens !== undefined && index >= reply.resetAfterTokens) {
      await writer.reset();
      return false;
    }
    if (index > 0) await sleep(reply.tokenDelayMs ?? 0);
    await writer.write(frames[index] as string);
  }
  if (reply.endless && frames.length > 0) {
    // A model that never ends: the same frames again until the client goes away.
    for (let index = 0; !writer.gone; index = (index + 1) % frames.length) {
      await sleep(Math.max(1, reply.tokenDelayMs ?? 0));
      await writer.write(frames[index] as string);
    }
    return false;
  }
  // A stall or drop right after the last token: the text is complete but the stream never ends.
  if (reply.stallAfterTokens === frames.length) {
    await writer.hold();
    return false;
  }
  if (reply.dropAfterTokens === frames.length) {
    await writer.drop();
    return false;
  }
  return !writer.gone;
}

async function answerChat(request: Record<string, unknown>, reply: FakeReply, response: ServerResponse): Promise<void> {
  const context: ChatContext = {
    id: fakeId('chatcmpl-'),
    created: Math.floor(Date.now() / 1000),
    model: typeof request.model === 'string' ? request.model : 'gpt-4o-mini',
  };
  const tokens = replyTokens(reply);
  const calls = reply.toolCalls ?? [];
  const callIds = calls.map((call) => call.callId ?? fakeId('call_'));
  const finishReason = finishReasonOf(reply);
  const usage = chatUsage(promptTokens(request), tokens.length + calls.length);
  if (request.stream !== true || reply.ignoreStream) {
    sendJson(response, 200, chatCompletion(context, tokens.join(''), calls, callIds, finishReason, usage));
    return;
  }
  const writer = new ResponseWriter(response, reply);
  startEventStream(response);
  if (reply.rawBody !== undefined) {
    await writer.write(reply.rawBody);
    if (!writer.gone) response.end();
    return;
  }
  // The real API opens with a role delta whose content is empty.
  await writer.write(chatFrame(chatChunk(context, { role: 'assistant', content: '', refusal: null }, null)));
  const frames = tokens.map((token) => chatFrame(chatChunk(context, { content: token }, null)));
  if (!(await writeTokens(writer, reply, frames))) return;
  for (const delta of chatToolCallDeltas(calls, callIds))
    await writer.write(chatFrame(chatChunk(context, delta, null)));
  await writer.write(chatFrame(chatChunk(context, {}, finishReason)));
  const streamOptions = request.stream_options as { include_usage?: boolean } | undefined;
  if (streamOptions?.include_usage === true) await writer.write(chatFrame(chatUsageChunk(context, usage)));
  await writer.write(CHAT_DONE_FRAME);
  if (!writer.gone) response.end();
}

async function answerResponses(
  request: Record<string, unknown>,
  reply: FakeReply,
  response: ServerResponse,
): Promise<void> {
  const model = typeof request.model === 'string' ? request.model : 'gpt-4o-mini';
  const builder = new ResponsesEventBuilder(model, request);
  const tokens = replyTokens(reply);
  const calls = reply.toolCalls ?? [];
  const status = finishReasonOf(reply) === 'length' ? 'incomplete' : 'completed';
  const opening = builder.opening();
  const message = tokens.length > 0 ? builder.message(tokens) : undefined;
  const callEvents = calls.flatMap((call) => builder.functionCall(call));
  const closing = builder.closing(status, promptTokens(request), tokens.length + calls.length);
  if (request.stream !== true || reply.ignoreStream) {
    sendJson(response, 200, closing.response);
    return;
  }
  const writer = new ResponseWriter(response, reply);
  startEventStream(response);
  if (reply.rawBody !== undefined) {
    await writer.write(reply.rawBody);
    if (!writer.gone) response.end();
    return;
  }
  for (const event of opening) await writer.write(responsesFrame(event));
  if (message) for (const event of message.head) await writer.write(responsesFrame(event));
  const frames = (message?.deltas ?? []).map((event) => responsesFrame(event));
  if (!(await writeTokens(writer, reply, frames))) return;
  if (message) for (const event of message.tail) await writer.write(responsesFrame(event));
  for (const event of callEvents) await writer.write(responsesFrame(event));
  await writer.write(responsesFrame(closing));
  if (!writer.gone) response.end();
}
