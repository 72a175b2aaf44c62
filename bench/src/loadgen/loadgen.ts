/**
 * The load generator: a child process that runs one job at a time for the orchestrator and
 * answers with counters and histograms. Jobs:
 *
 * - `sequential`: one stream after another (time to first token of a lone stream);
 * - `streams`: N concurrent streams in a closed loop (each finished stream is replaced), with a
 *   warm-up, a measuring window announced to the orchestrator (`mark` messages, so it can read
 *   the gateway's CPU at both edges), and optional slow readers;
 * - `idle-open` / `idle-close`: hold many idle SSE connections and count their heartbeats;
 * - `resume`: drop connections at random tokens and resume with `Last-Event-ID` (on the same
 *   gateway or on another instance), checking that no event is lost or duplicated across reconnects.
 *
 * @module
 */
import { announceReady, notify, serveRequests } from '../lib/child-side.ts';
import { nowNs, sleep } from '../lib/clock.ts';
import { createHistogram } from '../lib/histogram.ts';
import { openSse, type SseConnection } from './loadgen-sse-connection.ts';
import { createGroup, type GroupStats, groupResult, recordError, SequenceTracker } from './stream-tracker.ts';
import { startRequest, type Target } from './targets.ts';

interface Window {
  from: number;
  to: number;
}

/** Runs one stream to its end; resolves when it ends. */
function runStream(
  target: Target,
  prompt: string,
  group: GroupStats,
  window: Window,
  expectTokens: number,
  open: Set<SseConnection>,
  readBytesPerSecond?: number,
): Promise<void> {
  return new Promise((resolve) => {
    let tracker: SequenceTracker | undefined;
    let status = 0;
    group.streamsStarted += 1;
    const connection = openSse(
      startRequest(target, prompt),
      {
        onHeaders(code) {
          status = code;
          if (code !== 200) recordError(group, `status ${code}`);
        },
        onEvent(event, recvNs) {
          tracker?.onData(event.data, recvNs);
        },
        onEnd(complete, error) {
          open.delete(connection);
          group.bytes += connection.bodyBytes;
          if (status === 200 && complete && tracker) {
            group.streamsCompleted += 1;
            if (tracker.expected < expectTokens) group.lost += expectTokens - tracker.expected;
          } else if (!complete && stopping.has(group)) {
            // Cut by the end of the measuring window (before or after its headers).
            group.streamsCut += 1;
          } else if (status === 200) {
            recordError(
              group,
              `stream ended early after ${tracker?.expected ?? 0} tokens${error ? `: ${error.message}` : ''}`,
            );
          } else if (status === 0) {
            recordError(group, `no response${error ? `: ${error.message}` : ''}`);
          }
          resolve();
        },
      },
      readBytesPerSecond === undefined ? {} : { readBytesPerSecond },
    );
    tracker = new SequenceTracker(group, connection.startNs, window);
    open.add(connection);
  });
}

const stopping = new Set<GroupStats>();

interface SequentialJob {
  target: Target;
  prompt: string;
  count: number;
  warmup: number;
  gapMs: number;
  expectTokens: number;
}

async function sequential(job: SequentialJob) {
  const open = new Set<SseConnection>();
  const warm = createGroup();
  for (let i = 0; i < job.warmup; i++) {
    await runStream(job.target, job.prompt, warm, { from: 0, to: 0 }, job.expectTokens, open);
  }
  const group = createGroup();
  const window = { from: 0, to: Number.POSITIVE_INFINITY };
  for (let i = 0; i < job.count; i++) {
    await runStream(job.target, job.prompt, group, window, job.expectTokens, open);
    if (job.gapMs > 0) await sleep(job.gapMs);
  }
  return { main: groupResult(group), warmupErrors: warm.errors + warm.lost + warm.duplicated };
}

interface StreamsJob {
  target: Target;
  prompt: string;
  concurrency: number;
  rampMs: number;
  warmupMs: number;
  measureMs: number;
  expectTokens: number;
  slow?: { count: number; prompt: string; readBytesPerSecond: number; expectTokens: number };
  /** Keep every stream open this long after the window (the orchestrator measures meanwhile). */
  holdMs?: number;
}

