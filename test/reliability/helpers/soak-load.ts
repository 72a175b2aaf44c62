/**
 * The soak's load generator: keeps N streams open against a server for a while, each replaced by
 * a new one as soon as it ends, and checks every stream whole (the exact text the fake upstream
 * sent, ids in order, exactly one terminal event, last).
 *
 * Lean on purpose, so that one client process can hold a thousand streams without becoming the
 * bottleneck: `node:http` with one keep-alive agent (no socket cap: the kernel's descriptor limit
 * is the only one, checked by the suite), the library's SSE parser on decoded strings, no per-event
 * objects kept beyond the running stream.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createSseParser } from 'streamwell/client';
import { type PacedScript, pacedMessage, pacedText } from '../../redis/helpers/instances.ts';

/** Options of {@link runSoakLoad}. */
export interface SoakLoadOptions {
  /** The server, `http://127.0.0.1:PORT`. */
  readonly baseUrl: string;
  /** From {@link createSoakAgent}; the caller destroys it (after its last sample of the server). */
  readonly agent: Agent;
  /** Streams open at once. */
  readonly concurrency: number;
  /** How long new streams are started; the ones running then are read to their end. */
  readonly durationMs: number;
  /** What the fake upstream streams for every message. */
  readonly script: PacedScript;
  /** The first streams start spread over this long, so that they do not end in lock step. */
  readonly rampMs: number;
  /** Called every `progressEveryMs` with the counts so far. */
  readonly onProgress?: (progress: SoakProgress) => void;
  /** @defaultValue 10000 */
  readonly progressEveryMs?: number;
}

/** Counts of a load run. */
export interface SoakProgress {
  readonly elapsedMs: number;
  readonly started: number;
  readonly completed: number;
  readonly failed: number;
  readonly open: number;
  readonly tokens: number;
}

/** What {@link runSoakLoad} measured. */
export interface SoakLoadResult extends SoakProgress {
  /** The first few failures, described. */
  readonly failures: readonly string[];
  /** Most streams open at once. */
  readonly maxOpen: number;
  /** The client process's event-loop utilization over the run (0–1): near 1, the client was the limit. */
  readonly clientEventLoopUtilization: number;
  /** From sending a start to its response headers, ms (the first 100,000 streams). */
  readonly headersMs: Percentiles;
  /** From sending a start to the end of its reply, ms (the first 100,000 streams). */
  readonly streamMs: Percentiles;
}

/** Median, 99th percentile and maximum, in ms. */
export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Timings kept per run (enough for a p99, bounded so that a long soak does not grow the client). */
const MAX_TIMES = 100_000;

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return { p50: at(0.5), p99: at(0.99), max: Math.round(sorted.at(-1) ?? 0) };
}

const STALL_MS = 300_000;

/** One stream checked whole; throws a description of what was wrong. */
function runOne(
  agent: Agent,
  baseUrl: string,
  script: PacedScript,
  expected: string,
  headerTimes: number[],
): Promise<number> {
  const sentAt = performance.now();
  const body = JSON.stringify({ message: pacedMessage(randomBytes(4).toString('hex'), script) });
  return new Promise<number>((resolve, reject) => {
    let text = '';
    let tokens = 0;
    let lastId = -1;
    let terminals = 0;
    let afterTerminal = 0;
    let terminal: { event: string; data: string } | undefined;
    let problem: string | undefined;
    const parser = createSseParser({
      onEvent(event) {
        const id = Number(event.id);
        if (!(id > lastId)) problem ??= `id ${event.id} after ${lastId}`;
        lastId = id;
        if (terminals > 0) afterTerminal += 1;
        if (event.event === 'token') {
          text += (JSON.parse(event.data) as { token: string }).token;
          tokens += 1;
        } else if (event.event === 'done' || event.event === 'error') {
          terminals += 1;
          terminal = { event: event.event, data: event.data };
        }
      },
    });
    const req = request(
      `${baseUrl}/api/stream/message`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        if (headerTimes.length < MAX_TIMES) headerTimes.push(performance.now() - sentAt);
        if (response.statusCode !== 200) {
          let refusal = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            refusal += chunk;
          });
          response.on('end', () => reject(new Error(`status ${response.statusCode}: ${refusal.slice(0, 200)}`)));
          return;
        }
        // Decoded as a stream: a multibyte character split across reads stays whole.
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => parser.feed(chunk));
        response.on('error', (error) => reject(new Error(`response: ${error.message}`)));
        response.on('end', () => {
          if (problem !== undefined) reject(new Error(problem));
          else if (terminals !== 1) reject(new Error(`${terminals} terminal events`));
          else if (afterTerminal > 0) reject(new Error(`${afterTerminal} events after the terminal event`));
          else if (terminal?.event !== 'done') reject(new Error(`ended with ${terminal?.event} ${terminal?.data}`));
          else if (text !== expected) reject(new Error(`text differs: ${JSON.stringify(text.slice(0, 80))}…`));
          else resolve(tokens);
        });
      },
    );
    // A bound against hanging only: a starved server (load 30 on 2 cores) kept starts waiting
    // for their response headers over 60 s (p99 59 s, max 93 s); a browser waits 5 minutes too.
    req.setTimeout(STALL_MS, () => req.destroy(new Error(`no byte for ${STALL_MS} ms`)));
    req.on('error', (error) => reject(new Error(`request: ${error.message}`)));
    req.end(body);
  });
}

