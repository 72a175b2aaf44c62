/**
 * SSE through a real nginx running the directives of deploy/nginx.conf (test/helpers/nginx.ts
 * substitutes only ports and read timeouts). The counter-tests break the config on purpose, so
 * each measurement is shown to be able to fail.
 */
import { createDemoProvider } from 'streamwell/server';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningNginx, startNginx } from '../helpers/nginx.ts';
import { nginxPart } from '../helpers/system-part.ts';
import { startTestServer, type TestServer } from '../server/helpers/test-server.ts';
import { measureArrivals } from './measure-arrivals.ts';

const part = nginxPart();
const TOKENS = Array.from({ length: 20 }, (_, index) => ` t${index}`);
const INTERVAL_MS = 40;
/** How long the provider takes from the first to the last token. */
const GENERATION_MS = (TOKENS.length - 1) * INTERVAL_MS;

let server: TestServer | undefined;
let nginx: RunningNginx | undefined;

afterEach(async () => {
  await nginx?.stop();
  nginx = undefined;
  await server?.close();
  server = undefined;
});

async function stack(options: {
  firstTokenDelayMs?: number;
  heartbeatMs?: number;
  readTimeout?: string;
  mutate?: (site: string) => string;
}): Promise<{ server: TestServer; nginx: RunningNginx }> {
  server = await startTestServer({
    provider: createDemoProvider({
      tokenIntervalMs: INTERVAL_MS,
      firstTokenDelayMs: options.firstTokenDelayMs ?? 0,
      reply: () => TOKENS.join(''),
    }),
    config: { heartbeatMs: options.heartbeatMs ?? 300 },
  });
  nginx = await startNginx({
    upstreamPort: server.port,
    ...(options.readTimeout === undefined ? {} : { readTimeout: options.readTimeout }),
    ...(options.mutate === undefined ? {} : { mutate: options.mutate }),
  });
  return { server, nginx };
}

function post(origin: string, message = 'hello'): Promise<Response> {
  return fetch(`${origin}/api/stream/message`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip' },
    body: JSON.stringify({ message }),
  });
}

/** The classic mistake: buffering on (ignoring X-Accel-Buffering) plus gzip for event streams. */
function buffering(site: string): string {
  return site.replace(
    /proxy_buffering off;\s*proxy_cache off;\s*(#[^\n]*\n\s*)*gzip off;/,
    'proxy_buffering on; proxy_buffer_size 64k; proxy_buffers 8 64k; proxy_busy_buffers_size 128k; ' +
      'proxy_ignore_headers X-Accel-Buffering; gzip on; gzip_types text/event-stream; gzip_min_length 0;',
  );
}

describe.skipIf(!part.available)('SSE through nginx (deploy/nginx.conf)', () => {
  it('delivers tokens incrementally: one read per token, spread over the generation', async () => {
    const { nginx } = await stack({});
    const response = await post(nginx.origin);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-encoding')).toBeNull();
    const profile = await measureArrivals(response);
    expect(profile.text).toBe(TOKENS.join(''));
    expect(profile.terminal?.event).toBe('done');
    // Behaviour, not a budget: the spread is what the provider's pacing produces upstream.
    expect(profile.tokenReads).toBeGreaterThanOrEqual(TOKENS.length / 2);
    expect(profile.tokenSpreadMs).toBeGreaterThanOrEqual(GENERATION_MS / 2);
  });

  it('COUNTER-TEST: with buffering on and gzip, the same measurement sees one burst at the end', async () => {
    const { nginx } = await stack({ mutate: buffering });
    expect(nginx.config).toContain('proxy_buffering on;');
    const response = await post(nginx.origin);
    const profile = await measureArrivals(response);
    expect(profile.text).toBe(TOKENS.join('')); // everything arrives ...
    expect(profile.tokenReads).toBeLessThanOrEqual(2); // ... but in a burst
    expect(profile.tokenSpreadMs).toBeLessThan(GENERATION_MS / 4);
  });

  it('keeps a stream that is quiet for longer than proxy_read_timeout alive with heartbeats', async () => {
    // 2.5 s before the first token, against a 1 s read timeout; heartbeats every 300 ms.
    const { nginx } = await stack({ firstTokenDelayMs: 2500, readTimeout: '1s' });
    const profile = await measureArrivals(await post(nginx.origin));
    expect(profile.comments).toBeGreaterThanOrEqual(3);
    expect(profile.terminal?.event).toBe('done');
    expect(profile.text).toBe(TOKENS.join(''));
  });

  it('COUNTER-TEST: without heartbeats nginx cuts the same quiet stream at its read timeout', async () => {
    const { nginx } = await stack({ firstTokenDelayMs: 2500, readTimeout: '1s', heartbeatMs: 0 });
    const profile = await measureArrivals(await post(nginx.origin));
    expect(profile.comments).toBe(0);
    expect(profile.terminal).toBeUndefined();
    expect(profile.arrivals.map((arrival) => arrival.event)).toEqual(['start']);
  });

  it('resumes through the proxy with Last-Event-ID: exactly the events after it, to the end', async () => {
    const { nginx } = await stack({});
    const first = await post(nginx.origin);
    const streamId = first.headers.get('x-stream-id') as string;
    const before = await measureArrivals(first, 5);
    const lastId = before.arrivals.at(-1)?.id as string;

    const resumed = await fetch(`${nginx.origin}/api/streams/${streamId}`, { headers: { 'last-event-id': lastId } });
    expect(resumed.status).toBe(200);
    const after = await measureArrivals(resumed);
    expect(after.arrivals[0]?.id).toBe(String(Number(lastId) + 1));
    expect(before.text + after.text).toBe(TOKENS.join(''));
    expect(after.terminal?.event).toBe('done');

    // At the terminal event: 204, through nginx too (EventSource stops reconnecting).
    const atEnd = await fetch(`${nginx.origin}/api/streams/${streamId}`, {
      headers: { 'last-event-id': after.terminal?.id as string },
    });
    expect(atEnd.status).toBe(204);
  });
});