async function streams(job: StreamsJob) {
  const open = new Set<SseConnection>();
  const main = createGroup();
  const slowGroup = createGroup();
  const t0 = nowNs();
  const window: Window = { from: t0 + job.warmupMs * 1e6, to: t0 + (job.warmupMs + job.measureMs) * 1e6 };
  let stop = false;
  const loops: Promise<void>[] = [];
  const loop = async (delayMs: number, group: GroupStats, prompt: string, expect: number, bps?: number) => {
    await sleep(delayMs);
    while (!stop) {
      const before = group.errors;
      await runStream(job.target, prompt, group, window, expect, open, bps);
      if (group.errors > before) await sleep(20);
    }
  };
  for (let i = 0; i < job.concurrency; i++) {
    loops.push(loop((i * job.rampMs) / job.concurrency, main, job.prompt, job.expectTokens));
  }
  if (job.slow) {
    const slow = job.slow;
    for (let i = 0; i < slow.count; i++) {
      loops.push(
        loop((i * job.rampMs) / slow.count, slowGroup, slow.prompt, slow.expectTokens, slow.readBytesPerSecond),
      );
    }
  }
  await sleep(job.warmupMs);
  notify({ type: 'mark', phase: 'measure-start', openStreams: open.size });
  await sleep(job.measureMs);
  notify({ type: 'mark', phase: 'measure-end', openStreams: open.size });
  if (job.holdMs) await sleep(job.holdMs);
  stop = true;
  stopping.add(main);
  stopping.add(slowGroup);
  const openAtEnd = open.size;
  for (const connection of [...open]) connection.destroy();
  await Promise.all(loops);
  stopping.delete(main);
  stopping.delete(slowGroup);
  return { main: groupResult(main), slow: groupResult(slowGroup), openAtEnd };
}

interface IdleJob {
  target: Target;
  count: number;
  prompt: string;
  /** Follow existing runs (`GET /api/streams/<id>`) instead of starting a run per connection. */
  followRuns?: number;
  batch: number;
}

const idle = {
  connections: [] as SseConnection[],
  comments: 0,
  events: 0,
  failed: 0,
  endedEarly: 0,
  releasing: false,
};

function openIdle(target: Target, request: ReturnType<typeof startRequest>): Promise<Map<string, string> | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (value: Map<string, string> | undefined) => {
      if (!settled) {
        settled = true;
        resolve(value);
      }
    };
    const connection = openSse(request, {
      onHeaders(status, headers) {
        if (status === 200) settle(new Map(headers));
        else {
          idle.failed += 1;
          settle(undefined);
        }
      },
      onComment() {
        idle.comments += 1;
      },
      onEvent() {
        idle.events += 1;
      },
      onEnd() {
        if (!idle.releasing) idle.endedEarly += 1;
        if (!settled) idle.failed += 1;
        settle(undefined);
      },
    });
    void target;
    idle.connections.push(connection);
  });
}

async function idleOpen(job: IdleJob) {
  idle.connections = [];
  idle.comments = 0;
  idle.events = 0;
  idle.failed = 0;
  idle.endedEarly = 0;
  idle.releasing = false;
  const started = nowNs();
  const paths: string[] = [];
  if (job.followRuns) {
    for (let i = 0; i < job.followRuns; i++) {
      const headers = await openIdle(job.target, startRequest(job.target, job.prompt));
      const id = headers?.get('x-stream-id');
      if (id) paths.push(`/api/streams/${id}`);
    }
    if (paths.length === 0) throw new Error('no run to follow: the gateway returned no X-Stream-Id');
  }
  const total = job.count - (job.followRuns ?? 0);
  for (let opened = 0; opened < total; ) {
    const wave: Promise<unknown>[] = [];
    for (let i = 0; i < job.batch && opened < total; i++, opened++) {
      const path = paths[opened % Math.max(1, paths.length)];
      wave.push(
        openIdle(
          job.target,
          path === undefined ? startRequest(job.target, job.prompt) : { port: job.target.port, method: 'GET', path },
        ),
      );
    }
    await Promise.all(wave);
  }
  return { opened: idle.connections.length, failed: idle.failed, openMs: (nowNs() - started) / 1e6 };
}

