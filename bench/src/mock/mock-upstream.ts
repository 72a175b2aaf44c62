/**
 * The mock upstream: an OpenAI-compatible Chat Completions server (`POST /v1/chat/completions`
 * with `stream: true`) that streams a reply shaped by the prompt (see `stream-params.ts`):
 * first-token delay, token rate, token count, padding and write fragmentation. Every token
 * carries its sequence number and send time (`token-marker.ts`).
 *
 * It is built to stay cheap at thousands of streams: chunk templates are pre-serialized and one
 * 1 ms scheduler tick drives every paced stream (no timer per stream). Run as a child process
 * (`announceReady({port})`) or standalone: `node --import tsx bench/src/mock/mock-upstream.ts`.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { announceReady, serveRequests } from '../lib/child-side.ts';
import { nowNs } from '../lib/clock.ts';
import { parseParams, type StreamParams } from './stream-params.ts';
import { markToken } from './token-marker.ts';

const CHUNK_HEAD =
  'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":{"content":"';
const CHUNK_TAIL = '"},"logprobs":null,"finish_reason":null}]}\n\n';
const ROLE_CHUNK =
  'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n';
const FINISH_CHUNK =
  'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n';
const DONE_CHUNK = 'data: [DONE]\n\n';

function usageChunk(tokens: number): string {
  return `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[],"usage":{"prompt_tokens":8,"completion_tokens":${tokens},"total_tokens":${tokens + 8}}}\n\n`;
}

interface MockStream {
  readonly response: ServerResponse;
  readonly params: StreamParams;
  readonly pad: string;
  readonly usage: boolean;
  /** performance.now() when token 0 is due. */
  readonly firstDueAt: number;
  next: number;
  closed: boolean;
  /** Fragments waiting to be written, one per event-loop turn (fragment mode). */
  fragments: string[];
  fragmentAt: number;
}

const stats = { streams: 0, tokens: 0, aborted: 0, active: 0 };
const wheel = new Map<number, MockStream[]>();
let wheelCursor = Math.floor(performance.now());
let wheelTimer: NodeJS.Timeout | undefined;
let armedSlot = Number.POSITIVE_INFINITY;
const fragmenting = new Set<MockStream>();
let fragmentPump: NodeJS.Immediate | undefined;

function tokenFrame(stream: MockStream): string {
  const seq = stream.next++;
  stats.tokens += 1;
  return CHUNK_HEAD + markToken(seq, nowNs(), stream.pad) + CHUNK_TAIL;
}

function tailFrames(stream: MockStream): string {
  return FINISH_CHUNK + (stream.usage ? usageChunk(stream.params.tokens) : '') + DONE_CHUNK;
}

/** Writes text, whole or as fragments; `last` ends the response afterwards. */
function emit(stream: MockStream, text: string, last: boolean): boolean {
  if (stream.closed) return false;
  if (stream.params.fragment > 0) {
    const size = stream.params.fragment;
    for (let at = 0; at < text.length; at += size) stream.fragments.push(text.slice(at, at + size));
    if (last) stream.fragments.push('');
    fragmenting.add(stream);
    if (fragmentPump === undefined) fragmentPump = setImmediate(pumpFragments);
    return true;
  }
  if (last) {
    stream.response.end(text);
    finish(stream);
    return false;
  }
  return stream.response.write(text);
}

function pumpFragments(): void {
  fragmentPump = undefined;
  for (const stream of fragmenting) {
    if (stream.closed) {
      fragmenting.delete(stream);
      continue;
    }
    const piece = stream.fragments[stream.fragmentAt++];
    if (piece === '') {
      stream.response.end();
      finish(stream);
      fragmenting.delete(stream);
    } else if (piece !== undefined) {
      stream.response.write(piece);
    }
    if (stream.fragmentAt >= stream.fragments.length) {
      stream.fragments = [];
      stream.fragmentAt = 0;
      fragmenting.delete(stream);
    }
  }
  if (fragmenting.size > 0) fragmentPump = setImmediate(pumpFragments);
}

function finish(stream: MockStream): void {
  if (stream.closed) return;
  stream.closed = true;
  stats.active -= 1;
}

/** Paced streams: write every token that is due, then book the stream for its next token. */
function sendDue(stream: MockStream, now: number): void {
  if (stream.closed) return;
  const interval = 1000 / stream.params.rate;
  let text = stream.next === 0 ? ROLE_CHUNK : '';
  while (stream.next < stream.params.tokens && stream.firstDueAt + stream.next * interval <= now) {
    text += tokenFrame(stream);
  }
  const done = stream.next >= stream.params.tokens;
  if (done) text += tailFrames(stream);
  if (text.length > 0) emit(stream, text, done);
  if (!done) book(stream, stream.firstDueAt + stream.next * interval);
}

function book(stream: MockStream, dueAt: number): void {
  const slot = Math.max(Math.ceil(dueAt), wheelCursor + 1);
  let bucket = wheel.get(slot);
  if (bucket === undefined) {
    bucket = [];
    wheel.set(slot, bucket);
  }
  bucket.push(stream);
  // Re-arm when this slot comes before the armed one (a stream "thinking" for an hour must not
  // hold back one that is due now).
  if (wheelTimer === undefined || slot < armedSlot) arm(slot);
}

