/**
 * Timeouts end the stream with the right `error` code and abort the model call; heartbeat
 * comments keep a quiet stream alive, also before the first token. Short intervals via config;
 * the tests wait for events, they never assert on elapsed time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createScriptedProvider } from './helpers/scripted-provider.ts';
import { postMessage, readSse, resumeStream, textOf } from './helpers/sse-client.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const NO_TIMEOUTS = { firstTokenTimeoutMs: 0, idleTimeoutMs: 0, streamTimeoutMs: 0 };

describe('timeouts', () => {
  it('first_token_timeout when the model sends nothing', async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({
      provider: scripted.provider,
      config: { ...NO_TIMEOUTS, firstTokenTimeoutMs: 60 },
    });
    const read = await readSse(await postMessage(server.url, { message: 'hi' }));
    expect(read.events.map((event) => event.event)).toEqual(['start', 'error']);
    expect(read.events[1]?.data).toEqual({ error: expect.any(String), code: 'first_token_timeout' });
    expect((await scripted.call(0)).aborted).toBe(true);
  });

  it('idle_timeout when the model goes quiet after a token, keeping the partial text', async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider, config: { ...NO_TIMEOUTS, idleTimeoutMs: 60 } });
    const response = await postMessage(server.url, { message: 'hi' });
    (await scripted.call(0)).tokens('partial');
    const read = await readSse(response);
    expect(read.events.at(-1)?.data).toMatchObject({ code: 'idle_timeout' });
    expect(textOf(read.events)).toBe('partial');
    expect(scripted.calls[0]?.aborted).toBe(true);
  });

  it('stream_timeout on the total time even while tokens keep coming', async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider, config: { ...NO_TIMEOUTS, streamTimeoutMs: 120 } });
    const response = await postMessage(server.url, { message: 'hi' });
    const call = await scripted.call(0);
    const feeder = setInterval(() => call.tokens('.'), 5);
    const read = await readSse(response);
    clearInterval(feeder);
    expect(read.events.at(-1)?.data).toMatchObject({ code: 'stream_timeout' });
    expect(call.aborted).toBe(true);
  });

  it('a run whose client left is cancelled after DISCONNECT_GRACE_MS (abandoned), and resumable until then', async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider, config: { disconnectGraceMs: 80 } });
    const response = await postMessage(server.url, { message: 'hi' });
    const streamId = response.headers.get('x-stream-id') as string;
    const call = await scripted.call(0);
    call.tokens('a');
    await readSse(response, ({ events }) => events.some((event) => event.event === 'token'));
    const run = server.app.context.localRuns.get(streamId, undefined);
    await run?.finished;
    expect(run?.outcome).toBe('abandoned');
    expect(call.aborted).toBe(true);
    const replay = await readSse(await resumeStream(server.url, streamId));
    expect(replay.events.at(-1)?.data).toMatchObject({ code: 'abandoned' });
  });
});

describe('heartbeats', () => {
  it('sends `: ping` comments before the first token and between tokens when nothing else is written', async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider, config: { heartbeatMs: 40 } });
    const response = await postMessage(server.url, { message: 'hi' });
    const call = await scripted.call(0);
    let phase: 'before-token' | 'after-token' = 'before-token';
    const read = await readSse(response, ({ events, comments }) => {
      if (phase === 'before-token' && comments.length >= 1) {
        // The first heartbeat came while the model had sent nothing yet.
        expect(events.map((event) => event.event)).toEqual(['start']);
        phase = 'after-token';
        call.tokens('x');
        return false;
      }
      return phase === 'after-token' && comments.length >= 2 && events.some((event) => event.event === 'token');
    });
    expect(read.comments.slice(0, 2)).toEqual(['ping', 'ping']);
    // The comment is a well-formed SSE comment line followed by a blank line.
    expect(read.text).toContain('\n\n: ping\n\n');
    call.end();
  });

  it('sends heartbeats on a resumed connection too', async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider, config: { heartbeatMs: 40 } });
    const started = await postMessage(server.url, { message: 'hi' });
    const streamId = started.headers.get('x-stream-id') as string;
    await started.body?.cancel();
    const resumed = await resumeStream(server.url, streamId, { 'Last-Event-ID': '1' });
    const read = await readSse(resumed, ({ comments }) => comments.length >= 1);
    expect(read.events).toEqual([]);
    expect(read.comments[0]).toBe('ping');
  });
});
