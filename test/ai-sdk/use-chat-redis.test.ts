/**
 * Two reference-server processes sharing one Redis (`REDIS_URL`, a unique `REDIS_PREFIX`): a chat
 * started with `POST /api/chat` on instance A is replayed by `GET /api/chat/{id}/stream` on
 * instance B (what `useChat`'s resume does after a reload that lands on another instance), read
 * with the real `ai` package, and cancelled through B.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DefaultChatTransport, readUIMessageStream, type UIMessage } from 'ai';
import { createClient } from 'redis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';
import { redisPart, REDIS_URL as TEST_REDIS_URL } from '../helpers/redis.ts';

const redis = redisPart();
const MAIN = fileURLToPath(new URL('../../apps/server/src/main.ts', import.meta.url));

interface Instance {
  readonly url: string;
  readonly child: ChildProcess;
}

const children: ChildProcess[] = [];
let fake: FakeOpenAI | undefined;
let prefix = '';

/** Starts `apps/server/src/main.ts` on port 0 and resolves with its address from the log. */
function startInstance(upstream: FakeOpenAI): Promise<Instance> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN], {
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      STREAMWELL_PROVIDER: 'openai',
      LLM_BASE_URL: upstream.baseUrl,
      LLM_API_KEY: upstream.apiKey ?? '',
      LLM_MODEL: 'fake-model',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const record = JSON.parse(line) as { address?: string };
      if (typeof record.address === 'string') resolve({ url: record.address, child });
    });
  });
}

async function stopInstance(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

const numberedTokens = (count: number): string[] =>
  Array.from({ length: count }, (_, index) => `${index === 0 ? '' : ' '}w${index + 1}`);

const textOf = (message: UIMessage | undefined): string =>
  (message?.parts ?? []).map((part) => (part.type === 'text' ? part.text : '')).join('');

describe.skipIf(!redis.available)('useChat across two instances sharing Redis', () => {
  beforeAll(() => {
    prefix = `test-i15-${randomBytes(6).toString('hex')}:`;
  });

  afterEach(async () => {
    await Promise.all(children.splice(0).map(stopInstance));
    await fake?.close();
    fake = undefined;
    // The keys expire on their own; a test leaves none behind anyway.
    const client = createClient({ url: TEST_REDIS_URL });
    await client.connect();
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await client.del(keys);
    }
    await client.close();
  });

  it('POST /api/chat on A, GET /api/chat/{id}/stream on B replays the exact text; B cancels it', async () => {
    fake = await startFakeOpenAI();
    const tokens = numberedTokens(60);
    fake.setReply({ tokens, tokenDelayMs: 15 });
    const [a, b] = await Promise.all([startInstance(fake), startInstance(fake)]);
    const onA = new DefaultChatTransport<UIMessage>({ api: `${a.url}/api/chat` });
    const onB = new DefaultChatTransport<UIMessage>({ api: `${b.url}/api/chat` });

    const original = await onA.sendMessages({
      chatId: 'shared-chat',
      messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'count' }] }],
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: undefined,
    });
    const reader = original.getReader();
    let messageId: string | undefined;
    // Read on A until the first token: the run is running (on A) when B is asked.
    for (;;) {
      const { value } = await reader.read();
      if (value?.type === 'start') messageId = value.messageId;
      if (value?.type === 'text-delta') break;
    }

    const replay = await onB.reconnectToStream({ chatId: 'shared-chat' });
    expect(replay).not.toBeNull();
    let message: UIMessage | undefined;
    for await (const update of readUIMessageStream({ stream: replay as ReadableStream })) message = update;
    expect(textOf(message)).toBe(tokens.join(''));
    // The same message as on A: a reload that lands on B does not show the reply twice.
    expect(message?.id).toBe(messageId);
    await reader.cancel();
    expect(await onB.reconnectToStream({ chatId: 'shared-chat' })).toBeNull();
    expect(fake.generations).toHaveLength(1);

    // A second turn, cancelled through B: the model call on A is aborted.
    fake.setReply({ tokens: numberedTokens(1000), tokenDelayMs: 15 });
    const second = await onA.sendMessages({
      chatId: 'shared-chat',
      messages: [{ id: 'u2', role: 'user', parts: [{ type: 'text', text: 'again' }] }],
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: undefined,
    });
    const secondReader = second.getReader();
    while ((await secondReader.read()).value?.type !== 'text-delta') {}
    const cancel = await fetch(`${b.url}/api/chat/shared-chat/cancel`, { method: 'POST' });
    expect(await cancel.json()).toMatchObject({ chatId: 'shared-chat', status: 'cancelled' });
    const upstream = await fake.waitForRequest(1);
    expect(await upstream.closed).toEqual({ aborted: true });
    await secondReader.cancel();
  }, 90_000);
});
