/**
 * `WORKERS=2`: one real server process (the cluster's primary) with two workers behind one port,
 * on the shared test Redis and a fresh SQLite file, the fake OpenAI in the test process. Each
 * test reaches the worker it wants by opening connections until `/healthz` names it (node:cluster
 * hands each new connection to a worker; see test/helpers/worker-connection.ts). Checked: a scrape
 * of `/metrics` through either worker counts both workers' runs; a stream started on one worker
 * is resumed and cancelled through the other, with the log naming the worker of each step; its
 * conversation, written by one worker into the shared SQLite file, is read through the other; an
 * `Idempotency-Key` repeated on the other worker gives the same stream without a second model
 * call; a worker killed with SIGKILL is replaced, and the readers of its runs on the other worker
 * get `producer_lost`; SIGTERM to the primary drains both workers (open streams end with
 * `server_shutdown`) and the primary exits 0. (Refusals to start: workers-refusal.test.ts.)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_API_KEY, type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';
import { createTestPrefix, deleteTestKeys, REDIS_URL, redisPart } from '../helpers/redis.ts';
import { type ServerProcess, startServer, stopServerProcesses } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';
import { connectToAnyWorker, connectToWorker, type WorkerConnection } from '../helpers/worker-connection.ts';
import {
  isTerminal,
  type PacedScript,
  pacedMessage,
  pacedReply,
  pacedText,
  SseFollower,
  within,
} from '../redis/helpers/instances.ts';
import { type ReceivedEvent, textOf } from '../server/helpers/sse-client.ts';

const redis = redisPart();
// Short, so that the reader of a killed worker's run learns of it soon; see producer-loss.test.ts
// for why not shorter on a loaded 2-core machine.
const RUN_LEASE_MS = 1500;

/** One JSON log line of the server (the primary's and both workers' go to the same stdout). */
interface LogLine {
  readonly msg: string;
  readonly worker?: number;
  readonly role?: string;
  readonly streamId?: string;
  readonly endpoint?: string;
  readonly [field: string]: unknown;
}

function logLines(server: ServerProcess): LogLine[] {
  return server
    .stdout()
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    });
}

/** The pid of each worker the primary started, from its `worker started` lines. */
function workerPids(server: ServerProcess): Map<number, number> {
  return new Map(
    logLines(server)
      .filter((line) => line.role === 'primary' && line.msg === 'worker started')
      .map((line) => [line.worker as number, line.pid as number]),
  );
}