function idleClose() {
  idle.releasing = true;
  const result = {
    open: idle.connections.length - idle.failed - idle.endedEarly,
    comments: idle.comments,
    events: idle.events,
    failed: idle.failed,
    endedEarly: idle.endedEarly,
  };
  for (const connection of idle.connections) connection.destroy();
  idle.connections = [];
  return result;
}

interface ResumeJob {
  target: Target;
  /** Where every reconnect goes (another instance sharing the runs); by default `target`'s port. */
  resumePort?: number;
  prompt: string;
  expectTokens: number;
  concurrency: number;
  drops: number;
  /** Drop after a uniformly random number of tokens in [1, maxTokensBeforeDrop]. */
  maxTokensBeforeDrop: number;
  /** Reconnect after a uniformly random pause in [least, most] ms. */
  reconnectDelayMs: readonly [number, number];
  /**
   * A node:http server on the gateway's core that answers `GET /?greet` with its head and a
   * comment at once: probed all along, it is the floor for "connect → first byte" under the same
   * load on both cores.
   */
  floorPort?: number;
  /** Pause between floor probes, ms. */
  floorEveryMs?: number;
}

const STALL_MS = 10_000;

async function resume(job: ResumeJob) {
  const group = createGroup();
  const reconnectToFirstByte = createHistogram();
  const reconnectToFirstToken = createHistogram();
  // Only reconnects whose first token was sent by the mock before the reconnect began measure
  // the replay itself; the others (the stream had not moved on during the pause) waited for the
  // next token from upstream.
  const replayedToFirstByte = createHistogram();
  const liveToFirstToken = createHistogram();
  const window = { from: 0, to: Number.POSITIVE_INFINITY };
  const floorToFirstByte = createHistogram();
  let drops = 0;
  let gone204 = 0;
  let idRegressions = 0;
  let probing = job.floorPort !== undefined;
  let probeTimer: NodeJS.Timeout | undefined;
  const probeFloor = (): void => {
    if (!probing || job.floorPort === undefined) return;
    let next = false;
    const again = (): void => {
      if (next) return;
      next = true;
      probeTimer = setTimeout(probeFloor, job.floorEveryMs ?? 4);
    };
    const probe = openSse(
      { port: job.floorPort, method: 'GET', path: '/?greet' },
      {
        onFirstByte(recvNs) {
          floorToFirstByte.record(recvNs - probe.startNs);
          probe.destroy();
          again();
        },
        onEnd: again,
      },
    );
  };
  probeFloor();
  const oneStream = () =>
    new Promise<void>((resolve) => {
      group.streamsStarted += 1;
      let tracker: SequenceTracker | undefined;
      let streamId: string | undefined;
      let lastId: string | undefined;
      let terminal = false;
      const connect = (resuming: boolean) => {
        const cursor = lastId;
        let seen = 0;
        let dropAt = 1 + Math.floor(Math.random() * job.maxTokensBeforeDrop);
        let status = 0;
        let firstByte = false;
        let firstByteNs = 0;
        let firstToken = false;
        const request = resuming
          ? {
              port: job.resumePort ?? job.target.port,
              method: 'GET' as const,
              path: `/api/streams/${streamId}`,
              headers: { 'Last-Event-ID': lastId ?? '' },
            }
          : startRequest(job.target, job.prompt);
        // A connection that stays silent this long is stuck: record it and move on, so that a
        // server bug shows up as an error instead of a hung benchmark.
        let stallTimer: NodeJS.Timeout | undefined;
        const armStall = () => {
          clearTimeout(stallTimer);
          stallTimer = setTimeout(() => {
            recordError(
              group,
              `stalled ${STALL_MS} ms (${resuming ? 'resume' : 'start'}, status ${status}, last id ${lastId}, ` +
                `${tracker?.expected ?? 0} tokens, terminal ${terminal})`,
            );
            dropAt = 0;
            connection.destroy();
          }, STALL_MS);
        };
        const connection: SseConnection = openSse(request, {
          onHeaders(code, headers) {
            armStall();
            status = code;
            streamId ??= headers.get('x-stream-id');
            if (code === 204) gone204 += 1;
            else if (code !== 200) recordError(group, `status ${code} (${resuming ? 'resume' : 'start'})`);
          },
          onFirstByte(recvNs) {
            if (resuming && !firstByte) reconnectToFirstByte.record(recvNs - connection.startNs);
            if (!firstByte) firstByteNs = recvNs;
            firstByte = true;
          },
          onComment() {
            armStall();
          },
          onEvent(event, recvNs) {
            armStall();
            if (event.id !== undefined && event.id !== '') {
              if (lastId !== undefined && Number(event.id) <= Number(lastId)) idRegressions += 1;
              lastId = event.id;
            }
            if (event.event === 'done' || event.event === 'error') terminal = true;
            // A run that ends with an error event ends "complete" but short: say why.
            if (event.event === 'error')
              recordError(group, `error event (${resuming ? 'resume' : 'start'}): ${event.data}`);
            const before = tracker?.expected ?? 0;
            const lostBefore = group.lost;
            tracker?.onData(event.data, recvNs);
            if (group.lost > lostBefore && group.errorSamples.length < 5) {
              // Where a gap opened tells a lost replay from a lost live event.
              group.errorSamples.push(
                `gap of ${group.lost - lostBefore} tokens before event id ${event.id}, ${seen} tokens after ` +
                  `${resuming ? `a resume from Last-Event-ID ${cursor}` : 'the start'}`,
              );
            }
            if ((tracker?.expected ?? 0) > before) {
              if (resuming && !firstToken) {
                reconnectToFirstToken.record(recvNs - connection.startNs);
                if ((tracker?.lastSendNs ?? 0) < connection.startNs)
                  replayedToFirstByte.record(firstByteNs - connection.startNs);
                else liveToFirstToken.record(recvNs - connection.startNs);
              }
              firstToken = true;
              seen += 1;
              if (seen >= dropAt && !terminal && drops < job.drops) {
                drops += 1;
                dropAt = Number.POSITIVE_INFINITY;
                connection.destroy();
                // Reconnect after a short blip, so that the stream has moved on and the
                // reconnect has something to replay. (At once, most reconnects would find
                // nothing new and wait for the next upstream token; and the few that did find a
                // backlog would be the ones this process was slow to send, a biased sample.)
                const [least, most] = job.reconnectDelayMs;
                setTimeout(() => connect(true), least + Math.random() * (most - least));
              }
            }
          },
          onEnd(complete) {
            clearTimeout(stallTimer);
            if (dropAt === Number.POSITIVE_INFINITY) return; // we dropped it; the reconnect is under way
            group.bytes += connection.bodyBytes;
            if ((status === 200 && complete) || status === 204) {
              if (!terminal && status === 200) recordError(group, 'stream ended without a terminal event');
              group.streamsCompleted += 1;
              if ((tracker?.expected ?? 0) < job.expectTokens)
                group.lost += job.expectTokens - (tracker?.expected ?? 0);
            } else if (status === 200) {
              recordError(group, `stream ended early after ${tracker?.expected ?? 0} tokens`);
            }
            resolve();
          },
        });
        tracker ??= new SequenceTracker(group, connection.startNs, window);
        armStall();
      };
      connect(false);
    });
  const workers: Promise<void>[] = [];
  for (let i = 0; i < job.concurrency; i++) {
    workers.push(
      (async () => {
        while (drops < job.drops && group.errors < 50) await oneStream();
      })(),
    );
  }
  await Promise.all(workers);
  probing = false;
  clearTimeout(probeTimer);
  return {
    main: groupResult(group),
    drops,
    gone204,
    idRegressions,
    floorToFirstByte: floorToFirstByte.toData(),
    reconnectToFirstByte: reconnectToFirstByte.toData(),
    replayedToFirstByte: replayedToFirstByte.toData(),
    liveToFirstToken: liveToFirstToken.toData(),
    reconnectToFirstToken: reconnectToFirstToken.toData(),
  };
}

serveRequests((message) => {
  switch (message.type) {
    case 'sequential':
      return sequential(message as unknown as SequentialJob);
    case 'streams':
      return streams(message as unknown as StreamsJob);
    case 'idle-open':
      return idleOpen(message as unknown as IdleJob);
    case 'idle-close':
      return idleClose();
    case 'resume':
      return resume(message as unknown as ResumeJob);
    case 'clock':
      return nowNs();
    default:
      throw new Error(`unknown job ${String(message.type)}`);
  }
});
announceReady({ clockNs: nowNs() });
