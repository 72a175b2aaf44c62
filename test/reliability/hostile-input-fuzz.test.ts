/**
 * Fuzzing of every HTTP and WebSocket input of the reference server (in-process, over loopback,
 * raw TCP so that nothing is sanitised on the way): bodies (random JSON, deep nesting, numbers
 * JavaScript cannot hold, wrong types, `__proto__`/`constructor` keys, invalid UTF-8, bodies cut
 * short), headers (`Content-Type`, `Content-Length` that lies, chunked, `Idempotency-Key`,
 * `Authorization`, `Origin`, `Last-Event-ID`), ids in paths, query strings; WebSocket frames
 * (random and shaped JSON, sizes around the payload limit, binary, fragmented, invalid UTF-8
 * text, unknown types, start/resume/cancel interleaved).
 *
 * Invariants: no answer is a 5xx other than the documented ones; every answer that is not 2xx
 * is a JSON `{"error":{"code","message"}}` whose code is a known one with its status, without a
 * stack trace or HTML; WebSocket frames are JSON with a known `type` and error code, and a socket
 * closes only with a protocol close code; nothing is logged at error level; `/healthz` is ok
 * afterwards; and a stream that runs through all of it (the bystander) arrives exactly.
 *
 * The routes are enumerated (`printRoutes`) and pinned: a new route fails this suite until it is
 * given fuzz targets below. Seeded (`STREAMWELL_FUZZ_SEED`); quick counts in `npm test`, large
 * under `npm run soak`. A failure prints the shrunk request (fast-check).
 */
import fc from 'fast-check';
import { encodeBearerProtocol, WEBSOCKET_PROTOCOL } from 'streamwell/protocol';
import type { Provider, ProviderEvent } from 'streamwell/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { HTTP_STATUS_BY_CODE } from '../../packages/streamwell/src/errors/streamwell-error.ts';
import { readSse, type SseRead } from '../server/helpers/sse-client.ts';
import { startTestServer, type TestServer } from '../server/helpers/test-server.ts';
import {
  type BodyShape,
  body,
  cursorValue,
  headerValue,
  type KnownIds,
  pathId,
  queryString,
} from './helpers/fuzz-inputs.ts';
import { type Framing, type RawAnswer, type RawRequest, rawRequest } from './helpers/raw-http.ts';
import { scale } from './helpers/soak-mode.ts';

const SEED = Number(process.env.STREAMWELL_FUZZ_SEED ?? 20_261_207);
const ALICE = 'sk-fuzz-alice-0123456789';
const BOB = 'sk-fuzz-bob-0123456789';
const ALLOWED_ORIGIN = 'https://app.example';
const MAX_BODY = 65_536;

/** 5xx answers the API documents: a draining server, a store that is down, optional parts not set up. */
const DOCUMENTED_5XX = new Set([
  '503 shutting_down',
  '503 store_unavailable',
  '503 chatkit_not_configured',
  '501 not_implemented',
]);
/** Statuses other than a code's own that are right: a path parameter over Fastify's `maxParamLength` is 414. */
const OTHER_STATUSES = new Set(['414 bad_request']);
/** The request-level error codes (each with its one status). */
const KNOWN_CODES = new Set(Object.keys(HTTP_STATUS_BY_CODE));
/** Control frame types of the WebSocket protocol (event frames carry no `type`). */
const WS_FRAME_TYPES = new Set(['error', 'ended', 'cancelled', 'heartbeat']);
/** Close codes the server may use: normal, going away, protocol error, bad data, invalid payload, policy, too big. */
const WS_CLOSE_CODES = new Set([1000, 1001, 1002, 1003, 1007, 1008, 1009]);
/** Signs of a leaked internal error in a body. */
const LEAKS = [/\n\s+at /, /node_modules/, /\.ts:\d+/, /<html/i, /<!doctype/i, /TypeError|RangeError|SyntaxError:/];

