/**
 * The pure evaluations on hand-built observations: deterministic (no clock, no sockets), so each
 * threshold and each wording of the verdict is pinned down exactly.
 */
import { describe, expect, it } from 'vitest';
import { nearestRankPercentile } from '../client-metrics.ts';
import { classifyTerminal, extractToken, parseJsonData } from './classify-event.ts';
import { evaluateBuffering } from './evaluate-buffering.ts';
import { evaluateEvents } from './evaluate-events.ts';
import { evaluateHeartbeats } from './evaluate-heartbeats.ts';
import { evaluateContentType, evaluateHeaders, evaluateReachable } from './evaluate-response.ts';
import { evaluateResume, pickResumeCursor, type ResumeAttempt } from './evaluate-resume.ts';
import { evaluateTerminal } from './evaluate-terminal.ts';
import { evaluateTiming } from './evaluate-timing.ts';
import type { ObservedEvent, StreamEndReason, StreamObservation } from './stream-observation.ts';

interface EventSpec {
  readonly read: number;
  readonly event?: string;
  readonly data: string;
  readonly id?: string;
}

/** An observation: reads at the given times (ms after the request), events completed in those reads. */
function observe(spec: {
  reads: readonly number[];
  events?: readonly EventSpec[];
  comments?: readonly number[];
  end?: StreamEndReason;
  endedAt?: number;
  headers?: Record<string, string>;
  status?: number;
  expectsReply?: boolean;
}): StreamObservation {
  const reads = spec.reads.map((at) => ({ at, bytes: 50 }));
  const events: ObservedEvent[] = (spec.events ?? []).map((event) => ({
    at: spec.reads[event.read] as number,
    readIndex: event.read,
    event: event.event ?? 'message',
    data: event.data,
    lastEventId: event.id ?? '',
  }));
  return {
    requestedAt: 0,
    responseAt: 1,
    status: spec.status ?? 200,
    headers: spec.headers ?? { 'content-type': 'text/event-stream' },
    reads,
    events,
    comments: (spec.comments ?? []).map((read) => ({ at: spec.reads[read] as number, readIndex: read, text: 'ping' })),
    bodySample: '',
    parseErrors: [],
    endedAt: spec.endedAt ?? (spec.reads.at(-1) ?? 1) + 1,
    endReason: spec.end ?? 'eof',
    errorMessage: undefined,
    expectsReply: spec.expectsReply ?? true,
    timeoutMs: 30_000,
  };
}

const token = (read: number, text: string, id?: string): EventSpec => ({
  read,
  event: 'token',
  data: JSON.stringify({ token: text }),
  ...(id === undefined ? {} : { id }),
});
const done = (read: number, id?: string): EventSpec => ({
  read,
  event: 'done',
  data: '{"finishReason":"stop","tokens":3}',
  ...(id === undefined ? {} : { id }),
});

describe('classify-event', () => {
  it('reads tokens of every known format', () => {
    expect(extractToken('token', { token: 'a' })).toBe('a');
    expect(extractToken('message', { choices: [{ delta: { content: 'b' } }] })).toBe('b');
    expect(extractToken('response.output_text.delta', { delta: 'c' })).toBe('c');
    expect(extractToken('message', { type: 'text-delta', delta: 'd' })).toBe('d');
    expect(extractToken('content_block_delta', { delta: { text: 'e' } })).toBe('e');
    expect(extractToken('token', { token: '' })).toBeUndefined();
    expect(extractToken('message', { choices: [{ delta: {} }] })).toBeUndefined();
  });

  it('finds terminal events, and not the data-less error of a dropped EventSource', () => {
    expect(classifyTerminal('message', '[DONE]', undefined)).toEqual({ kind: 'done' });
    expect(classifyTerminal('done', '{}', {})).toEqual({ kind: 'done' });
    const data = '{"error":"late","code":"idle_timeout"}';
    expect(classifyTerminal('error', data, parseJsonData(data))).toEqual({
      kind: 'error',
      code: 'idle_timeout',
      message: 'late',
    });
    expect(classifyTerminal('error', '', undefined)).toBeUndefined();
    expect(classifyTerminal('message', '{"error":"boom"}', { error: 'boom' })).toEqual({
      kind: 'error',
      message: 'boom',
    });
    expect(classifyTerminal('token', '{"token":"x"}', { token: 'x' })).toBeUndefined();
  });
});

