/**
 * Time to first byte vs first event vs first token: where a stream that "never starts" is stuck.
 *
 * @module
 */
import { nearestRankPercentile } from '../client-metrics.ts';
import { type CheckResult, createCheckResult, formatMs } from './check-result.ts';
import { classifyTerminal, extractToken, parseJsonData, type TerminalSignal } from './classify-event.ts';
import { fixForStreamError } from './stream-error-fix.ts';
import type { ObservedEvent, StreamObservation } from './stream-observation.ts';

/**
 * A first token later than this is reported as slow (the guide's own 10 s alarm).
 *
 * @internal
 */
export const SLOW_FIRST_TOKEN_MS = 10_000;

/**
 * Token arrivals of a stream, with the first terminal signal before any token.
 *
 * @internal
 */
export interface TokenTimeline {
  /** Arrival times of token events. */
  readonly tokenTimes: readonly number[];
  /** The first terminal signal, and its event. */
  readonly terminal: { readonly signal: TerminalSignal; readonly index: number } | undefined;
}

/**
 * Walks the events once: token arrival times and the first terminal event.
 *
 * @param events - the observed events
 * @returns the timeline
 *
 * @internal
 */
export function readTokenTimeline(events: readonly ObservedEvent[]): TokenTimeline {
  const tokenTimes: number[] = [];
  let terminal: TokenTimeline['terminal'];
  events.forEach((event, index) => {
    const json = parseJsonData(event.data);
    if (terminal === undefined && extractToken(event.event, json) !== undefined) tokenTimes.push(event.at);
    if (terminal === undefined) {
      const signal = classifyTerminal(event.event, event.data, json);
      if (signal !== undefined) terminal = { signal, index };
    }
  });
  return { tokenTimes, terminal };
}

function describeGaps(tokenTimes: readonly number[]): string {
  if (tokenTimes.length < 2) return '';
  const gaps = tokenTimes.slice(1).map((time, index) => time - (tokenTimes[index] as number));
  gaps.sort((a, b) => a - b);
  const span = (tokenTimes.at(-1) as number) - (tokenTimes[0] as number);
  return ` over ${formatMs(span)} (gap p50 ${formatMs(nearestRankPercentile(gaps, 0.5) as number)}, max ${formatMs(gaps.at(-1) as number)})`;
}

/**
 * Time to first byte, first event and first token.
 *
 * @param observation - the recorded stream
 * @returns the `timing` check
 *
 * @internal
 */
export function evaluateTiming(observation: StreamObservation): CheckResult {
  const title = 'Time to first byte, first event, first token';
  const start = observation.requestedAt;
  const since = (time: number): string => formatMs(time - start);
  const waited = formatMs(observation.endedAt - start);
  const parts: string[] = [];
  if (observation.responseAt !== undefined) parts.push(`response head ${since(observation.responseAt)}`);
  const firstRead = observation.reads[0];
  if (firstRead === undefined) {
    return createCheckResult(
      'timing',
      title,
      'fail',
      `${parts.join(', ')}; then no byte of body in ${waited}: the stream never started.`,
      'The server sent headers but never flushed a byte: write a first comment (`: ok`) right away, check that the generator runs (the guide\'s "Event generator started" print), and that no proxy holds the response.',
    );
  }
  parts.push(`first byte ${since(firstRead.at)}`);
  const firstEvent = observation.events[0];
  if (firstEvent === undefined) {
    return createCheckResult(
      'timing',
      title,
      'fail',
      `${parts.join(', ')}; no complete event in ${waited}.`,
      'Bytes arrive but no event completes: end each event with a blank line (`\\n\\n`), and flush after every event.',
    );
  }
  parts.push(`first event ${since(firstEvent.at)}`);
  const timeline = readTokenTimeline(observation.events);
  const firstToken = timeline.tokenTimes[0];
  if (firstToken === undefined) return noToken(observation, timeline, parts, waited);
  parts.push(`first token ${since(firstToken)}`);
  const summary = `${parts.join(', ')}; ${timeline.tokenTimes.length} tokens${describeGaps(timeline.tokenTimes)}.`;
  if (firstToken - start > SLOW_FIRST_TOKEN_MS) {
    return createCheckResult(
      'timing',
      title,
      'warn',
      `${summary} The first token took longer than ${formatMs(SLOW_FIRST_TOKEN_MS)}.`,
      'The model is slow to start: check the upstream latency (`streamwell doctor --provider`), a smaller model, or a shorter prompt; keep heartbeats going meanwhile.',
    );
  }
  return createCheckResult('timing', title, 'pass', summary);
}

function noToken(
  observation: StreamObservation,
  timeline: TokenTimeline,
  parts: string[],
  waited: string,
): CheckResult {
  const title = 'Time to first byte, first event, first token';
  const names = [...new Set(observation.events.map((event) => event.event))].join(', ');
  const terminal = timeline.terminal?.signal;
  if (terminal?.kind === 'error') {
    const code = terminal.code === undefined ? '' : ` "${terminal.code}"`;
    return createCheckResult(
      'timing',
      title,
      'fail',
      `${parts.join(', ')}; the stream ended with error${code} (${terminal.message ?? 'no message'}) before any token.`,
      fixForStreamError(terminal.code),
    );
  }
  if (observation.expectsReply || terminal?.kind === 'done') {
    const ending = terminal === undefined ? `in ${waited}` : 'before the stream ended';
    return createCheckResult(
      'timing',
      title,
      'fail',
      `${parts.join(', ')}; no token ${ending} (events seen: ${names}).`,
      'The model never produced a token: check the agent/model on the server (`streamwell doctor --provider`: key, model, a real streamed reply), and that the handler forwards text deltas as events with a `token` field.',
    );
  }
  return createCheckResult(
    'timing',
    title,
    'warn',
    `${parts.join(', ')}; no event carried a token (events seen: ${names}).`,
    'If this is a chat endpoint, pass -m "hello" so the doctor asks for a reply; tokens are read from `token`, `choices[0].delta.content` or `delta`.',
  );
}
