/**
 * Resume with a WHATWG EventSource (undici's implementation of the HTML spec, the same algorithm
 * browsers run): it gets the whole run, reconnects on its own with `Last-Event-ID` after the
 * server ends the response, and stops for good on the `204` at the terminal event.
 */
import { EventSource } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createScriptedProvider } from './helpers/scripted-provider.ts';
import { postMessage, readSse } from './helpers/sse-client.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface Seen {
  readonly type: string;
  readonly id: string;
  readonly data: string;
}

function follow(url: string, onEvent: (seen: Seen, source: EventSource) => void) {
  const source = new EventSource(url);
  const seen: Seen[] = [];
  const record = (event: MessageEvent) => {
    const entry = { type: event.type, id: event.lastEventId, data: event.data as string };
    seen.push(entry);
    onEvent(entry, source);
  };
  for (const type of ['start', 'token', 'checkpoint', 'done', 'error']) {
    source.addEventListener(type, (event) => {
      // A connection failure is an `error` Event without data; a protocol error is a MessageEvent.
      if ('data' in event) record(event as MessageEvent);
    });
  }
  return { source, seen };
}

describe('EventSource', () => {
  it('replays a finished run, reconnects with Last-Event-ID, and stops on 204', async () => {
    const scripted = createScriptedProvider({ autoReply: ['a', 'b', 'c'] });
    server = await startTestServer({ provider: scripted.provider, config: { checkpointEvery: 2 } });
    const started = await postMessage(server.url, { message: 'hi' });
    const streamId = started.headers.get('x-stream-id') as string;
    const all = (await readSse(started)).events;
    const requests: (string | undefined)[] = [];
    server.app.fastify.server.prependListener('request', (request) => {
      if (request.url?.startsWith('/api/streams/'))
        requests.push(request.headers['last-event-id'] as string | undefined);
    });
    const { source, seen } = follow(`${server.url}/api/streams/${streamId}`, () => {});
    // The 204 answers the automatic reconnect; EventSource then fails the connection for good.
    await new Promise<void>((resolve) => {
      source.onerror = () => {
        if (source.readyState === EventSource.CLOSED) resolve();
      };
    });
    expect(seen.map((entry) => [entry.type, Number(entry.id)])).toEqual(all.map((event) => [event.event, event.id]));
    expect(seen.map((entry) => JSON.parse(entry.data))).toEqual(all.map((event) => event.data));
    expect(requests).toEqual([undefined, String(all.at(-1)?.id)]);
  });

  it('picks up a live run where it left off after the connection drops', async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider, config: { checkpointEvery: 0 } });
    const started = await postMessage(server.url, { message: 'hi' });
    const streamId = started.headers.get('x-stream-id') as string;
    await started.body?.cancel();
    const call = await scripted.call(0);
    call.tokens('one ');
    let dropped = false;
    const { source, seen } = follow(`${server.url}/api/streams/${streamId}`, (entry) => {
      if (entry.type === 'token' && !dropped) {
        dropped = true;
        // Cut the connection under the EventSource, as a proxy or a flaky network would.
        server?.app.context.streams.closeAll();
        call.tokens('two ', 'three');
        call.end();
      }
    });
    await new Promise<void>((resolve) => {
      source.onerror = () => {
        if (source.readyState === EventSource.CLOSED) resolve();
      };
    });
    const tokens = seen.filter((entry) => entry.type === 'token').map((entry) => JSON.parse(entry.data).token);
    expect(tokens.join('')).toBe('one two three');
    const ids = seen.map((entry) => Number(entry.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(seen.at(-1)?.type).toBe('done');
  });
});