describe('evaluateBuffering', () => {
  it('fails when 80% of the events arrive in one read after a long wait', () => {
    const events = [{ read: 0, event: 'start', data: '{}' }, ...Array.from({ length: 9 }, () => token(1, 'x'))];
    const result = evaluateBuffering(observe({ reads: [5, 900], events }));
    expect(result.status).toBe('fail');
    expect(result.evidence).toBe(
      '9 of 10 events (90%) arrived in one burst at the end of the stream after 895 ms of silence.',
    );
  });

  it('counts reads a few ms apart as one delivery (a burst the socket split)', () => {
    const events = Array.from({ length: 8 }, (_, index) => token(index, 'x'));
    const result = evaluateBuffering(observe({ reads: [700, 702, 704, 706, 708, 710, 712, 714], events }));
    expect(result.status).toBe('fail');
  });

  it('warns when half the events come in one late burst', () => {
    const events = [token(0, 'a'), token(1, 'b'), token(2, 'c'), token(3, 'd'), token(3, 'e'), token(3, 'f')];
    expect(evaluateBuffering(observe({ reads: [10, 60, 110, 900], events })).status).toBe('warn');
  });

  it('passes events that arrive one by one, and a stream too quick or too short to judge', () => {
    const spread = Array.from({ length: 10 }, (_, index) => token(index, 'x'));
    const reads = Array.from({ length: 10 }, (_, index) => 100 + index * 30);
    expect(evaluateBuffering(observe({ reads, events: spread })).status).toBe('pass');
    const quick = Array.from({ length: 10 }, () => token(0, 'x'));
    expect(evaluateBuffering(observe({ reads: [3], events: quick })).evidence).toContain('too quick to tell');
    expect(evaluateBuffering(observe({ reads: [2000], events: [token(0, 'a'), token(0, 'b'), done(0)] })).status).toBe(
      'pass',
    );
  });
});

describe('evaluateHeartbeats', () => {
  it('fails a silence as long as the proxy idle timeout', () => {
    const result = evaluateHeartbeats(observe({ reads: [5, 1200], events: [token(0, 'a'), token(1, 'b')] }), 1000);
    expect(result.status).toBe('fail');
    expect(result.evidence).toContain('longest silence 1195 ms (between the first byte and read 2)');
  });

  it('counts the silence after the last read while the stream stayed open', () => {
    const result = evaluateHeartbeats(observe({ reads: [5], end: 'timeout', endedAt: 2000 }), 1000);
    expect(result.status).toBe('fail');
    expect(result.evidence).toContain('between the first byte and the end of the wait');
  });

  it('passes regular heartbeats and warns when their interval nears the timeout', () => {
    expect(evaluateHeartbeats(observe({ reads: [100, 200, 300, 400], comments: [0, 1, 2, 3] }), 1000).status).toBe(
      'pass',
    );
    expect(evaluateHeartbeats(observe({ reads: [600, 1200, 1800], comments: [0, 1, 2] }), 1000).status).toBe('warn');
  });

  it('warns, not fails, when a short stream shows no heartbeat', () => {
    const result = evaluateHeartbeats(observe({ reads: [5, 30], events: [token(0, 'a'), done(1)] }), 60_000);
    expect(result.status).toBe('warn');
    expect(result.evidence).toMatch(/^No heartbeat in this 31 ms stream/);
  });

  it('says when heartbeats arrive bunched together', () => {
    const result = evaluateHeartbeats(observe({ reads: [800, 801, 802], comments: [0, 1, 2] }), 60_000);
    expect(result.evidence).toContain('arriving together');
  });
});

describe('evaluateTerminal', () => {
  it('fails a silent close and passes a done or [DONE]', () => {
    expect(evaluateTerminal(observe({ reads: [5, 10], events: [token(0, 'a'), token(1, 'b')] })).status).toBe('fail');
    expect(evaluateTerminal(observe({ reads: [5, 10], events: [token(0, 'a'), done(1)] })).status).toBe('pass');
    const openai = observe({ reads: [5, 10], events: [token(0, 'a'), { read: 1, data: '[DONE]' }] });
    expect(evaluateTerminal(openai).evidence).toContain('Ended with data: [DONE]');
  });

  it('warns on a terminal error, on events after the end, and on a stream still open', () => {
    const failed = observe({
      reads: [5],
      events: [{ read: 0, event: 'error', data: '{"error":"no key","code":"upstream_auth"}' }],
    });
    const result = evaluateTerminal(failed);
    expect(result.status).toBe('warn');
    expect(result.fix).toContain('OPENAI_API_KEY');
    expect(evaluateTerminal(observe({ reads: [5, 6], events: [done(0), token(1, 'late')] })).evidence).toContain(
      '1 events followed the terminal',
    );
    expect(evaluateTerminal(observe({ reads: [5], events: [token(0, 'a')], end: 'timeout' })).status).toBe('warn');
  });
});

