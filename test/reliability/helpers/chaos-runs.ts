/**
 * Clients under chaos, as real users run them: streamwell's reconnecting stream client over SSE
 * and over the WebSocket transport, and the Vercel AI SDK's headless `Chat` (what `useChat` runs)
 * with `createChatFetch` and the example page's resume-on-network-error loop. Each run goes
 * through a lane of chaos proxies (see `chaos-proxy.ts`); connection number k of a run is routed
 * by the lane (to instance A first and to B after a cut, for the two-instance suites).
 *
 * Every run is checked the same way, and every violation is returned as a message (with the
 * seed, lane and stream id), never thrown, so one suite reports all of them:
 * - the text the client reassembled equals the scripted reply exactly;
 * - the events the client delivered have ids 1, 2, …, N, and each connection carried ids
 *   strictly increasing by one from its cursor (no replay below it, no gap);
 * - exactly one terminal event reached the client, as its last event, a `done` with `stop`;
 * - the stored run has exactly one terminal event, ids 1…N, and the same text.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { Chat } from '@ai-sdk/react';
import { DefaultChatTransport, type UIMessage } from 'ai';
import {
  createChatFetch,
  createSseTransport,
  createStreamClient,
  createWsTransport,
  type StreamEvent,
  type StreamTransport,
  type TransportHandlers,
  type WebSocketConstructorLike,
} from 'streamwell/client';
import WebSocket from 'ws';
import { countTerminal, readStoredEvents, type StoredEvent, type TestRedis } from '../../helpers/redis.ts';
import { followResume, type PacedScript, pacedMessage, pacedText } from '../../redis/helpers/instances.ts';
import type { ChaosProxy } from './chaos-proxy.ts';

/** The transports under test. */
export type ChaosTransport = 'sse' | 'ws' | 'ai-sdk';

/** A lane: proxies that one client at a time runs through. */
export interface ChaosLane {
  readonly index: number;
  /** The lane's proxies (their cuts are the lane's). */
  readonly proxies: readonly ChaosProxy[];
  /** `http://127.0.0.1:PORT` of connection number `k` (0 = the first) of a run. */
  route(k: number): string;
}

/** Where the stored run is read, bypassing every proxy. */
export type StoreCheck =
  | { readonly kind: 'http'; readonly origin: string }
  | { readonly kind: 'redis'; readonly client: TestRedis; readonly prefix: string };

/** What one run did. */
export interface ChaosRunResult {
  readonly streamId: string | undefined;
  /** Cuts on the lane's proxies during the run. */
  readonly cuts: number;
  /** Connections the client opened (start, resumes). */
  readonly connections: number;
  /** Every violation, as a message; empty when the run was right. */
  readonly failures: string[];
}

/** Sum of the lane's cuts. */
export function laneCuts(lane: ChaosLane): number {
  return lane.proxies.reduce((sum, proxy) => sum + proxy.cuts.fin + proxy.cuts.rst, 0);
}

/** Rewrites the origin of `input` to `origin`, keeping path and query. */
function reroute(input: RequestInfo | URL, origin: string): string {
  const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  return `${origin}${url.pathname}${url.search}`;
}

/** Ids 1…N in order, or a message saying where they are not. */
function checkIds(ids: readonly number[], what: string): string | undefined {
  for (let index = 0; index < ids.length; index += 1) {
    if (ids[index] !== index + 1) return `${what}: ids ${ids.join(',')} are not 1…${ids.length}`;
  }
  return undefined;
}

/** The ids one connection carried: strictly increasing by one from `after`. */
function checkConnection(ids: readonly number[], after: number, what: string): string | undefined {
  for (let index = 0; index < ids.length; index += 1) {
    if (ids[index] !== after + index + 1) return `${what}: after ${after} the connection carried ids ${ids.join(',')}`;
  }
  return undefined;
}

/** One stored event, as far as the checks look at it. */
interface StoredRunEvent {
  readonly id: number;
  readonly event: string;
  readonly token?: string;
  readonly finishReason?: string;
}