/**
 * The routes as Fastify prints them. A change here means a route was added or removed: give a
 * new one its fuzz targets in `targets()` below, then update this list.
 */
const PINNED_ROUTES = [
  '/ (GET, HEAD)',
  'api/stream/message (GET, HEAD, TRACE, DELETE, OPTIONS, PATCH, PUT, POST, QUERY)',
  '* (GET, HEAD, TRACE, DELETE, OPTIONS, PATCH, PUT, POST, QUERY)',
  'api/chat (GET, HEAD, TRACE, DELETE, OPTIONS, PATCH, PUT, POST, QUERY)',
  '* (GET, HEAD, TRACE, DELETE, OPTIONS, PATCH, PUT, POST, QUERY)',
  'kit/session (GET, HEAD, TRACE, DELETE, OPTIONS, PATCH, PUT, POST, QUERY)',
  'api/threads (GET, HEAD, TRACE, DELETE, OPTIONS, PATCH, PUT, POST, QUERY)',
  '/:threadId (GET, HEAD, TRACE, DELETE, OPTIONS, PATCH, PUT, POST, QUERY)',
  'ai-sdk (GET, HEAD)',
  'chatkit (GET, HEAD, TRACE, DELETE, OPTIONS, PATCH, PUT, POST, QUERY)',
  '* (GET, HEAD, TRACE, DELETE, OPTIONS, PATCH, PUT, POST, QUERY)',
  'healthz (GET, HEAD, TRACE, DELETE, OPTIONS, PATCH, PUT, POST, QUERY)',
  'metrics (GET, HEAD, TRACE, DELETE, OPTIONS, PATCH, PUT, POST, QUERY)',
];

/** A fuzz target: a path template, the methods it answers, and the body it expects. */
interface Target {
  readonly name: string;
  readonly methods: readonly string[];
  readonly path: fc.Arbitrary<string>;
  readonly body: BodyShape;
  /** Headers that only make sense here (an upgrade). */
  readonly extraHeaders?: fc.Arbitrary<Array<[string, string | Buffer]>>;
}

/** A bystander stream: one provider call the test drives, readable throughout the fuzzing. */
interface Bystander {
  readonly id: string;
  readonly read: Promise<SseRead>;
  push(text: string): void;
  end(): void;
  readonly sent: string[];
}

let server: TestServer;
let bystander: Bystander;
let ids: KnownIds;
/** Ids the fuzzer must not cancel or delete (the bystander's): resume only. */
let protectedIds: ReadonlySet<string>;

