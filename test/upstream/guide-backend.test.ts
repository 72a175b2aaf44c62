/**
 * streamwell in front of the troubleshooting guide's own backend (`STREAMWELL_PROVIDER=sse`): the
 * reference server, created with `createApp` and listening on 127.0.0.1:0, relays a real Python
 * process that streams the guide's exact frames (`test/fixtures/guide-backend.py`). The Python
 * side records what it saw (requests, disconnects, completions), so the tests can assert that a
 * stop really reaches it and that a resume costs no second request.
 */

import { createSseUpstreamProvider, type ProviderEvent } from 'streamwell/server';
import { describe, expect, it } from 'vitest';
import type { ServerConfig } from '../../apps/server/src/config.ts';
import { type PythonUpstream, pythonPart, type UpstreamRecord, usePythonBackend } from '../helpers/python-upstream.ts';
import { postMessage, type ReceivedEvent, readSse, resumeStream, textOf } from '../server/helpers/sse-client.ts';
import type { TestServer } from '../server/helpers/test-server.ts';

const python = pythonPart();

let upstream: PythonUpstream;
let backend: ReturnType<typeof usePythonBackend>;

/** The reference server with the `sse` provider on `path` of the Python backend. */
function gateway(path: string, config: Partial<ServerConfig> = {}): Promise<TestServer> {
  return backend.gateway(`${upstream.origin}${path}`, {
    upstreamHeaders: { authorization: 'Bearer upstream-key' },
    ...config,
  });
}

/** Starts a stream through the gateway and reads it to its end. */
async function streamThrough(server: TestServer, message: string) {
  const response = await postMessage(server.url, { message });
  expect(response.status).toBe(200);
  const read = await readSse(response);
  return { ...read, streamId: response.headers.get('x-stream-id') ?? '' };
}

/** The Python side's one request for `message`. */
function onlyRequest(message: string) {
  const requests = upstream.requestsFor(message);
  expect(requests).toHaveLength(1);
  return requests[0] as NonNullable<(typeof requests)[0]>;
}

const recorded = (event: UpstreamRecord['event'], n: number) => (record: UpstreamRecord) =>
  record.event === event && record.n === n;

function expectIncreasingIds(events: readonly ReceivedEvent[]): void {
  for (let index = 1; index < events.length; index += 1) {
    expect(events[index]?.id).toBeGreaterThan(events[index - 1]?.id ?? Number.POSITIVE_INFINITY);
  }
}

