/**
 * Upstream faults against a real server process (`STREAMWELL_PROVIDER=openai` in front of the
 * fake OpenAI server): 429 and 500 before the head, malformed SSE, a stall mid-stream, a reset
 * connection mid-stream, a 10 MB delta, invalid UTF-8 and a model that never ends. Each stream
 * must end with the right terminal event, keep the partial text (a resume returns the same
 * events), and leave nothing behind: after the rounds the server's open file descriptors
 * (/proc/PID/fd), active handles, active runs, open responses and retained bytes come back to
 * the baseline, and its resident memory stays within a bounded growth.
 *
 * `npm test` plays each fault a few times; `npm run soak` many times (scale()).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeOpenAI, type FakeReply, startFakeOpenAI } from '../helpers/fake-openai.ts';
import { type ServerProcess, startServer, stopServerProcesses } from '../helpers/server-process.ts';
import { until } from '../helpers/until.ts';
import { postMessage, type ReceivedEvent, readSse, resumeStream, textOf } from '../server/helpers/sse-client.ts';
import { scale } from './helpers/soak-mode.ts';

const ROUNDS = scale(2, 40);
const TEN_MB = 10 * 1024 * 1024;

/** One chat.completion.chunk frame with this content delta. */
const chunk = (content: string): string =>
  `data: ${JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

interface Fault {
  readonly name: string;
  readonly replies: readonly FakeReply[];
  /** `done`, or the `error` code. */
  readonly terminal: string;
  /** The partial (or whole) text the run keeps. */
  readonly text: string | ((text: string) => boolean);
}

const FAULTS: readonly Fault[] = [
  // Retried (UPSTREAM_MAX_ATTEMPTS=3), then given up: no text.
  {
    name: '429 before the head',
    replies: [{ status: 429 }, { status: 429 }, { status: 429 }],
    terminal: 'upstream_error',
    text: '',
  },
  { name: '500 before the head', replies: [{ status: 500 }], terminal: 'upstream_error', text: '' },
  {
    name: 'malformed SSE after a token',
    replies: [{ rawBody: `${chunk('kept')}data: {"choices": [ not json\n\n` }],
    terminal: 'upstream_error',
    text: 'kept',
  },
  {
    name: 'a stall mid-stream',
    replies: [{ tokens: ['a', 'b', 'c'], stallAfterTokens: 2 }],
    terminal: 'idle_timeout',
    text: 'ab',
  },
  {
    name: 'a reset mid-stream',
    replies: [{ tokens: ['a', 'b', 'c'], resetAfterTokens: 2 }],
    terminal: 'upstream_error',
    text: 'ab',
  },
  {
    name: 'a 10 MB delta',
    replies: [{ tokens: ['before ', 'x'.repeat(TEN_MB)] }],
    terminal: 'upstream_error',
    text: 'before ',
  },
  {
    // Bytes that are not UTF-8 inside a token: decoded with U+FFFD, the reply goes on.
    name: 'invalid UTF-8',
    replies: [
      {
        rawBody: Buffer.concat([
          Buffer.from(chunk('ok ').replace('ok ', 'ok \u0001').split('\u0001')[0] as string),
          Buffer.from([0xff, 0xfe, 0xc3]),
          Buffer.from(`${chunk('ok ').split('ok ')[1] as string}${chunk('end')}data: [DONE]\n\n`),
        ]),
      },
    ],
    terminal: 'done',
    text: 'ok \uFFFD\uFFFD\uFFFDend',
  },
  {
    name: 'a model that never ends',
    replies: [{ tokens: ['tick '], endless: true, tokenDelayMs: 20 }],
    terminal: 'stream_timeout',
    text: (text) => text.startsWith('tick tick ') && /^(tick )+$/.test(text),
  },
];

let fake: FakeOpenAI;
let server: ServerProcess;

beforeAll(async () => {
  fake = await startFakeOpenAI();
  server = await startServer({
    STREAMWELL_PROVIDER: 'openai',
    LLM_BASE_URL: fake.baseUrl,
    LLM_API_KEY: fake.apiKey ?? '',
    LLM_MODEL: 'gpt-4o-mini',
    FIRST_TOKEN_TIMEOUT_MS: '10000',
    IDLE_TIMEOUT_MS: '1500',
    STREAM_TIMEOUT_MS: '3000',
    UPSTREAM_MAX_ATTEMPTS: '3',
    // Long enough to resume each stream; short enough that the leak check sees it evicted.
    STREAM_RETENTION_MS: '4000',
    LOG_LEVEL: 'info',
  });
}, 60_000);

afterAll(async () => {
  await stopServerProcesses();
  await fake?.close();
});

/** What the server process holds: fds, RSS, and its own gauges. */
async function footprint() {
  const fds = readdirSync(`/proc/${server.pid}/fd`).length;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const gauge = (name: string): number => {
    const line = metrics.split('\n').find((entry) => entry.startsWith(`${name} `));
    return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
  };
  return {
    fds,
    rssMb: rssKb / 1024,
    handles: gauge('nodejs_active_handles_total'),
    activeStreams: gauge('streamwell_active_streams'),
    openResponses: gauge('streamwell_open_stream_responses'),
    retainedBytes: gauge('streamwell_retained_bytes'),
  };
}

async function run(): Promise<{ events: ReceivedEvent[]; streamId: string }> {
  const response = await postMessage(server.url, { message: 'hi' });
  expect(response.status).toBe(200);
  const { events } = await readSse(response);
  return { events, streamId: String(events[0]?.data.streamId) };
}

function terminalOf(events: readonly ReceivedEvent[]): string {
  const last = events.at(-1);
  return last?.event === 'done' ? 'done' : String(last?.data.code);
}

describe('upstream faults', () => {
  it(
    `each fault ends in its terminal event with the partial kept, ${ROUNDS} rounds, and nothing leaks`,
    async () => {
      // Warm up (first request, lazy modules, pools), then take the baseline.
      fake.enqueue({});
      expect(terminalOf((await run()).events)).toBe('done');
      await until(async () => (await footprint()).retainedBytes === 0, 'the warm-up run evicted', {
        timeoutMs: 30_000,
      });
      const baseline = await footprint();

      for (let round = 0; round < ROUNDS; round += 1) {
        for (const fault of FAULTS) {
          fake.enqueue(...fault.replies);
          const { events, streamId } = await run();
          const text = textOf(events);
          expect({ fault: fault.name, terminal: terminalOf(events) }).toEqual({
            fault: fault.name,
            terminal: fault.terminal,
          });
          if (typeof fault.text === 'string')
            expect({ fault: fault.name, text }).toEqual({ fault: fault.name, text: fault.text });
          else expect(fault.text(text), `${fault.name}: ${text.slice(0, 80)}`).toBe(true);
          // Exactly one terminal event, and a resume from the start returns the same events.
          expect(events.filter((event) => event.event === 'done' || event.event === 'error')).toHaveLength(1);
          const replay = (await readSse(await resumeStream(server.url, streamId, {}, '?after=0'))).events;
          expect(replay.map((event) => [event.id, event.event])).toEqual(
            events.filter((event) => event.id > 0).map((event) => [event.id, event.event]),
          );
          expect(textOf(replay)).toBe(text);
        }
      }

      // Every upstream connection the faults opened is closed by the server, not left hanging.
      await until(
        () => fake.generations.every((request) => request.finished || request.aborted),
        'upstream requests closed',
        {
          timeoutMs: 30_000,
        },
      );
      // The runs leave retention, then everything is back near the baseline.
      await until(async () => (await footprint()).retainedBytes === 0, 'the fault runs evicted', { timeoutMs: 60_000 });
      let after = await footprint();
      await until(
        async () => {
          after = await footprint();
          return after.fds <= baseline.fds + 4 && after.handles <= baseline.handles + 4;
        },
        'fds and handles back to the baseline',
        { timeoutMs: 30_000 },
      ).catch(() => {});
      console.info(
        `upstream faults: baseline ${JSON.stringify(baseline)}, after ${ROUNDS} rounds ${JSON.stringify(after)}`,
      );
      expect(after.activeStreams).toBe(0);
      expect(after.openResponses).toBe(0);
      expect(after.fds).toBeLessThanOrEqual(baseline.fds + 4);
      expect(after.handles).toBeLessThanOrEqual(baseline.handles + 4);
      // A 10 MB delta per round must not stay: growth bounded well below ROUNDS x 10 MB.
      expect(after.rssMb).toBeLessThan(baseline.rssMb + 160);
    },
    scale(120_000, 1_800_000),
  );
});