/** Replies at once with two tokens, except the bystander's call, which the test drives. */
function createFuzzProvider(): {
  provider: Provider;
  bystanderCall: Promise<{ push(text: string): void; end(): void }>;
} {
  let resolveCall: (call: { push(text: string): void; end(): void }) => void = () => {};
  const bystanderCall = new Promise<{ push(text: string): void; end(): void }>((resolve) => {
    resolveCall = resolve;
  });
  const provider: Provider = {
    name: 'fuzz',
    model: 'fuzz-model',
    async *stream(request) {
      if (request.messages.at(-1)?.content !== 'bystander') {
        yield { type: 'text', text: 'ok ' };
        yield { type: 'text', text: 'done' };
        return;
      }
      const queue: ProviderEvent[] = [];
      let ended = false;
      let wake: (() => void) | undefined;
      resolveCall({
        push(text) {
          queue.push({ type: 'text', text });
          wake?.();
        },
        end() {
          ended = true;
          wake?.();
        },
      });
      while (true) {
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (ended || request.signal.aborted) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
  return { provider, bystanderCall };
}

const auth = (key: string): Record<string, string> => ({ Authorization: `Bearer ${key}` });

async function startStream(
  key: string,
  message: string,
): Promise<{ id: string; threadId: string; response: Response }> {
  const response = await fetch(`${server.url}/api/stream/message`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...auth(key) },
    body: JSON.stringify({ message }),
  });
  expect(response.status).toBe(200);
  return { id: response.headers.get('x-stream-id') ?? '', threadId: '', response };
}

beforeAll(async () => {
  const { provider, bystanderCall } = createFuzzProvider();
  server = await startTestServer({
    provider,
    captureLogs: true,
    config: {
      logLevel: 'error',
      apiKeys: [
        { id: 'alice', key: ALICE },
        { id: 'bob', key: BOB },
      ],
      corsOrigins: [ALLOWED_ORIGIN],
      maxBodyBytes: MAX_BODY,
      maxMessageChars: 2000,
      // The bystander runs as long as the fuzzing (minutes under soak): no total-time cap.
      streamTimeoutMs: 0,
      streamRetentionMs: 600_000,
      disconnectGraceMs: 600_000,
    },
  });
  // Known ids: a finished stream (and its thread) of each principal, and a chat of alice's.
  const known: { streams: string[]; threads: string[]; chats: string[] } = { streams: [], threads: [], chats: [] };
  for (const key of [ALICE, BOB]) {
    const started = await startStream(key, 'hello');
    const read = await readSse(started.response);
    const start = read.events[0];
    known.streams.push(String(start?.data.streamId));
    known.threads.push(String(start?.data.threadId));
  }
  const chat = await fetch(`${server.url}/api/chat`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...auth(ALICE) },
    body: JSON.stringify({
      id: 'fuzz-chat-1',
      trigger: 'submit-message',
      messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'hi' }] }],
    }),
  });
  expect(chat.status).toBe(200);
  await chat.text();
  known.chats.push('fuzz-chat-1');
  // The bystander: alice's stream that runs through all the fuzzing.
  const started = await startStream(ALICE, 'bystander');
  const call = await bystanderCall;
  const sent: string[] = [];
  bystander = {
    id: '',
    read: readSse(started.response),
    sent,
    push(text) {
      sent.push(text);
      call.push(text);
    },
    end: () => call.end(),
  };
  const bystanderId = started.id;
  bystander = { ...bystander, id: bystanderId };
  known.streams.push(bystanderId);
  ids = known;
  protectedIds = new Set([bystanderId]);
}, 60_000);

afterAll(async () => {
  await server?.close();
});