describe('evaluateEvents', () => {
  it('fails data that is not JSON and token events without a token', () => {
    expect(evaluateEvents(observe({ reads: [5], events: [{ read: 0, data: 'hello' }] })).status).toBe('fail');
    const tokenless = evaluateEvents(
      observe({ reads: [5], events: [{ read: 0, event: 'token', data: '{"text":"a"}' }] }),
    );
    expect(tokenless.status).toBe('fail');
    expect(tokenless.evidence).toContain('"token" events have no string "token" field');
  });

  it('warns on multi-line data and accepts [DONE]', () => {
    expect(evaluateEvents(observe({ reads: [5], events: [{ read: 0, data: '{\n"token":"a"}' }] })).status).toBe('warn');
    expect(evaluateEvents(observe({ reads: [5], events: [token(0, 'a'), { read: 0, data: '[DONE]' }] })).status).toBe(
      'pass',
    );
  });
});

describe('evaluateTiming', () => {
  it('fails a stream whose body never starts, and one that ends in an error before any token', () => {
    expect(evaluateTiming(observe({ reads: [], end: 'timeout', endedAt: 5000 })).evidence).toContain(
      'the stream never started',
    );
    const failed = evaluateTiming(
      observe({
        reads: [5],
        events: [{ read: 0, event: 'error', data: '{"error":"slow","code":"first_token_timeout"}' }],
      }),
    );
    expect(failed.status).toBe('fail');
    expect(failed.fix).toContain('FIRST_TOKEN_TIMEOUT_MS');
  });

  it('warns, not fails, about a GET feed without tokens, and about a slow first token', () => {
    const feed = observe({
      reads: [5],
      events: [{ read: 0, data: '{"price":1}' }],
      expectsReply: false,
      end: 'timeout',
    });
    expect(evaluateTiming(feed).status).toBe('warn');
    expect(
      evaluateTiming(observe({ reads: [5, 12_000], events: [{ read: 0, event: 'start', data: '{}' }, token(1, 'a')] }))
        .status,
    ).toBe('warn');
  });

  it('reports the gap p50 as the client metrics do (nearest rank), and the max', () => {
    // Gaps 10, 30, 100 (odd count), then 10, 10, 30, 100 (even: the lower middle, as the web page shows).
    const timing = (reads: number[]) =>
      evaluateTiming(observe({ reads, events: reads.map((_, index) => token(index, 'a')) })).evidence;
    expect(timing([10, 20, 50, 150])).toContain('(gap p50 30 ms, max 100 ms)');
    expect(timing([10, 20, 30, 60, 160])).toContain('(gap p50 10 ms, max 100 ms)');
    expect(nearestRankPercentile([10, 10, 30, 100], 0.5)).toBe(10);
  });
});

describe('evaluateResume', () => {
  const events = [
    { read: 0, event: 'start', data: '{}', id: '1' },
    token(1, 'a', '2'),
    token(2, 'b', '3'),
    token(3, 'c', '4'),
    done(4, '5'),
  ];
  const original = observe({ reads: [1, 2, 3, 4, 5], events });
  const replay = (ids: readonly number[], status = 200): ResumeAttempt => ({
    kind: 'replayed',
    url: 'http://x/api/streams/s',
    cursor: '2',
    cursorIndex: 1,
    status,
    events: ids.map((id) => original.events[id - 1] as ObservedEvent),
    terminalCursorStatus: 204,
  });

  it('picks a cursor in the middle that leaves a tail', () => {
    expect(pickResumeCursor(original.events)).toBe(1);
    expect(pickResumeCursor(original.events.slice(0, 1))).toBeUndefined();
  });

  it('passes exactly the tail after the cursor', () => {
    expect(evaluateResume(original, replay([3, 4, 5])).status).toBe('pass');
  });

  it('fails a gap, a restart from the first event, and a missing resume URL', () => {
    expect(evaluateResume(original, replay([3, 5])).evidence).toContain('replayed event 2 should be id 4 token');
    expect(evaluateResume(original, replay([1, 2, 3, 4, 5])).evidence).toContain('the server ignores Last-Event-ID');
    expect(evaluateResume(original, replay([], 404)).status).toBe('fail');
  });

  it('warns about missing ids and a terminal cursor that does not answer 204', () => {
    const noIds = observe({ reads: [1, 2], events: [token(0, 'a'), done(1)] });
    expect(evaluateResume(noIds, { kind: 'skipped', reason: 'r', fix: 'f' }).evidence).toBe(
      'None of the 2 events carries an id.',
    );
    expect(evaluateResume(original, { ...replay([3, 4, 5]), terminalCursorStatus: 200 } as ResumeAttempt).status).toBe(
      'warn',
    );
  });
});