describe.skipIf(!python.available)("streamwell in front of the guide's Python backend", () => {
  backend = usePythonBackend((started) => {
    upstream = started;
  });

  it('relays the exact text with ids and its own checkpoints; the upstream gets {"message"} and the headers', async () => {
    const server = await gateway('/api/stream/message?tokens=120', { checkpointEvery: 50 });
    const message = 'exact text: "quotes", ü and 😀';
    const read = await streamThrough(server, message);
    const request = onlyRequest(message);
    const complete = await upstream.waitFor(recorded('complete', request.n));

    expect(textOf(read.events)).toBe(complete.text);
    expect(complete.text).toMatch(
      /^You said: exact text: "quotes", ü and 😀\. "Quoted" back\\slash\n\n ünïcödé 😀 日本語 w0/,
    );
    expect(read.events.filter((event) => event.event === 'token')).toHaveLength(120);
    expectIncreasingIds(read.events);
    // streamwell's own checkpoints; the upstream's two (at 50 and 100) are not tokens.
    expect(read.events.filter((event) => event.event === 'checkpoint').map((event) => event.data)).toEqual([
      { type: 'checkpoint', tokens: 50 },
      { type: 'checkpoint', tokens: 100 },
    ]);
    const start = read.events[0];
    expect(start?.event).toBe('start');
    expect(read.events.at(-1)).toMatchObject({ event: 'done', data: { finishReason: 'stop', tokens: 120 } });

    expect(request.body).toEqual({ message });
    expect(request.headers).toMatchObject({
      authorization: 'Bearer upstream-key',
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'x-streamwell-stream-id': read.streamId,
      'x-streamwell-thread-id': start?.data.threadId,
    });
  });

  it.each(['crlf', 'cr'])('reads %s line endings written one byte per chunk', async (eol) => {
    const server = await gateway(`/api/stream/message?tokens=30&fragment=1&eol=${eol}`);
    const message = `fragmented ${eol}`;
    const read = await streamThrough(server, message);
    const complete = await upstream.waitFor(recorded('complete', onlyRequest(message).n));
    expect(textOf(read.events)).toBe(complete.text);
    expect(read.events.at(-1)?.event).toBe('done');
  });

  it('reads the short form {"t"}', async () => {
    const server = await gateway('/short?tokens=20');
    const read = await streamThrough(server, 'short form');
    const complete = await upstream.waitFor(recorded('complete', onlyRequest('short form').n));
    expect(textOf(read.events)).toBe(complete.text);
    expect(read.events.filter((event) => event.event === 'token')).toHaveLength(20);
    expect(read.events.at(-1)).toMatchObject({ event: 'done', data: { finishReason: 'stop' } });
  });

  it('ends the run with upstream_error when the upstream sends {"error"}, after the tokens before it', async () => {
    const server = await gateway('/api/stream/message?tokens=10&fail_after=3');
    const read = await streamThrough(server, 'will fail');
    expect(read.events.filter((event) => event.event === 'token')).toHaveLength(3);
    const terminal = read.events.filter((event) => event.event === 'done' || event.event === 'error');
    expect(terminal).toHaveLength(1);
    expect(terminal[0]).toMatchObject({ event: 'error', data: { code: 'upstream_error' } });
    expect(terminal[0]?.data.error).toMatch(/reported an error after 3 tokens: Response timeout$/);
  });

  it('heartbeats reach the client while the upstream thinks; the first-token timeout closes its connection', async () => {
    const server = await gateway('/api/stream/message?first=120', { heartbeatMs: 50, firstTokenTimeoutMs: 1000 });
    const read = await streamThrough(server, 'slow start');
    const request = onlyRequest('slow start');
    expect(read.events.at(-1)).toMatchObject({ event: 'error', data: { code: 'first_token_timeout' } });
    expect(read.comments.length).toBeGreaterThan(0);
    expect(read.text.indexOf(': ping')).toBeLessThan(read.text.indexOf('event: error'));
    // The Python side saw its client leave, and its agent run was cancelled.
    expect(await upstream.waitFor(recorded('disconnect', request.n))).toMatchObject({ tokens: 0 });
    await upstream.waitFor(recorded('run-stopped', request.n));
  });

  it('cancel closes the upstream connection: the Python side records the disconnect and stops its run', async () => {
    const server = await gateway('/api/stream/message?tokens=100000&delay=0.05');
    const response = await postMessage(server.url, { message: 'cancel me' });
    const streamId = response.headers.get('x-stream-id') ?? '';
    await readSse(response, ({ events }) => events.filter((event) => event.event === 'token').length >= 3);
    const request = onlyRequest('cancel me');
    const cancelled = await fetch(`${server.url}/api/streams/${streamId}/cancel`, { method: 'POST' });
    expect(cancelled.status).toBe(200);

    const disconnect = await upstream.waitFor(recorded('disconnect', request.n), 10_000);
    expect(disconnect.tokens).toBeLessThan(100_000);
    await upstream.waitFor(recorded('run-stopped', request.n));
    expect(upstream.records.some(recorded('complete', request.n))).toBe(false);
    const replay = await readSse(await resumeStream(server.url, streamId));
    expect(replay.events.at(-1)).toMatchObject({ event: 'done', data: { finishReason: 'cancelled' } });
  });

  it('resumes after a cut between client and streamwell without a second upstream request', async () => {
    const server = await gateway('/api/stream/message?tokens=60&delay=0.02');
    const response = await postMessage(server.url, { message: 'resume me' });
    const streamId = response.headers.get('x-stream-id') ?? '';
    // The client's connection drops after a few tokens (the body is cancelled mid-stream).
    const first = await readSse(
      response,
      ({ events }) => events.filter((event) => event.event === 'token').length >= 5,
    );
    expect(first.ended).toBe(false);
    const lastId = first.events.at(-1)?.id ?? 0;

    const rest = await readSse(await resumeStream(server.url, streamId, { 'Last-Event-ID': String(lastId) }));
    const events = [...first.events, ...rest.events];
    expectIncreasingIds(events);
    expect(rest.events[0]?.id).toBeGreaterThan(lastId);
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { finishReason: 'stop', tokens: 60 } });
    const complete = await upstream.waitFor(recorded('complete', onlyRequest('resume me').n));
    expect(textOf(events)).toBe(complete.text);
    expect(upstream.requestsFor('resume me')).toHaveLength(1);
  });

  it('reports an upstream cut mid-body as upstream_error after the tokens that arrived', async () => {
    const server = await gateway('/api/stream/message?tokens=20&cut_after=4');
    const read = await streamThrough(server, 'cut me');
    await upstream.waitFor(recorded('cut', onlyRequest('cut me').n));
    expect(read.events.filter((event) => event.event === 'token')).toHaveLength(4);
    expect(read.events.at(-1)).toMatchObject({ event: 'error', data: { code: 'upstream_error' } });
    expect(read.events.at(-1)?.data.error).toMatch(/closed the connection mid-reply, after 4 tokens/);
  });

  it.each([
    [
      '/get-only',
      /answered 405 Method Not Allowed to POST \(it allows GET\): this URL is not the route .*UPSTREAM_URL/,
    ],
    [
      '/behind-proxy',
      /answered 502 Bad Gateway with an HTML page \("502 Bad Gateway"\): a proxy .* answered, not the backend/,
    ],
    ['/json', /answered 200 OK with one JSON body \(Content-Type "application\/json"\) instead of an event stream/],
  ])('says what is wrong when %s answers instead of streaming', async (path, message) => {
    const server = await gateway(path);
    const read = await streamThrough(server, `wrong answer ${path}`);
    expect(read.events.map((event) => event.event)).toEqual(['start', 'error']);
    expect(read.events[1]?.data.code).toBe('upstream_error');
    expect(read.events[1]?.data.error).toMatch(message);
    expect(read.events[1]?.data.error).toContain(`${upstream.origin}${path}`);
  });

  it("the provider's stream() reads the same text, and a reader that stops early closes the connection", async () => {
    const provider = createSseUpstreamProvider({ url: `${upstream.origin}/api/stream/message?tokens=200&delay=0.01` });
    try {
      const request = (content: string) => ({
        messages: [
          { role: 'user' as const, content: 'an earlier question' },
          { role: 'assistant' as const, content: 'an earlier answer' },
          { role: 'user' as const, content },
        ],
        signal: new AbortController().signal,
        streamId: 'stream-1',
        threadId: 'thread ü',
      });
      const seen: ProviderEvent[] = [];
      for await (const event of provider.stream(request('early break'))) {
        seen.push(event);
        if (seen.length === 3) break;
      }
      const abandoned = onlyRequest('early break');
      expect(abandoned.body).toEqual({ message: 'early break' });
      expect(abandoned.headers['x-streamwell-thread-id']).toBe('thread%20%C3%BC');
      await upstream.waitFor(recorded('disconnect', abandoned.n));

      const whole: ProviderEvent[] = [];
      const full = createSseUpstreamProvider({ url: `${upstream.origin}/short?tokens=15` });
      for await (const event of full.stream(request('whole reply'))) whole.push(event);
      await full.close();
      const complete = await upstream.waitFor(recorded('complete', onlyRequest('whole reply').n));
      expect(whole.map((event) => (event.type === 'text' ? event.text : '')).join('')).toBe(complete.text);
      expect(whole.at(-1)).toEqual({ type: 'finish', finishReason: 'stop' });
    } finally {
      await provider.close();
    }
  });
});