/** The fuzz targets: every route above, with its ids, methods and body shape. */
function targets(): Target[] {
  const stream = pathId(ids.streams);
  const mutableStream = pathId(ids.streams.filter((id) => !protectedIds.has(id)));
  const thread = pathId(ids.threads);
  const chat = pathId(ids.chats);
  const upgrade = fc
    .record(
      {
        upgrade: fc.constantFrom('websocket', 'WebSocket', 'h2c', ''),
        connection: fc.constantFrom('Upgrade', 'upgrade, keep-alive', 'close'),
        key: fc.constantFrom('dGhlIHNhbXBsZSBub25jZQ==', '', 'short', 'x'.repeat(200)),
        version: fc.constantFrom('13', '8', '', 'abc'),
        protocol: fc.constantFrom(
          encodeBearerProtocol(ALICE),
          'streamwell.bearer.',
          'streamwell.bearer.!!!',
          'chat',
          '',
        ),
      },
      { requiredKeys: [] },
    )
    .map((headers) => {
      const lines: Array<[string, string | Buffer]> = [];
      if (headers.upgrade !== undefined) lines.push(['Upgrade', headers.upgrade]);
      if (headers.connection !== undefined) lines.push(['Connection', headers.connection]);
      if (headers.key !== undefined) lines.push(['Sec-WebSocket-Key', headers.key]);
      if (headers.version !== undefined) lines.push(['Sec-WebSocket-Version', headers.version]);
      if (headers.protocol !== undefined) lines.push(['Sec-WebSocket-Protocol', headers.protocol]);
      return lines;
    });
  return [
    { name: 'start', methods: ['POST', 'OPTIONS'], path: fc.constant('/api/stream/message'), body: 'start' },
    { name: 'resume', methods: ['GET', 'OPTIONS'], path: stream.map((id) => `/api/streams/${id}`), body: 'none' },
    {
      name: 'cancel',
      methods: ['POST', 'OPTIONS'],
      path: mutableStream.map((id) => `/api/streams/${id}/cancel`),
      body: 'none',
    },
    {
      name: 'streams-other',
      methods: ['GET', 'POST'],
      path: fc
        .tuple(mutableStream, fc.constantFrom('', '/', '/x', '/cancel/x', '//'))
        .map(([id, tail]) => `/api/streams/${id}${tail}`),
      body: 'none',
    },
    { name: 'chat', methods: ['POST', 'OPTIONS'], path: fc.constant('/api/chat'), body: 'chat' },
    { name: 'chat-resume', methods: ['GET'], path: chat.map((id) => `/api/chat/${id}/stream`), body: 'none' },
    { name: 'chat-cancel', methods: ['POST'], path: chat.map((id) => `/api/chat/${id}/cancel`), body: 'none' },
    { name: 'chat-other', methods: ['GET', 'POST'], path: chat.map((id) => `/api/chat/${id}`), body: 'chat' },
    { name: 'chatkit-session', methods: ['POST'], path: fc.constant('/api/chatkit/session'), body: 'none' },
    { name: 'threads', methods: ['GET', 'HEAD', 'OPTIONS'], path: fc.constant('/api/threads'), body: 'none' },
    {
      name: 'thread',
      methods: ['GET', 'DELETE', 'HEAD'],
      path: thread.map((id) => `/api/threads/${id}`),
      body: 'none',
    },
    { name: 'chatkit', methods: ['POST', 'OPTIONS'], path: fc.constant('/chatkit'), body: 'chatkit' },
    {
      name: 'chatkit-attachment',
      methods: ['GET', 'POST'],
      path: fc
        .tuple(pathId(['att_1', 'att_x']), fc.constantFrom('', '/upload', '/x'))
        .map(([id, tail]) => `/chatkit/attachments/${id}${tail}`),
      body: 'none',
    },
    { name: 'healthz', methods: ['GET', 'HEAD'], path: fc.constant('/healthz'), body: 'none' },
    { name: 'metrics', methods: ['GET', 'HEAD'], path: fc.constant('/metrics'), body: 'none' },
    { name: 'page', methods: ['GET', 'HEAD'], path: fc.constantFrom('/', '/ai-sdk'), body: 'none' },
    {
      name: 'websocket-upgrade',
      methods: ['GET'],
      path: fc.constantFrom('/ws/stream', '/ws/stream?x=1', '/ws/stream/', '/ws'),
      body: 'none',
      extraHeaders: upgrade,
    },
    {
      name: 'unknown',
      methods: ['GET', 'POST'],
      path: fc.oneof(
        fc.constantFrom(
          '/api',
          '/api/',
          '/api/streams',
          '/api/streams/',
          '/api/stream',
          '//',
          '/%00',
          '/api/chat/',
          '/chatkit/',
        ),
        fc.string({ unit: 'binary', maxLength: 30 }).map((text) => `/${encodeURIComponent(text)}`),
      ),
      body: 'none',
    },
  ];
}

/** One generated request and what it targets. */
interface FuzzCase {
  readonly target: string;
  readonly request: RawRequest;
}

/**
 * Mostly the well-formed value, now and then a hostile one: with several fields per request, a
 * fair share of requests is valid but for one or two fields, and so reaches the deeper checks.
 */
function mostly<T>(good: fc.Arbitrary<T>, hostile: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ weight: 6, arbitrary: good }, { weight: 1, arbitrary: hostile });
}

