/**
 * A ChatKit reply is a streamwell run, also across instances: with two reference servers sharing
 * Redis (and one thread store), a reply streaming to a ChatKit client on A is a run that B can
 * replay from Redis and cancel; the cancel stops A's upstream request and A's ChatKit response
 * ends with the text so far, saved.
 */
import { createMemoryThreadStore } from 'streamwell/server';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FAKE_API_KEY, type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';
import { createTestPrefix, deleteTestKeys, REDIS_URL, redisPart } from '../helpers/redis.ts';
import { startTestServer, type TestServer } from '../server/helpers/test-server.ts';
import { kinds, type ReceivedChatKitEvent, streamChatKit, userInput } from './helpers/chatkit-client.ts';

const redis = redisPart();

describe.skipIf(!redis.available)('ChatKit replies on runs shared through Redis', () => {
  let fake: FakeOpenAI | undefined;
  const servers: TestServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
    await fake?.close();
    fake = undefined;
  });
  afterAll(async () => {
    await deleteTestKeys();
  });

  it('a reply streaming to ChatKit on A is replayed and cancelled through B', async () => {
    fake = await startFakeOpenAI();
    const threads = createMemoryThreadStore();
    const config = {
      redisUrl: REDIS_URL,
      redisPrefix: createTestPrefix(),
      llmBaseUrl: fake.baseUrl,
      llmApiKey: FAKE_API_KEY,
      llmModel: 'fake-model',
    };
    const [a, b] = await Promise.all([
      startTestServer({ config, deps: { threads } }),
      startTestServer({ config, deps: { threads } }),
    ]);
    servers.push(a, b);
    fake.enqueue({ tokens: ['One', ' two', ' three', ' four'], stallAfterTokens: 2 });

    let streamId: string | undefined;
    let cancelled: Promise<Response> | undefined;
    const read = await streamChatKit(
      `${a.url}/chatkit`,
      { type: 'threads.create', params: { input: userInput('Count') } },
      {
        until: (events: readonly ReceivedChatKitEvent[]) => {
          const deltas = events.filter((event) => event.update?.type?.endsWith('text_delta')).length;
          if (deltas === 2 && cancelled === undefined) {
            const threadId = events[0]?.thread.id as string;
            // The reply's run, as stored with its message, cancelled through the other instance.
            cancelled = threads.loadItems(threadId, undefined).then((page) => {
              streamId = page.items.find((item) => item.status === 'streaming')?.streamId ?? undefined;
              return fetch(`${b.url}/api/streams/${streamId}/cancel`, { method: 'POST' });
            });
          }
          return false;
        },
      },
    );
    expect((await cancelled)?.status).toBe(200);
    expect(kinds(read.events).slice(-3)).toEqual(['updated:text_delta', 'updated:done', 'done:assistant_message']);
    expect(read.events.at(-1)?.item.content[0].text).toBe('One two');
    expect(await (await fake.waitForRequest(0)).closed).toEqual({ aborted: true });

    // B replays the whole run from Redis, with its cancelled end.
    const replay = await (await fetch(`${b.url}/api/streams/${streamId}`)).text();
    expect(replay).toContain('event: start');
    expect(replay).toContain('"token":" two"');
    expect(replay).toContain('"finishReason":"cancelled"');
    const stored = await threads.loadItems(read.events[0]?.thread.id, undefined);
    expect(stored.items.map((item) => item.content)).toEqual(['Count', 'One two']);
  });
});