describe('evaluate-response', () => {
  it('names the cause of a refused origin', () => {
    const refused = evaluateReachable(observe({ reads: [], status: 403 }), {
      url: 'u',
      method: 'POST',
      errorCode: 'origin_not_allowed',
      sentMessage: true,
    });
    expect(refused.fix).toContain('CORS_ORIGINS');
    const misdirected = evaluateReachable(observe({ reads: [], status: 421 }), {
      url: 'u',
      method: 'POST',
      errorCode: 'host_not_allowed',
      sentMessage: true,
    });
    expect(misdirected.fix).toContain('ALLOWED_HOSTS');
  });

  it('opens the evidence with the refused GET when the checks ran on a probe message', () => {
    const fallback = { status: 405, allow: 'POST', message: 'probe' };
    const probed = evaluateReachable(observe({ reads: [], status: 200 }), {
      url: 'u',
      method: 'POST',
      sentMessage: true,
      fallback,
    });
    expect(probed.status).toBe('pass');
    expect(probed.evidence).toMatch(
      /^GET u answered 405 \(Allow: POST\), so this diagnosis POSTed the probe message \{"message":"probe"\} and checked that reply: POST u answered 200 after \d+ ms\.$/,
    );
    const refused = evaluateReachable(observe({ reads: [], status: 405 }), {
      url: 'u',
      method: 'POST',
      sentMessage: true,
      fallback: { ...fallback, allow: undefined },
    });
    expect(refused.status).toBe('fail');
    expect(refused.evidence).toMatch(/^GET u answered 405, so .* POST u answered 405 after/);
    expect(refused.fix).toContain('does not accept POST');
  });

  it('names the target of a redirect', () => {
    const moved = observe({ reads: [], status: 308, headers: { location: 'https://api.example.test/stream' } });
    const result = evaluateReachable(moved, { url: 'u', method: 'POST', sentMessage: true });
    expect(result.status).toBe('fail');
    expect(result.evidence).toBe('POST u answered 308 redirecting to https://api.example.test/stream.');
  });

  it("names the stream endpoint when the checked URL is a server's root answering with a page", () => {
    const page = observe({ reads: [], headers: { 'content-type': 'text/html; charset=utf-8' } });
    const atRoot = evaluateContentType(page, 'http://127.0.0.1:8000');
    expect(atRoot.status).toBe('fail');
    expect(atRoot.fix).toContain('http://127.0.0.1:8000/api/stream/message');
    // Anywhere else the fix is about the header.
    const elsewhere = evaluateContentType(page, 'http://127.0.0.1:8000/stream');
    expect(elsewhere.fix).toContain('Send `Content-Type: text/event-stream`');
    expect(evaluateContentType(page).fix).toContain('Send `Content-Type: text/event-stream`');
  });

  it('fails other content types and compression, warns on caching headers', () => {
    expect(evaluateContentType(observe({ reads: [], headers: { 'content-type': 'application/json' } })).status).toBe(
      'fail',
    );
    const gzip = observe({ reads: [], headers: { 'content-encoding': 'gzip', 'cache-control': 'no-cache' } });
    expect(evaluateHeaders(gzip).status).toBe('fail');
    const cached = observe({ reads: [], headers: { 'x-accel-buffering': 'no' } });
    expect(evaluateHeaders(cached).status).toBe('warn');
    const asksNginxToBuffer = observe({
      reads: [],
      headers: { 'cache-control': 'no-cache', 'x-accel-buffering': 'yes' },
    });
    expect(evaluateHeaders(asksNginxToBuffer).status).toBe('fail');
    const stripped = observe({ reads: [], headers: { 'cache-control': 'no-cache' } });
    expect(evaluateHeaders(stripped, { streamedLive: true }).status).toBe('pass');
    expect(evaluateHeaders(stripped, { streamedLive: false }).status).toBe('warn');
  });
});
