/**
 * The troubleshooting guide's own browser code (Issue 2, "Frontend: Handle disconnection"),
 * unchanged but for the absolute URL: `fetch` with a string body (so `text/plain`), a reader, a
 * per-chunk `TextDecoder`, `split('\n')` and `JSON.parse(line.slice(6))`. It must rebuild the
 * reply exactly, although our stream also carries `id:` and `event:` lines, `start`, `checkpoint`
 * and `done` events and `: ping` heartbeat comments.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/until.ts';
import { createScriptedProvider } from './helpers/scripted-provider.ts';
import { readSse, resumeStream } from './helpers/sse-client.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The guide's snippet, as written there (only the URL is absolute, and the result returned). */
async function guideStartStream(baseUrl: string, message: string): Promise<{ text: string; errors: unknown[] }> {
  let lastSuccessfulResponse = '';
  const errors: unknown[] = [];
  try {
    const res = await fetch(`${baseUrl}/api/stream/message`, {
      method: 'POST',
      body: JSON.stringify({ message }),
    });

    const reader = res.body?.getReader();
    const decoder = new TextDecoder();

    while (reader) {
      const { done, value } = await reader.read();
      if (done) {
        break;
      }

      const text = decoder.decode(value);
      const lines = text.split('\n');

      for (const line of lines) {
        if (line.startsWith('data: ')) {
          const data = JSON.parse(line.slice(6));
          lastSuccessfulResponse += data.token || '';
        }
      }
    }
  } catch (error) {
    errors.push(error);
  }
  return { text: lastSuccessfulResponse, errors };
}

const REPLY = [
  'Héllo',
  ' wörld',
  ' — ',
  '日本語',
  ' 🎉',
  ' line\nbreak',
  ' "quotes"',
  ' back\\slash',
  ' data: fake',
  '\n\n',
];

describe("the guide's browser snippet", () => {
  it('rebuilds the reply exactly, across checkpoints and the terminal event', async () => {
    const tokens = Array.from({ length: 120 }, (_, index) => REPLY[index % REPLY.length] as string);
    const scripted = createScriptedProvider({ autoReply: tokens });
    server = await startTestServer({ provider: scripted.provider, config: { checkpointEvery: 7 } });
    const result = await guideStartStream(server.url, 'test');
    expect(result.errors).toEqual([]);
    expect(result.text).toBe(tokens.join(''));
  });

  it('is not confused by heartbeat comments between tokens', async () => {
    const scripted = createScriptedProvider();
    server = await startTestServer({ provider: scripted.provider, config: { heartbeatMs: 20 } });
    const running = guideStartStream(server.url, 'test');
    const call = await scripted.call(0);
    const openResponses = server.app.context.streams;
    // A second view of the same run shows the heartbeats the snippet had to skip. Both views get
    // every token in the same turn, so the shared heartbeat pings them in the same sweep.
    let seen: readonly string[] = [];
    const observer = resumeStream(server.url, call.request.streamId).then((response) =>
      readSse(response, (read) => {
        seen = read.comments;
        return false;
      }),
    );
    for (const token of REPLY) {
      // A heartbeat since the last token, then the next token: the snippet reads a ping between each.
      const before = seen.length;
      await until(() => seen.length > before, 'a heartbeat after the last token');
      call.tokens(token);
    }
    expect(openResponses.openStreams).toBe(2);
    call.end();
    const result = await running;
    expect((await observer).comments.length).toBeGreaterThanOrEqual(REPLY.length);
    expect(result.errors).toEqual([]);
    expect(result.text).toBe(REPLY.join(''));
  });
});