/** Reads the stored run (bypassing the proxies) and checks it against the expected text. */
async function checkStored(
  store: StoreCheck,
  streamId: string,
  expected: string,
  label: string,
): Promise<{ failures: string[]; events: StoredRunEvent[] }> {
  const failures: string[] = [];
  let events: StoredRunEvent[];
  if (store.kind === 'redis') {
    // The producing instance appends in batches: a client following it live can see the end a
    // moment before it is in Redis. Wait for the end (or give up after a bound), then check.
    let read: StoredEvent[] = [];
    const deadline = Date.now() + 10_000;
    do {
      read = await readStoredEvents(store.client, store.prefix, streamId);
      if (countTerminal(read) > 0) break;
      await pause(20);
    } while (Date.now() < deadline);
    events = read.map((stored) => {
      const data = JSON.parse(stored.json) as { token?: string; finishReason?: string };
      return { id: stored.id, event: stored.event, ...data };
    });
  } else {
    const follower = await followResume(store.origin, streamId);
    if (follower.response.status !== 200) {
      return { failures: [`${label}: stored run answered ${follower.response.status}`], events: [] };
    }
    await follower.closed;
    events = follower.events.map((event) => ({
      id: event.id,
      event: event.event,
      ...(event.data as { token?: string; finishReason?: string }),
    }));
  }
  const idProblem = checkIds(
    events.map((event) => event.id),
    `${label}: stored`,
  );
  if (idProblem !== undefined) failures.push(idProblem);
  if (countTerminal(events) !== 1) failures.push(`${label}: ${countTerminal(events)} terminal events stored`);
  const text = events.map((event) => (event.event === 'token' ? (event.token ?? '') : '')).join('');
  if (text !== expected) failures.push(`${label}: stored text ${JSON.stringify(text)} is not the reply`);
  const last = events.at(-1);
  if (last?.event !== 'done' || last.finishReason !== 'stop') {
    failures.push(`${label}: stored run ends with ${JSON.stringify(last)}`);
  }
  return { failures, events };
}

/** Options of one run. */
export interface ChaosRunOptions {
  readonly lane: ChaosLane;
  readonly transport: ChaosTransport;
  readonly script: PacedScript;
  readonly store: StoreCheck;
  /** Printed with every failure (the seed). */
  readonly label: string;
}

/** Client-side reconnect pacing: quick, so that a suite makes hundreds of cuts in seconds. */
const BACKOFF = { initialDelayMs: 5, maxDelayMs: 40 };
/** Reconnects in a row without a new event before a client gives up (a cut at byte 0 makes none). */
const MAX_ATTEMPTS = 30;

/**
 * Runs one reply through the lane with the given transport and checks it.
 *
 * @param options - lane, transport, script, where to check the stored run
 * @returns the figures and every violation
 */
export async function runUnderChaos(options: ChaosRunOptions): Promise<ChaosRunResult> {
  const before = laneCuts(options.lane);
  const result =
    options.transport === 'ai-sdk' ? await runChat(options) : await runStreamClient(options, options.transport);
  return { ...result, cuts: laneCuts(options.lane) - before };
}