function fuzzCase(target: Target): fc.Arbitrary<FuzzCase> {
  return fc
    .record({
      method: mostly(
        fc.oneof(
          { weight: 4, arbitrary: fc.constant(target.methods[0] as string) },
          fc.constantFrom(...target.methods),
        ),
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'QUERY'),
      ),
      path: target.path,
      query: mostly(fc.constant(''), queryString),
      authorization: mostly(
        fc.constantFrom(`Bearer ${ALICE}`, `Bearer ${ALICE}`, `Bearer ${BOB}`),
        headerValue(['Bearer sk-wrong', 'Bearer ', `Basic ${ALICE}`, `bearer ${ALICE}`, `Bearer ${ALICE} x`]),
      ),
      contentType: mostly(
        fc.constantFrom<string | Buffer | undefined>(
          'application/json',
          'application/json; charset=utf-8',
          'text/plain;charset=UTF-8',
          undefined,
        ),
        headerValue([
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=latin1',
          'APPLICATION/JSON',
          'application/jsonx',
        ]),
      ),
      origin: mostly(
        fc.constantFrom<string | Buffer | undefined>(undefined, ALLOWED_ORIGIN),
        headerValue(['https://evil.example', 'null', `http://127.0.0.1:${server.port}`, 'https://app.example.evil']),
      ),
      idempotencyKey: mostly(
        fc.constantFrom<string | Buffer | undefined>(undefined, undefined, 'key-1', 'key-2'),
        headerValue(['x'.repeat(300), 'ключ', 'a b', '']),
      ),
      lastEventId: mostly(fc.constant(undefined), cursorValue),
      extra: target.extraHeaders ?? fc.constant([] as Array<[string, string | Buffer]>),
      body: body(target.body, ids),
      framing: mostly(fc.constantFrom<Framing>('length', 'chunked'), fc.constantFrom<Framing>('none', 'short', 'long')),
    })
    .map((drawn) => {
      const headers: Array<[string, string | Buffer]> = [];
      if (drawn.authorization !== undefined) headers.push(['Authorization', drawn.authorization]);
      if (drawn.contentType !== undefined) headers.push(['Content-Type', drawn.contentType]);
      if (drawn.origin !== undefined) headers.push(['Origin', drawn.origin]);
      if (drawn.idempotencyKey !== undefined) headers.push(['Idempotency-Key', drawn.idempotencyKey]);
      if (drawn.lastEventId !== undefined) headers.push(['Last-Event-ID', drawn.lastEventId]);
      headers.push(...drawn.extra);
      // A request target must not hold a space or a line break (the request line would change).
      const path = (drawn.path + drawn.query).replace(/[\s]/g, '%20');
      return {
        target: target.name,
        request: { method: drawn.method, target: path, headers, body: drawn.body, framing: drawn.framing },
      };
    });
}

/** A readable account of a case for failure messages (bodies shortened). */
function describeCase(fuzz: FuzzCase, answer: RawAnswer): string {
  const { request } = fuzz;
  const headers = request.headers.map(([name, value]) => `${name}: ${String(value).slice(0, 80)}`).join(' | ');
  return `${fuzz.target}: ${request.method} ${request.target.slice(0, 120)} [${request.framing}] ${headers} body=${JSON.stringify(request.body.toString('utf8').slice(0, 120))} -> ${answer.status} ${answer.body.toString('utf8').slice(0, 300)}`;
}

