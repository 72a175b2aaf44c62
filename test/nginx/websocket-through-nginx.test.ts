/**
 * The WebSocket transport through a real nginx running deploy/nginx.conf, and the guide's own
 * snippet next to the corrected location.
 */
import { WEBSOCKET_PROTOCOL } from 'streamwell/protocol';
import { createDemoProvider } from 'streamwell/server';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningNginx, startNginx } from '../helpers/nginx.ts';
import { nginxPart } from '../helpers/system-part.ts';
import { startTestServer, type TestServer } from '../server/helpers/test-server.ts';
import { openClient, type TestClient } from '../ws/ws-harness.ts';

const part = nginxPart();
const TOKENS = Array.from({ length: 20 }, (_, index) => ` t${index}`);

let server: TestServer | undefined;
let nginx: RunningNginx | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
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
}): Promise<RunningNginx> {
  server = await startTestServer({
    provider: createDemoProvider({
      tokenIntervalMs: 20,
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
  return nginx;
}

/** Opens a socket through nginx the way a page served by nginx would: Origin = nginx's origin. */
async function connect(proxy: RunningNginx): Promise<TestClient> {
  const client = await openClient(`ws://127.0.0.1:${proxy.port}/ws/stream`, [WEBSOCKET_PROTOCOL], {
    origin: proxy.origin,
  });
  clients.push(client);
  return client;
}

async function startStream(client: TestClient): Promise<string> {
  client.send({ type: 'start', message: 'hello' });
  return (await client.waitFor((frame) => frame.event === 'start')).streamId as string;
}

/** The location from the troubleshooting guide, verbatim except the upstream address. */
const GUIDE_LOCATION = `location /ws/stream {
    proxy_pass http://streamwell;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection "upgrade";
    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_read_timeout 86400;
}`;

function withGuideLocation(site: string): string {
  const start = site.indexOf('location = /ws/stream {');
  const end = site.indexOf('\n    }', start) + '\n    }'.length;
  if (start === -1 || end < start) throw new Error('deploy/nginx.conf has no `location = /ws/stream` block');
  return `${site.slice(0, start)}${GUIDE_LOCATION}${site.slice(end)}`;
}

describe.skipIf(!part.available)('WebSocket through nginx (deploy/nginx.conf)', () => {
  it('upgrades, answers streamwell.v1 and streams a reply from a page on the proxy origin', async () => {
    const proxy = await stack({});
    const client = await connect(proxy);
    expect(client.socket.protocol).toBe(WEBSOCKET_PROTOCOL);
    const streamId = await startStream(client);
    expect((await client.terminal(streamId)).event).toBe('done');
    expect(client.text(streamId)).toBe(TOKENS.join(''));
  });

  it('keeps a socket that is quiet for longer than proxy_read_timeout alive with pings', async () => {
    const proxy = await stack({ firstTokenDelayMs: 2500, readTimeout: '1s' });
    const client = await connect(proxy);
    const streamId = await startStream(client);
    expect((await client.terminal(streamId)).event).toBe('done');
    expect(client.frames.filter((frame) => frame.type === 'heartbeat').length).toBeGreaterThanOrEqual(3);
    expect(client.text(streamId)).toBe(TOKENS.join(''));
  });

  it('COUNTER-TEST: without heartbeats nginx closes the same quiet socket at its read timeout', async () => {
    const proxy = await stack({ firstTokenDelayMs: 2500, readTimeout: '1s', heartbeatMs: 0 });
    const client = await connect(proxy);
    const streamId = await startStream(client);
    await client.closed;
    expect(client.events(streamId).map((frame) => frame.event)).toEqual(['start']);
  });

  it('resumes through the proxy after the socket drops', async () => {
    const proxy = await stack({});
    const first = await connect(proxy);
    const streamId = await startStream(first);
    await first.waitFor((frame) => frame.event === 'token' && (frame.id as number) >= 6);
    first.socket.terminate();
    const seen = first.events(streamId);
    const lastId = seen.at(-1)?.id as number;

    const second = await connect(proxy);
    second.send({ type: 'resume', streamId, after: lastId });
    await second.terminal(streamId);
    expect(second.events(streamId)[0]?.id).toBe(lastId + 1);
    expect(first.text(streamId) + second.text(streamId)).toBe(TOKENS.join(''));
  });

  it("the guide's snippet: Host $host drops the port, so a page on a non-default port is refused", async () => {
    const guide = await stack({ mutate: withGuideLocation });
    expect(guide.config).toContain('proxy_set_header Host $host;');
    await expect(connect(guide)).rejects.toMatchObject({
      status: 403,
      body: expect.stringContaining('origin_not_allowed'),
    });
    await nginx?.stop();
    await server?.close();
    // The corrected location (Host $http_host) accepts the same page.
    const corrected = await stack({});
    const client = await connect(corrected);
    const streamId = await startStream(client);
    expect((await client.terminal(streamId)).event).toBe('done');
  });
});