describe.skipIf(!redis.available)('WORKERS=2: two workers behind one port', { timeout: 90_000 }, () => {
  let fake: FakeOpenAI;
  let server: ServerProcess;
  let dir: string;
  const connections: WorkerConnection[] = [];

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: pacedReply });
    dir = mkdtempSync(join(tmpdir(), 'streamwell-workers-'));
    server = await startServer({
      WORKERS: '2',
      REDIS_URL,
      REDIS_PREFIX: createTestPrefix(),
      RUN_LEASE_MS: String(RUN_LEASE_MS),
      LLM_BASE_URL: fake.baseUrl,
      LLM_API_KEY: FAKE_API_KEY,
      // A fresh file: both workers open and migrate it at once.
      DATABASE_URL: `file:${join(dir, 'threads.db')}`,
      CHATKIT_ATTACHMENTS_DIR: join(dir, 'attachments'),
      SHUTDOWN_DEADLINE_MS: '300',
      LOG_LEVEL: 'debug',
    });
    // Two Node processes start from sources (tsx) and open Redis and SQLite: on a loaded 2-core
    // machine this has taken over 30 s.
  }, 180_000);

  afterAll(async () => {
    await Promise.all(connections.splice(0).map((connection) => connection.close().catch(() => {})));
    // Workers exit when their primary goes away; kill them too in case one is stopped or stuck.
    const pids = server === undefined ? [] : [...workerPids(server).values()];
    await stopServerProcesses();
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await fake?.close();
    await deleteTestKeys();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const track = (connection: WorkerConnection): WorkerConnection => {
    connections.push(connection);
    return connection;
  };
  const onAny = async () => track(await connectToAnyWorker(server.url));
  const on = async (accept: number | ((worker: number) => boolean)) => track(await connectToWorker(server.url, accept));

  /** POSTs a paced message through `connection` and follows the reply. */
  async function start(
    connection: WorkerConnection,
    script: PacedScript,
    headers: Record<string, string> = {},
    message = pacedMessage(randomBytes(4).toString('hex'), script),
  ): Promise<{ streamId: string; follower: SseFollower; message: string; response: Response }> {
    const response = await fetch(`${server.url}/api/stream/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ message }),
      dispatcher: connection.dispatcher,
    } as RequestInit);
    if (response.status !== 200) throw new Error(`start: ${response.status} ${await response.text()}`);
    const streamId = response.headers.get('x-stream-id') as string;
    return {
      streamId,
      follower: new SseFollower(response, `start on worker ${connection.worker}`),
      message,
      response,
    };
  }

  async function resume(connection: WorkerConnection, streamId: string, lastEventId?: number): Promise<SseFollower> {
    const response = await fetch(`${server.url}/api/streams/${streamId}`, {
      headers: lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) },
      dispatcher: connection.dispatcher,
    } as RequestInit);
    expect(response.status).toBe(200);
    return new SseFollower(response, `resume on worker ${connection.worker}`);
  }

  const get = (connection: WorkerConnection, path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, { ...init, dispatcher: connection.dispatcher } as RequestInit);

  /** `streamwell_tokens_total` as a scrape through `connection` reports it. */
  async function tokensTotal(connection: WorkerConnection): Promise<number | undefined> {
    const text = await (await get(connection, '/metrics')).text();
    const match = /^streamwell_tokens_total (\d+)$/m.exec(text);
    return match === null ? undefined : Number(match[1]);
  }

  it('the primary announces the port once both workers listen, and each log line names its worker', async () => {
    // The workers' lines may reach stdout after the primary's (pino writes asynchronously).
    const workersSaid = (message: RegExp) =>
      new Set(logLines(server).flatMap((line) => (message.test(line.msg) ? [line.worker] : [])));
    await until(() => workersSaid(/^worker \d listening on/).size === 2, 'both workers logging that they listen');
    expect(workersSaid(/^worker \d listening on/)).toEqual(new Set([1, 2]));
    const announced = logLines(server).find((line) => line.msg.startsWith('streamwell listening on'));
    expect(announced).toMatchObject({ role: 'primary', workers: 2, address: server.url });
    // Both workers opened the fresh SQLite file; its migrations ran once.
    expect(workersSaid(/^thread store ready$/)).toEqual(new Set([1, 2]));
    expect(workersSaid(/^thread database migrated$/).size).toBe(1);
  });

  it('/metrics through either worker counts the runs of both', async () => {
    const one = await on(1);
    const two = await on(2);
    const [first, second] = await Promise.all([
      start(one, { tokens: 5, delayMs: 0 }),
      start(two, { tokens: 7, delayMs: 0 }),
    ]);
    await Promise.all([first.follower.closed, second.follower.closed]);
    expect(first.follower.events.at(-1)).toMatchObject({ event: 'done' });
    expect(second.follower.events.at(-1)).toMatchObject({ event: 'done' });
    // Counted when each run ends, on its worker; the scrape sums the workers' registries.
    await until(async () => (await tokensTotal(one)) === 12, 'a scrape through worker 1 counting 5 + 7 tokens', {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    expect(await tokensTotal(two)).toBe(12);
  });

  it('a stream started on one worker resumes and is cancelled through the other; the log names each worker', async () => {
    const a = await onAny();
    const b = await on((worker) => worker !== a.worker);
    const script = { tokens: 30, delayMs: 25 };
    const { streamId, follower: onA } = await start(a, script);
    await onA.seen(5);
    const onB = await resume(b, streamId, 3);
    await Promise.all([onA.closed, onB.closed]);
    expect(onA.events.at(-1)).toMatchObject({ event: 'done', data: { finishReason: 'stop' } });
    expect(textOf(onA.events)).toBe(pacedText(script));
    expect(onB.events).toEqual(onA.events.filter((event) => event.id > 3));

    const linesOf = () => logLines(server).filter((line) => line.streamId === streamId);
    await until(() => linesOf().some((line) => line.msg === 'stream summary'), 'the stream summary line');
    const lines = linesOf();
    const hits = lines.filter((line) => line.msg === 'endpoint hit');
    expect(hits.map((line) => [line.endpoint, line.worker])).toEqual([
      ['POST /api/stream/message', a.worker],
      ['GET /api/streams/:id', b.worker],
    ]);
    expect(lines.find((line) => line.msg === 'stream summary')).toMatchObject({ worker: a.worker, status: 'complete' });

    // The conversation, written by worker A into the shared SQLite file, read through worker B.
    const threadId = (onA.events[0] as ReceivedEvent).data.threadId as string;
    await until(
      async () => (await (await get(b, `/api/threads/${threadId}`)).text()).includes(JSON.stringify(pacedText(script))),
      'worker B reading the reply worker A stored',
      { timeoutMs: 20_000, intervalMs: 100 },
    );

    // Cancel through B: A's run ends cancelled and its upstream request is closed.
    const index = fake.generations.length;
    const stalled = await start(a, { tokens: 50, delayMs: 10, stallAfter: 3 });
    await stalled.follower.seen(4);
    const upstream = await fake.waitForRequest(index);
    const cancel = await get(b, `/api/streams/${stalled.streamId}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toMatchObject({ streamId: stalled.streamId, status: 'cancelled' });
    expect(await stalled.follower.terminal()).toMatchObject({ event: 'done', data: { finishReason: 'cancelled' } });
    expect(await within(upstream.closed, 'the upstream request to close')).toEqual({ aborted: true });
  });

  it('the same Idempotency-Key on the other worker gives the same stream, without a second model call', async () => {
    const a = await onAny();
    const b = await on((worker) => worker !== a.worker);
    const index = fake.generations.length;
    const key = `idem-${randomBytes(6).toString('hex')}`;
    const script = { tokens: 12, delayMs: 20 };
    const first = await start(a, script, { 'idempotency-key': key });
    await first.follower.seen(3);
    const again = await start(b, script, { 'idempotency-key': key }, first.message);
    expect(again.streamId).toBe(first.streamId);
    await Promise.all([first.follower.closed, again.follower.closed]);
    expect(again.follower.events).toEqual(first.follower.events);
    expect(textOf(again.follower.events)).toBe(pacedText(script));
    expect(fake.generations).toHaveLength(index + 1);
    const conflict = await fetch(`${server.url}/api/stream/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ message: `${first.message} changed` }),
      dispatcher: (await on(b.worker)).dispatcher,
    } as RequestInit);
    expect(conflict.status).toBe(409);
    expect(fake.generations).toHaveLength(index + 1);
  });

  it('a killed worker is replaced; readers of its runs on the other worker get producer_lost', async () => {
    const a = await onAny();
    const b = await on((worker) => worker !== a.worker);
    const { streamId, follower: onA } = await start(a, { tokens: 2000, delayMs: 20 });
    const onB = await resume(b, streamId);
    await onB.seen(8);
    const pid = workerPids(server).get(a.worker) as number;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    expect(await onA.closed).toHaveProperty('error');
    // The contract's bound: the lease plus 5 s; more here for a loaded machine.
    const end = await onB.terminal(RUN_LEASE_MS + 15_000);
    expect(end).toMatchObject({ event: 'error', data: { code: 'producer_lost' } });
    expect(onB.events.filter(isTerminal)).toHaveLength(1);

    // The primary logged the death and started a replacement, which serves.
    await until(
      () => logLines(server).some((line) => line.msg === 'worker died: replaced' && line.worker === a.worker),
      'the primary replacing the killed worker',
    );
    const died = logLines(server).find((line) => line.msg === 'worker died: replaced') as LogLine;
    expect(died).toMatchObject({ role: 'primary', signal: 'SIGKILL' });
    const replacement = died.replacement as number;
    await until(
      () => logLines(server).some((line) => line.msg.startsWith(`worker ${replacement} listening`)),
      'the replacement listening',
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const c = await on(replacement);
    const { follower } = await start(c, { tokens: 4, delayMs: 0 });
    await follower.closed;
    expect(follower.events.at(-1)).toMatchObject({ event: 'done' });
    // The other worker served throughout.
    expect((await get(b, '/healthz')).status).toBe(200);
  }, 120_000);

  it('SIGTERM to the primary drains every worker: open streams end with server_shutdown, exit 0', async () => {
    const x = await onAny();
    const y = await on((worker) => worker !== x.worker);
    const stalled = { tokens: 50, delayMs: 10, stallAfter: 2 };
    const [onX, onY] = await Promise.all([start(x, stalled), start(y, stalled)]);
    await Promise.all([onX.follower.seen(3), onY.follower.seen(3)]);
    server.child.kill('SIGTERM');
    const [endX, endY] = await Promise.all([onX.follower.terminal(), onY.follower.terminal()]);
    expect(endX).toMatchObject({ event: 'error', data: { code: 'server_shutdown' } });
    expect(endY).toMatchObject({ event: 'error', data: { code: 'server_shutdown' } });
    expect(await within(server.exited, 'the primary to exit')).toEqual({ code: 0, signal: null });
    const lines = logLines(server);
    expect(lines.filter((line) => line.msg === 'drained').map((line) => line.worker)).toEqual(
      expect.arrayContaining([x.worker, y.worker]),
    );
    expect(lines.find((line) => line.msg === 'all workers exited')).toMatchObject({ role: 'primary', code: 0 });
  });
});