/** The invariants of one HTTP answer. */
function checkAnswer(fuzz: FuzzCase, answer: RawAnswer): void {
  const what = describeCase(fuzz, answer);
  expect(answer.timedOut, `no answer in time: ${what}`).toBe(false);
  if (answer.status === undefined) {
    // Only a client that died mid-upload may be left without an answer.
    expect(fuzz.request.framing, `connection closed without an answer: ${what}`).toBe('short');
    return;
  }
  if (answer.status < 400) return;
  const text = answer.body.toString('utf8');
  for (const leak of LEAKS) expect(text, `internal detail in the body: ${what}`).not.toMatch(leak);
  if (fuzz.request.method === 'HEAD') return;
  expect(answer.headers['content-type'] ?? '', `a non-JSON error: ${what}`).toMatch(/^application\/json/);
  let parsed: { error?: { code?: unknown; message?: unknown } };
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`an error body that is not JSON: ${what}`);
  }
  const code = String(parsed.error?.code);
  expect(KNOWN_CODES.has(code), `an unknown error code: ${what}`).toBe(true);
  expect(typeof parsed.error?.message, `an error without a message: ${what}`).toBe('string');
  if (!OTHER_STATUSES.has(`${answer.status} ${code}`)) {
    expect(answer.status, `the status of ${code}: ${what}`).toBe(
      HTTP_STATUS_BY_CODE[code as keyof typeof HTTP_STATUS_BY_CODE],
    );
  }
  if (answer.status >= 500)
    expect(DOCUMENTED_5XX.has(`${answer.status} ${code}`), `an undocumented 5xx: ${what}`).toBe(true);
}

/** How many answers of each status the fuzzing saw (reported in docs/reliability.md). */
const statusCounts = new Map<string, number>();

describe('hostile input fuzzing', () => {
  it('the route list is the pinned one (a new route must get fuzz targets)', () => {
    const printed = server.app.fastify
      .printRoutes({ commonPrefix: false })
      .split('\n')
      .map((line) => line.replace(/^[\s│├└─]+/, '').trim())
      .filter((line) => line !== '');
    expect(printed).toEqual(PINNED_ROUTES);
  });

  it(
    'every HTTP input: no crash, no undocumented 5xx, every error a JSON body with a known code',
    async () => {
      const all = targets();
      const cases = fc.oneof(...all.map((target) => fuzzCase(target)));
      let pushed = 0;
      let count = 0;
      await fc.assert(
        fc.asyncProperty(cases, async (fuzz) => {
          count += 1;
          // The bystander streams on throughout.
          if (count % 25 === 0) {
            bystander.push(`b${pushed} `);
            pushed += 1;
          }
          const answer = await rawRequest(server.port, fuzz.request);
          const key = `${fuzz.target} ${answer.status ?? 'closed'}`;
          statusCounts.set(key, (statusCounts.get(key) ?? 0) + 1);
          checkAnswer(fuzz, answer);
        }),
        { numRuns: scale(1000, 30_000), seed: SEED, endOnFailure: false },
      );
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { status: string }).status).toBe('ok');
      console.info(
        `fuzz: ${count} HTTP requests, answers by target and status:`,
        Object.fromEntries([...statusCounts].sort()),
      );
    },
    scale(120_000, 3_600_000),
  );
});

/** What one WebSocket exchange sends. */
type Frame =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'bytes-as-text'; readonly bytes: Buffer }
  | { readonly kind: 'binary'; readonly bytes: Buffer }
  | { readonly kind: 'fragmented'; readonly text: string; readonly at: number }
  | { readonly kind: 'sized'; readonly size: number };

