/**
 * SIGTERM drain with streams in flight, two real server processes (A and B) sharing Redis.
 *
 * Runs are produced by A; then A gets SIGTERM while they stream. Every run has a follower on B
 * from its start, and its starter is one of three clients:
 * - one that stays on A (A keeps its open responses until their runs end);
 * - one whose connection to A is cut at the SIGTERM (the load balancer took A out: a TCP proxy in
 *   front of A resets every connection) and that resumes on B with `Last-Event-ID`, by hand;
 * - the library's reconnecting client (`streamwell/client`) behind a "load balancer" (its `fetch`
 *   sends to A through the proxy, then to B once A drains), cut the same way.
 *
 * Half the runs are short (they end within SHUTDOWN_DEADLINE_MS: `done` with the whole text, on
 * A and on B), half are far longer than the deadline (they end at it with one `error` event
 * `server_shutdown`, after the text produced until then, for every reader: written to Redis
 * before A lets go of it, not left to a lease to lapse into `producer_lost`).
 *
 * Asserted for every run and every client: exactly the events in Redis (no event lost, none
 * repeated, ids in order), exactly one terminal event; a fresh resume on B replays the same. A
 * refuses new streams while draining, B takes them, and A exits with status 0 after the deadline
 * (bounded generously: a hang fails, a slow machine does not).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStreamClient, type StreamEvent, type StreamResult } from 'streamwell/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_API_KEY, type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.ts';
import {
  countTerminal,
  createTestPrefix,
  deleteTestKeys,
  openRedis,
  REDIS_URL,
  readStoredEvents,
  redisPart,
  type TestRedis,
} from '../helpers/redis.ts';
import { type ServerProcess, startServer, stopServerProcesses } from '../helpers/server-process.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import {
  followResume,
  isTerminal,
  type PacedScript,
  pacedMessage,
  pacedReply,
  pacedText,
  type SseFollower,
  startPaced,
} from '../redis/helpers/instances.ts';
import type { ReceivedEvent } from '../server/helpers/sse-client.ts';
import { SOAK, scale } from './helpers/soak-mode.ts';
import { writeSoakResult } from './helpers/soak-results.ts';

const redis = redisPart();

/** Runs in flight at the SIGTERM (a multiple of 6: two lengths × three kinds of starter). */
const RUNS = scale(12, 120);
/**
 * Long enough for a loaded machine to finish the short runs' remaining seconds within it, and
 * above Fastify's 10 s plugin timeout, under which `fastify.close()` failed when a drain took
 * longer (the process exited 1 and skipped the rest of its drain; fixed in apps/server/src/app.ts).
 */
const SHUTDOWN_DEADLINE_MS = scale(11_000, 20_000);
/** Ends well within the deadline: 1.5 s (quick), 6 s (full, where starting 120 runs takes a while). */
const SHORT: PacedScript = scale({ tokens: 30, delayMs: 50 }, { tokens: 60, delayMs: 100 });
/** 2,000 tokens: 40 s (quick), 200 s (full, 10 tokens/s each for 60 runs), far past the deadline. */
const LONG: PacedScript = scale({ tokens: 2000, delayMs: 20 }, { tokens: 2000, delayMs: 100 });
/** A short lease: a terminal event left unwritten would show as `producer_lost` soon after. */
const RUN_LEASE_MS = 3000;
/** A bound against a hanging drain, not a performance budget. */
const EXIT_BOUND_MS = SHUTDOWN_DEADLINE_MS + 20_000;

type Kind = 'stays' | 'cut-resume' | 'client';

interface Flight {
  readonly index: number;
  readonly kind: Kind;
  readonly script: PacedScript;
  streamId: string;
  /** The starter's events on A (stays, cut-resume), as received. */
  onA?: SseFollower;
  /** The cut-resume starter's events on B after the cut. */
  onBAfterCut?: SseFollower;
  /** The reconnecting client's new events and result. */
  clientEvents?: StreamEvent[];
  /** The reconnecting client's reconnects (the cut must have made it move). */
  reconnects: number;
  clientResult?: Promise<StreamResult>;
  /** The follower on B from the start. */
  follower?: SseFollower;
}

const toReceived = (event: { id: number; event: string; json: string }): ReceivedEvent => ({
  id: event.id,
  event: event.event,
  data: JSON.parse(event.json) as Record<string, unknown>,
});