async function runStreamClient(options: ChaosRunOptions, kind: 'sse' | 'ws'): Promise<Omit<ChaosRunResult, 'cuts'>> {
  const { lane, script } = options;
  const expected = pacedText(script);
  let connections = 0;
  const route = (): string => {
    const origin = lane.route(connections);
    connections += 1;
    return origin;
  };
  let base: StreamTransport;
  if (kind === 'sse') {
    const routed = ((input: RequestInfo | URL, init?: RequestInit) =>
      fetch(reroute(input, route()), init)) as typeof fetch;
    base = createSseTransport({ url: `${lane.route(0)}/api/stream/message`, fetch: routed });
  } else {
    // A `ws` WebSocket whose URL is the lane's route for this connection.
    class Routed extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(reroute(url, route()).replace(/^http/, 'ws'), protocols);
      }
    }
    base = createWsTransport({
      url: `${lane.route(0).replace(/^http/, 'ws')}/ws/stream`,
      WebSocket: Routed as unknown as WebSocketConstructorLike,
    });
  }
  // Per connection, the cursor it asked from and the ids it carried, before the session's dedupe.
  const carried: Array<{ after: number; ids: number[] }> = [];
  const watch = (handlers: TransportHandlers, after: number): TransportHandlers => {
    const record = { after, ids: [] as number[] };
    carried.push(record);
    return {
      ...handlers,
      onStreamId: (id) => handlers.onStreamId(id),
      onActivity: () => handlers.onActivity(),
      onRetry: (ms) => handlers.onRetry(ms),
      onEvent: (event) => {
        record.ids.push(event.id);
        handlers.onEvent(event);
      },
    };
  };
  const transport: StreamTransport = {
    name: base.name,
    start: (request, handlers, signal) => base.start(request, watch(handlers, 0), signal),
    resume: (request, handlers, signal) => base.resume(request, watch(handlers, request.after ?? 0), signal),
    cancel: (streamId, signal) => base.cancel(streamId, signal),
  };
  const client = createStreamClient({ transport, backoff: BACKOFF, maxAttempts: MAX_ATTEMPTS });
  const delivered: StreamEvent[] = [];
  const session = client.start(pacedMessage(randomBytes(4).toString('hex'), script), {
    onEvent: (event) => delivered.push(event),
  });
  const outcome = await session.done;
  const label = `${options.label} ${kind} lane ${lane.index} stream ${outcome.streamId}`;
  const failures: string[] = [];
  if (outcome.status !== 'done' || outcome.finishReason !== 'stop') {
    failures.push(`${label}: ended ${outcome.status} ${outcome.finishReason ?? ''} ${outcome.error?.message ?? ''}`);
  }
  if (outcome.text !== expected) {
    failures.push(`${label}: text ${JSON.stringify(outcome.text)} is not ${JSON.stringify(expected)}`);
  }
  const idProblem = checkIds(
    delivered.map((event) => event.id),
    `${label}: delivered`,
  );
  if (idProblem !== undefined) failures.push(idProblem);
  for (const [index, record] of carried.entries()) {
    const problem = checkConnection(record.ids, record.after, `${label}: connection ${index}`);
    if (problem !== undefined) failures.push(problem);
  }
  const terminals = delivered.filter((event) => event.event === 'done' || event.event === 'error');
  if (terminals.length !== 1 || delivered.at(-1) !== terminals[0]) {
    failures.push(`${label}: ${terminals.length} terminal events delivered`);
  }
  if (outcome.streamId !== undefined) {
    failures.push(...(await checkStored(options.store, outcome.streamId, expected, label)).failures);
  }
  return { streamId: outcome.streamId, connections, failures };
}

/** What the SDK was handed on one connection: ids of whole events and chunk types. */
interface ChatConnection {
  /** Method and status, for failure messages. */
  what: string;
  ids: number[];
  finishes: number;
  errors: number;
}

/**
 * Passes a chat response to the SDK unchanged while noting the event ids and chunk types in it
 * (after `createChatFetch`, so exactly what the SDK parses).
 */
function observe(response: Response, record: ChatConnection): Response {
  if (response.body === null) return response;
  let buffer = '';
  const decoder = new TextDecoder();
  const scan = (text: string): void => {
    buffer += text;
    let newline = buffer.indexOf('\n');
    while (newline !== -1) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      if (line.startsWith('id:')) record.ids.push(Number(line.slice(3).trim()));
      if (line.startsWith('data:')) {
        const data = line.slice(5).trim();
        if (data !== '[DONE]') {
          const type = (JSON.parse(data) as { type?: string }).type;
          if (type === 'finish') record.finishes += 1;
          if (type === 'error') record.errors += 1;
        }
      }
      newline = buffer.indexOf('\n');
    }
  };
  const body = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        scan(decoder.decode(chunk, { stream: true }));
        controller.enqueue(chunk);
      },
    }),
  );
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