function wsFrames(): fc.Arbitrary<Frame[]> {
  const stream = fc.oneof(
    fc.constantFrom(...ids.streams),
    fc.string({ maxLength: 30 }),
    fc.constantFrom('', 'x'.repeat(3000)),
  );
  const mutable = fc.oneof(
    fc.constantFrom(...ids.streams.filter((id) => !protectedIds.has(id))),
    fc.string({ maxLength: 30 }),
  );
  const message = fc.oneof(
    fc.record(
      {
        type: fc.constant('start'),
        message: fc.oneof(
          fc.string({ maxLength: 20 }),
          fc.constantFrom('', 'x'.repeat(2001)),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        threadId: fc.oneof(
          fc.constantFrom(...ids.threads),
          fc.string({ maxLength: 10 }),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        idempotencyKey: fc.oneof(fc.constantFrom('k1', 'k2', 'x'.repeat(300), 'a b'), fc.integer()),
        requestId: fc.oneof(fc.string({ maxLength: 10 }), fc.integer()),
      },
      { requiredKeys: ['type'] },
    ),
    fc.record(
      {
        type: fc.constant('resume'),
        streamId: stream,
        after: fc.oneof(fc.integer({ min: -5, max: 50 }), cursorValue, fc.double(), fc.jsonValue({ maxDepth: 1 })),
      },
      { requiredKeys: ['type'] },
    ),
    fc.record({ type: fc.constant('cancel'), streamId: mutable }, { requiredKeys: ['type'] }),
    fc.record({ type: fc.constantFrom('nope', '', '__proto__', 'START', 7), streamId: stream }, { requiredKeys: [] }),
    fc.jsonValue({ maxDepth: 3 }),
  );
  const frame: fc.Arbitrary<Frame> = fc.oneof(
    {
      weight: 8,
      arbitrary: message.map((value) => ({ kind: 'text' as const, text: JSON.stringify(value) ?? 'null' })),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((text) => ({ kind: 'text' as const, text })) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          '{',
          '{"type":"start"',
          '[]',
          '"start"',
          '{"__proto__":{"type":"start"}}',
          '{"constructor":{"prototype":{"x":1}},"type":"resume"}',
        )
        .map((text) => ({ kind: 'text' as const, text })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x8c]).map((bytes) => ({
        kind: 'bytes-as-text' as const,
        bytes: Buffer.concat([Buffer.from('{"type":"start","message":"'), Buffer.from(bytes), Buffer.from('"}')]),
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ maxLength: 40 })
        .map((bytes) => ({ kind: 'binary' as const, bytes: Buffer.from(bytes) })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(message, fc.nat())
        .map(([value, at]) => ({ kind: 'fragmented' as const, text: JSON.stringify(value) ?? 'null', at })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(MAX_BODY - 1, MAX_BODY, MAX_BODY + 1, 4 * MAX_BODY)
        .map((size) => ({ kind: 'sized' as const, size })),
    },
  );
  return fc.array(frame, { minLength: 1, maxLength: 8 });
}

/** Sends the frames on a new socket, then a probe; resolves with what came back and how it closed. */
function exchange(
  frames: readonly Frame[],
  key: string | undefined,
): Promise<{ received: string[]; closeCode: number | undefined; what: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(
      `ws://127.0.0.1:${server.port}/ws/stream`,
      key === undefined ? [WEBSOCKET_PROTOCOL] : [WEBSOCKET_PROTOCOL, encodeBearerProtocol(key)],
    );
    const received: string[] = [];
    let closeCode: number | undefined;
    const what = frames
      .map((frame) =>
        frame.kind === 'sized'
          ? `sized ${frame.size}`
          : `${frame.kind} ${JSON.stringify('text' in frame ? frame.text.slice(0, 80) : frame.bytes.toString('hex').slice(0, 40))}`,
      )
      .join(' | ');
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`WebSocket exchange did not settle: ${what}; got ${received.join(' ').slice(0, 500)}`));
    }, 15_000);
    socket.on('message', (data, isBinary) => {
      if (isBinary) received.push(`<binary ${String(data)}>`);
      else received.push(String(data));
      // The probe's answer: everything sent before it was handled (messages are handled in order).
      if (String(data).includes('"streamId":"probe-end"')) socket.close(1000);
    });
    socket.on('close', (code) => {
      closeCode = code;
      clearTimeout(timer);
      resolve({ received, closeCode, what });
    });
    socket.on('error', () => {
      // The close event follows.
    });
    socket.on('unexpected-response', (_request, response) => {
      clearTimeout(timer);
      resolve({ received: [`<http ${response.statusCode}>`], closeCode: undefined, what });
    });
    socket.on('open', () => {
      for (const frame of frames) {
        if (socket.readyState !== WebSocket.OPEN) break;
        switch (frame.kind) {
          case 'text':
            socket.send(frame.text);
            break;
          case 'bytes-as-text':
            socket.send(frame.bytes, { binary: false });
            break;
          case 'binary':
            socket.send(frame.bytes, { binary: true });
            break;
          case 'fragmented': {
            const cut = frame.text.length === 0 ? 0 : frame.at % frame.text.length;
            socket.send(frame.text.slice(0, cut), { fin: false });
            socket.send(frame.text.slice(cut), { fin: true });
            break;
          }
          case 'sized':
            socket.send(
              JSON.stringify({ type: 'start', message: 'x'.repeat(Math.max(0, frame.size - 30)) }).padEnd(
                frame.size,
                ' ',
              ),
            );
            break;
        }
      }
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'resume', streamId: 'probe-end' }));
    });
  });
}