describe.skipIf(!redis.available)('SIGTERM drain with streams in flight, two instances sharing Redis', () => {
  const prefix = createTestPrefix();
  let fake: FakeOpenAI;
  let client: TestRedis;
  let a: ServerProcess;
  let b: ServerProcess;
  let proxyA: TcpProxy;
  let dataDir: string;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: pacedReply });
    client = await openRedis();
    dataDir = mkdtempSync(join(tmpdir(), 'streamwell-drain-'));
    const env = (name: string) => ({
      STREAMWELL_PROVIDER: 'openai',
      LLM_BASE_URL: fake.baseUrl,
      LLM_API_KEY: FAKE_API_KEY,
      REDIS_URL,
      REDIS_PREFIX: prefix,
      RUN_LEASE_MS: String(RUN_LEASE_MS),
      SHUTDOWN_DEADLINE_MS: String(SHUTDOWN_DEADLINE_MS),
      DATABASE_URL: `file:${join(dataDir, `${name}.db`)}`,
      // Every run has a follower on B: no run is abandoned for want of a client on A.
      DISCONNECT_GRACE_MS: '60000',
    });
    [a, b] = await Promise.all([startServer(env('a')), startServer(env('b'))]);
    proxyA = await startTcpProxy(a.port);
  }, 180_000);

  afterAll(async () => {
    await proxyA?.close();
    await stopServerProcesses();
    await fake?.close();
    await client?.close();
    await deleteTestKeys();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it(`${RUNS} runs on A, SIGTERM: short ones finish, long ones end with server_shutdown, exactly, for clients on A, moved to B and following on B`, {
    timeout: scale(120_000, 600_000),
  }, async () => {
    const proxyUrl = `http://127.0.0.1:${proxyA.port}`;
    // The load balancer of the reconnecting clients: A (through the proxy) until A drains, then B.
    let balancedTo = proxyUrl;
    const balancedFetch: typeof fetch = (input, init) => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      const target = new URL(balancedTo);
      url.protocol = target.protocol;
      url.host = target.host;
      return fetch(url, init);
    };
    const streamClient = createStreamClient({
      url: 'http://balancer.invalid/api/stream/message',
      fetch: balancedFetch,
      // Quick retries: the cut is expected, and B answers at once.
      backoff: { initialDelayMs: 50, maxDelayMs: 500 },
    });

    const kinds: readonly Kind[] = ['stays', 'cut-resume', 'client'];
    const flights: Flight[] = [];
    await Promise.all(
      Array.from({ length: RUNS }, async (_, index) => {
        const kind = kinds[index % 3] as Kind;
        const script = index % 2 === 0 ? SHORT : LONG;
        const flight: Flight = { index, kind, script, streamId: '', reconnects: 0 };
        flights.push(flight);
        if (kind === 'client') {
          const events: StreamEvent[] = [];
          flight.clientEvents = events;
          let resolveId!: (id: string) => void;
          const streamId = new Promise<string>((resolve) => {
            resolveId = resolve;
          });
          const session = streamClient.start(pacedMessage(`drain${index}`, script), {
            onEvent: (event) => events.push(event),
            onStreamId: (id) => resolveId(id),
            onReconnect: () => {
              flight.reconnects += 1;
            },
          });
          flight.clientResult = session.done;
          flight.streamId = await streamId;
        } else {
          const started = await startPaced(kind === 'stays' ? a.url : proxyUrl, script);
          flight.streamId = started.streamId;
          flight.onA = started.follower;
        }
        flight.follower = await followResume(b.url, flight.streamId);
        expect(flight.follower.response.status, `run ${index}: the follower's resume on B`).toBe(200);
      }),
    );
    flights.sort((x, y) => x.index - y.index);
    // Every run is producing (a token seen on B) before A is told to stop.
    await Promise.all(flights.map((flight) => flight.follower?.seen(2)));

    // Short runs that ended while the others were starting are not in flight: counted, not failed.
    const inFlightAtSigterm = flights.filter((flight) => !flight.follower?.events.some(isTerminal)).length;
    const exitedAt = a.exited.then((exit) => ({ ...exit, at: performance.now() }));
    const signalledAt = performance.now();
    a.child.kill('SIGTERM');
    // The load balancer takes A out and its connections through the proxy are cut.
    balancedTo = b.url;
    proxyA.cut();

    // Clients cut off by hand resume on B from the last event they got.
    await Promise.all(
      flights
        .filter((flight) => flight.kind === 'cut-resume')
        .map(async (flight) => {
          const onA = flight.onA as SseFollower;
          expect(await onA.closed).toHaveProperty('error');
          const last = onA.events.at(-1);
          flight.onBAfterCut = await followResume(
            b.url,
            flight.streamId,
            last === undefined ? {} : { 'last-event-id': String(last.id) },
          );
          expect(flight.onBAfterCut.response.status, `run ${flight.index}: the resume on B after the cut`).toBe(200);
        }),
    );

    // A draining takes no new stream (its listener is closed, or it answers 503 shutting_down);
    // B does.
    const refused = await fetch(`${a.url}/api/stream/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: pacedMessage('late', SHORT) }),
    }).then(
      async (response) => ({ status: response.status, body: await response.text() }),
      (error: unknown) => ({ status: 0, body: String((error as Error).cause ?? error) }),
    );
    if (refused.status === 0) expect(refused.body).toMatch(/ECONNREFUSED/);
    else expect(refused).toMatchObject({ status: 503, body: expect.stringContaining('shutting_down') });
    const late = await startPaced(b.url, SHORT);

    // Every reader reaches its terminal event; A exits.
    await Promise.all(flights.map((flight) => flight.follower?.terminal(EXIT_BOUND_MS)));
    const exit = await exitedAt;
    const exitMs = Math.round(exit.at - signalledAt);
    const aLog = (): string => `A's log:\n${a.stdout().split('\n').slice(-30).join('\n')}\n${a.stderr().slice(-3000)}`;
    expect(exit, aLog()).toMatchObject({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(EXIT_BOUND_MS);
    await late.follower.closed;
    expect(late.follower.events.at(-1)).toMatchObject({ event: 'done', data: { finishReason: 'stop' } });

    const outcomes = { done: 0, serverShutdown: 0, other: 0 };
    for (const flight of flights) {
      const what = `run ${flight.index} (${flight.kind}, ${flight.script.tokens} tokens)`;
      const stored = (await readStoredEvents(client, prefix, flight.streamId)).map(toReceived);
      expect(countTerminal(stored), what).toBe(1);
      expect(
        stored.map((event) => event.id),
        what,
      ).toEqual(stored.map((_, position) => (stored[0]?.id ?? 0) + position));
      const terminal = stored.at(-1) as ReceivedEvent;
      const text = stored
        .filter((event) => event.event === 'token')
        .map((event) => String(event.data.token))
        .join('');
      if (flight.script === SHORT) {
        // Finished on A within the deadline: the whole reply.
        expect(terminal, what).toMatchObject({ event: 'done', data: { finishReason: 'stop' } });
        expect(text, what).toBe(pacedText(SHORT));
        outcomes.done += 1;
      } else {
        // Cut at the deadline: the text produced until then, then server_shutdown.
        expect(terminal, what).toMatchObject({ event: 'error', data: { code: 'server_shutdown' } });
        expect(pacedText(LONG).startsWith(text), what).toBe(true);
        expect(text.length, what).toBeLessThan(pacedText(LONG).length);
        outcomes.serverShutdown += 1;
      }

      // The follower on B since the start: everything, once.
      expect(flight.follower?.events, `${what}: follower on B`).toEqual(stored);
      if (flight.kind === 'stays') {
        await flight.onA?.closed;
        expect(flight.onA?.events, `${what}: client on A`).toEqual(stored);
      } else if (flight.kind === 'cut-resume') {
        await flight.onBAfterCut?.closed;
        const joined = [...(flight.onA?.events ?? []), ...(flight.onBAfterCut?.events ?? [])];
        expect(joined, `${what}: client cut from A, resumed on B`).toEqual(stored);
        // It did move: part of the run came from A, the rest (at least the terminal) from B.
        expect(flight.onA?.events.length, what).toBeGreaterThan(0);
        expect(flight.onBAfterCut?.events.length, what).toBeGreaterThan(0);
      } else {
        const result = await (flight.clientResult as Promise<StreamResult>);
        expect(
          flight.clientEvents?.map((event) => ({ id: event.id, event: event.event, data: event.data })),
          `${what}: reconnecting client`,
        ).toEqual(stored);
        expect(result.text, what).toBe(text);
        expect(flight.reconnects, `${what}: the client reconnected after the cut`).toBeGreaterThan(0);
        if (flight.script === SHORT) expect(result.status, what).toBe('done');
        else expect(result).toMatchObject({ status: 'error', error: { code: 'server_shutdown' } });
      }
      // A fresh resume on B replays the same.
      const replay = await followResume(b.url, flight.streamId);
      await replay.closed;
      expect(replay.events, `${what}: replay on B`).toEqual(stored);
      expect(replay.events.filter(isTerminal)).toHaveLength(1);
    }
    expect(outcomes).toEqual({ done: RUNS / 2, serverShutdown: RUNS / 2, other: 0 });

    const figures = {
      runs: RUNS,
      shutdownDeadlineMs: SHUTDOWN_DEADLINE_MS,
      short: SHORT,
      long: LONG,
      clients: RUNS * 2,
      inFlightAtSigterm,
      outcomes,
      exitCode: exit.code,
      exitAfterSigtermMs: exitMs,
      proxiedConnectionsCut: proxyA.accepted,
      eventsResumedOnBAfterCut: flights.reduce((sum, flight) => sum + (flight.onBAfterCut?.events.length ?? 0), 0),
      clientReconnects: flights.reduce((sum, flight) => sum + flight.reconnects, 0),
    };
    writeSoakResult('drain', figures);
    if (SOAK) process.stderr.write(`[drain] ${JSON.stringify(figures)}\n`);
  });
});