/**
 * The load's HTTP agent. keepAlive: a finished stream's socket carries the next one (no connect
 * per stream, no TIME_WAIT pile-up); no socket cap but the concurrency itself.
 *
 * @param concurrency - streams open at once
 * @returns the agent
 */
export function createSoakAgent(concurrency: number): Agent {
  return new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, maxFreeSockets: concurrency });
}

/**
 * Sockets an agent holds now, busy or idle.
 *
 * @param agent - from {@link createSoakAgent}
 * @returns their number
 */
export function countSockets(agent: Agent): number {
  let count = 0;
  for (const list of [...Object.values(agent.sockets), ...Object.values(agent.freeSockets)]) count += list?.length ?? 0;
  return count;
}

/**
 * Keeps `concurrency` streams open for `durationMs`, replacing each one that ends.
 *
 * @param options - target, size, duration, script
 * @returns the counts, the first failures, and how busy the client was
 */
export async function runSoakLoad(options: SoakLoadOptions): Promise<SoakLoadResult> {
  const { agent, baseUrl, concurrency, durationMs, script, rampMs, onProgress } = options;
  const expected = pacedText(script);
  const startedAt = performance.now();
  const endAt = startedAt + durationMs;
  const utilizationAtStart = performance.eventLoopUtilization();
  const failures: string[] = [];
  let started = 0;
  let completed = 0;
  let failed = 0;
  let open = 0;
  let maxOpen = 0;
  let tokens = 0;
  const headerTimes: number[] = [];
  const streamTimes: number[] = [];
  const progress = (): SoakProgress => ({
    elapsedMs: Math.round(performance.now() - startedAt),
    started,
    completed,
    failed,
    open,
    tokens,
  });
  const ticker =
    onProgress === undefined ? undefined : setInterval(() => onProgress(progress()), options.progressEveryMs ?? 10_000);

  async function worker(index: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, (rampMs * index) / concurrency));
    while (performance.now() < endAt) {
      started += 1;
      open += 1;
      maxOpen = Math.max(maxOpen, open);
      const began = performance.now();
      try {
        // Not `tokens += await …`: that reads `tokens` before the wait and loses the other
        // workers' additions made meanwhile.
        const streamed = await runOne(agent, baseUrl, script, expected, headerTimes);
        tokens += streamed;
        completed += 1;
        if (streamTimes.length < MAX_TIMES) streamTimes.push(performance.now() - began);
      } catch (error) {
        failed += 1;
        if (failures.length < 20)
          failures.push(
            `${Math.round(began - startedAt)} ms in, after ${Math.round(performance.now() - began)} ms: ${(error as Error).message}`,
          );
      } finally {
        open -= 1;
      }
    }
  }

  try {
    await Promise.all(Array.from({ length: concurrency }, (_, index) => worker(index)));
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
  }
  const utilization = performance.eventLoopUtilization(utilizationAtStart);
  return {
    ...progress(),
    failures,
    maxOpen,
    clientEventLoopUtilization: utilization.utilization,
    headersMs: percentiles(headerTimes),
    streamMs: percentiles(streamTimes),
  };
}