describe('hostile WebSocket fuzzing', () => {
  it(
    'every WebSocket input: frames are JSON with known types and codes, closes use protocol codes',
    async () => {
      let sockets = 0;
      const closes = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(wsFrames(), fc.constantFrom(ALICE, ALICE, BOB, undefined), async (frames, key) => {
          sockets += 1;
          if (sockets % 10 === 0) bystander.push(`w${sockets} `);
          const { received, closeCode, what } = await exchange(frames, key);
          closes.set(String(closeCode), (closes.get(String(closeCode)) ?? 0) + 1);
          if (key === undefined) {
            expect(received, `an upgrade without a credential: ${what}`).toEqual(['<http 401>']);
            return;
          }
          expect(closeCode === undefined || WS_CLOSE_CODES.has(closeCode), `close code ${closeCode}: ${what}`).toBe(
            true,
          );
          for (const text of received) {
            let frame: {
              type?: unknown;
              error?: { code?: unknown; message?: unknown };
              streamId?: unknown;
              event?: unknown;
            };
            try {
              frame = JSON.parse(text);
            } catch {
              throw new Error(`a frame that is not JSON: ${text.slice(0, 200)} after ${what}`);
            }
            if (frame.type === undefined) {
              expect(typeof frame.event, `an event frame without an event: ${text.slice(0, 200)}`).toBe('string');
              continue;
            }
            expect(WS_FRAME_TYPES.has(String(frame.type)), `an unknown frame type: ${text.slice(0, 200)}`).toBe(true);
            if (frame.type === 'error') {
              expect(
                KNOWN_CODES.has(String(frame.error?.code)),
                `an unknown error code: ${text.slice(0, 200)} after ${what}`,
              ).toBe(true);
              for (const leak of LEAKS) expect(text).not.toMatch(leak);
            }
          }
        }),
        { numRuns: scale(150, 5000), seed: SEED, endOnFailure: false },
      );
      console.info(`fuzz: ${sockets} WebSocket connections, closes by code:`, Object.fromEntries(closes));
    },
    scale(120_000, 3_600_000),
  );
});

describe('after the fuzzing', () => {
  it('the server is healthy, logged no error, and the bystander stream arrived exactly', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    bystander.push('last');
    bystander.end();
    const read = await bystander.read;
    expect(read.ended).toBe(true);
    const tokens = read.events.filter((event) => event.event === 'token').map((event) => event.data.token);
    expect(tokens).toEqual(bystander.sent);
    const ids = read.events.map((event) => event.id);
    expect(ids).toEqual(ids.map((_, index) => index + 1));
    expect(read.events.filter((event) => event.event === 'done' || event.event === 'error')).toHaveLength(1);
    expect(read.events.at(-1)?.event).toBe('done');
    // The `__proto__` / `constructor.prototype` bodies polluted nothing (the server runs in this process).
    for (const key of ['polluted', 'isAdmin', 'x']) expect(Object.hasOwn(Object.prototype, key)).toBe(false);
    // Error-level lines mean a request took an unexpected failure path (the 500 branch).
    expect(server.logs.filter((line) => Number(line.level) >= 50)).toEqual([]);
  });
});