const textOf = (message: UIMessage | undefined): string =>
  (message?.parts ?? []).map((part) => (part.type === 'text' ? part.text : '')).join('');

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function runChat(options: ChaosRunOptions): Promise<Omit<ChaosRunResult, 'cuts'>> {
  const { lane, script } = options;
  const expected = pacedText(script);
  let connections = 0;
  let streamId: string | undefined;
  const routed = ((input: RequestInfo | URL, init?: RequestInit) => {
    const origin = lane.route(connections);
    connections += 1;
    return fetch(reroute(input, origin), init);
  }) as typeof fetch;
  const api = `${lane.route(0)}/api/chat`;
  const chatFetch = createChatFetch({ fetch: routed, api });
  const handed: ChatConnection[] = [];
  const observed = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const method = init?.method ?? 'GET';
    let response: Response;
    try {
      response = await chatFetch(input, init);
    } catch (error) {
      handed.push({ what: `${method} failed`, ids: [], finishes: 0, errors: 0 });
      throw error;
    }
    streamId = response.headers.get('x-stream-id') ?? streamId;
    const record: ChatConnection = { what: `${method} ${response.status}`, ids: [], finishes: 0, errors: 0 };
    handed.push(record);
    return observe(response, record);
  }) as typeof fetch;
  const transport = new DefaultChatTransport<UIMessage>({ api, fetch: observed });
  // What `useChat` (@ai-sdk/react 3.0.328) hands to `Chat`: the two methods, not the
  // `resumeStreamIsReplay` flag; createChatFetch keeps the text exact without it.
  const chat = new Chat<UIMessage>({
    id: `chaos-${randomBytes(6).toString('hex')}`,
    transport: {
      sendMessages: (request) => transport.sendMessages(request),
      reconnectToStream: (request) => transport.reconnectToStream(request),
    },
  });
  await chat.sendMessage({ text: pacedMessage(randomBytes(4).toString('hex'), script) });
  // The example page's loop (apps/web/src/ai-sdk/use-auto-resume.ts): resume after a network
  // failure, with backoff, as long as the drops keep coming.
  let attempts = 0;
  while (chat.status === 'error' && chat.error instanceof TypeError && attempts < MAX_ATTEMPTS) {
    attempts += 1;
    await pause(Math.min(BACKOFF.maxDelayMs, BACKOFF.initialDelayMs * attempts));
    const before = textOf(chat.messages.at(-1));
    await chat.resumeStream();
    if (textOf(chat.messages.at(-1)) !== before) attempts = 0;
  }
  const label = `${options.label} ai-sdk lane ${lane.index} stream ${streamId}`;
  const failures: string[] = [];
  if (chat.status !== 'ready') failures.push(`${label}: chat ended ${chat.status} ${chat.error?.message ?? ''}`);
  const roles = chat.messages.map((message) => message.role).join(',');
  if (roles !== 'user,assistant') failures.push(`${label}: messages ${roles}`);
  const text = textOf(chat.messages.at(-1));
  if (text !== expected) {
    const trace = handed.map((record) => `${record.what} [${record.ids.join(',')}]`).join('; ');
    failures.push(`${label}: text ${JSON.stringify(text)} is not ${JSON.stringify(expected)}; connections: ${trace}`);
  }
  const finishes = handed.reduce((sum, record) => sum + record.finishes, 0);
  const errors = handed.reduce((sum, record) => sum + record.errors, 0);
  if (finishes !== 1 || errors !== 0) failures.push(`${label}: ${finishes} finish and ${errors} error chunks`);
  if (streamId === undefined) {
    failures.push(`${label}: no stream id ever arrived`);
  } else {
    const stored = await checkStored(options.store, streamId, expected, label);
    failures.push(...stored.failures);
    // Every stored event with chunks, each once, in order (a checkpoint or handoff has none, so
    // its id never reaches the SDK).
    const want = stored.events.filter((event) => event.event !== 'checkpoint' && event.event !== 'handoff');
    const got = handed.flatMap((record) => record.ids);
    if (got.join(',') !== want.map((event) => event.id).join(',')) {
      failures.push(`${label}: the SDK was handed ids ${got.join(',')}, stored ${want.map((event) => event.id)}`);
    }
  }
  return { streamId, connections, failures };
}