function arm(slot: number): void {
  clearTimeout(wheelTimer);
  armedSlot = slot;
  wheelTimer = setTimeout(tick, Math.max(0, slot - performance.now()));
}

function tick(): void {
  wheelTimer = undefined;
  const now = performance.now();
  const until = Math.floor(now);
  while (wheelCursor < until && wheel.size > 0) {
    wheelCursor += 1;
    const bucket = wheel.get(wheelCursor);
    if (bucket === undefined) continue;
    wheel.delete(wheelCursor);
    for (const stream of bucket) sendDue(stream, now);
  }
  if (wheel.size === 0) {
    wheelCursor = until;
    return;
  }
  let nearest = Number.POSITIVE_INFINITY;
  for (const slot of wheel.keys()) if (slot < nearest) nearest = slot;
  arm(nearest);
}

/** Events per write in flood mode (`batch=0`): small writes, so that the socket, not the write size, sets the pace. */
const FLOOD_BATCH = 16;

/**
 * Unthrottled streams: `batch` events per write, yielding to other streams between writes; with
 * `batch=0` (flood), writes of {@link FLOOD_BATCH} events follow each other in one turn until the
 * socket pushes back, so the gateway finds many events in each read (bulk scenario).
 */
function sendFast(stream: MockStream): void {
  if (stream.closed) return;
  const flood = stream.params.batch === 0 && stream.params.fragment === 0;
  let flowing = true;
  let done = false;
  do {
    let text = stream.next === 0 ? ROLE_CHUNK : '';
    const batch = flood ? FLOOD_BATCH : stream.params.batch;
    for (let i = 0; i < batch && stream.next < stream.params.tokens; i++) text += tokenFrame(stream);
    done = stream.next >= stream.params.tokens;
    if (done) text += tailFrames(stream);
    flowing = emit(stream, text, done);
  } while (flood && flowing && !done && !stream.closed);
  if (done || stream.closed) return;
  if (stream.params.fragment > 0) {
    // Let the fragment pump drain before producing more.
    const wait = (): void => {
      if (fragmenting.has(stream)) setImmediate(wait);
      else sendFast(stream);
    };
    setImmediate(wait);
  } else if (flowing) setImmediate(() => sendFast(stream));
  else stream.response.once('drain', () => sendFast(stream));
}

function promptOf(body: unknown): string {
  const messages = (body as { messages?: { role?: string; content?: unknown }[] }).messages ?? [];
  const content = messages.filter((message) => message.role === 'user').at(-1)?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part: { text?: string }) => part.text ?? '').join('');
  return '';
}

function startStream(request: IncomingMessage, response: ServerResponse, body: unknown): void {
  const params = parseParams(promptOf(body));
  const usage = (body as { stream_options?: { include_usage?: boolean } }).stream_options?.include_usage === true;
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  response.flushHeaders();
  const stream: MockStream = {
    response,
    params,
    pad: 'x'.repeat(params.pad),
    usage,
    firstDueAt: performance.now() + params.ttftMs,
    next: 0,
    closed: false,
    fragments: [],
    fragmentAt: 0,
  };
  stats.streams += 1;
  stats.active += 1;
  response.on('close', () => {
    if (!stream.closed) stats.aborted += 1;
    finish(stream);
  });
  request.socket.setNoDelay(true);
  // A reply with no thinking delay starts now, not on the next scheduler tick (which would add
  // up to a millisecond of mock-side noise to every time-to-first-token sample).
  if (params.rate > 0 && params.ttftMs === 0) sendDue(stream, performance.now());
  else if (params.rate > 0) book(stream, stream.firstDueAt);
  else if (params.ttftMs > 0) setTimeout(() => sendFast(stream), params.ttftMs);
  else sendFast(stream);
}

function readJson(request: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(parts).toString('utf8')));
      } catch (error) {
        reject(error);
      }
    });
    request.on('error', reject);
  });
}

const server = createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
  if (request.method === 'POST' && request.url?.endsWith('/chat/completions')) {
    readJson(request).then(
      (body) => startStream(request, response, body),
      () => {
        response.writeHead(400, { 'content-type': 'application/json' });
        response.end('{"error":{"message":"bad json","type":"invalid_request_error"}}');
      },
    );
    return;
  }
  if (request.method === 'GET' && request.url?.endsWith('/models')) {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{"object":"list","data":[{"id":"bench","object":"model","created":1700000000,"owned_by":"bench"}]}');
    return;
  }
  response.writeHead(404, { 'content-type': 'application/json' });
  response.end('{"error":{"message":"not found","type":"invalid_request_error"}}');
});
server.maxConnections = 30_000;
server.headersTimeout = 0;
server.requestTimeout = 0;

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  if (process.send) {
    announceReady({ port, clockNs: nowNs() });
    serveRequests((message) => {
      if (message.type === 'stats') return { ...stats };
      if (message.type === 'clock') return nowNs();
      throw new Error(`unknown request ${String(message.type)}`);
    });
  } else {
    process.stdout.write(`mock upstream on http://127.0.0.1:${port}/v1\n`);
  }
});
