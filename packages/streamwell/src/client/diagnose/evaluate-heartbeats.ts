/**
 * Heartbeats: are there keep-alives, and is the longest silence on the wire shorter than the
 * idle timeout of the proxies on the way (nginx `proxy_read_timeout` is 60 s by default)?
 *
 * @module
 */
import { type CheckResult, createCheckResult, formatMs } from './check-result.ts';
import type { StreamObservation } from './stream-observation.ts';

/**
 * nginx's default `proxy_read_timeout`, the most common idle cut-off.
 *
 * @internal
 */
export const DEFAULT_PROXY_IDLE_TIMEOUT_MS = 60_000;

/**
 * The longest silence on the wire and where it was.
 *
 * @internal
 */
export interface Silence {
  readonly ms: number;
  readonly where: string;
}

/**
 * The longest time nothing arrived: waiting for the response head, between reads, and after the
 * last read while the stream stayed open.
 *
 * @param observation - the recorded stream
 * @returns the longest silence
 *
 * @internal
 */
export function longestSilence(observation: StreamObservation): Silence {
  const marks: { at: number; label: string }[] = [{ at: observation.requestedAt, label: 'the request' }];
  if (observation.responseAt !== undefined) marks.push({ at: observation.responseAt, label: 'the response head' });
  observation.reads.forEach((read, index) => {
    marks.push({ at: read.at, label: index === 0 ? 'the first byte' : `read ${index + 1}` });
  });
  if (observation.endReason !== 'eof' && observation.endReason !== 'error') {
    marks.push({ at: observation.endedAt, label: 'the end of the wait' });
  }
  let longest: Silence = { ms: 0, where: 'nowhere' };
  for (let index = 1; index < marks.length; index += 1) {
    const previous = marks[index - 1] as { at: number; label: string };
    const current = marks[index] as { at: number; label: string };
    const gap = current.at - previous.at;
    if (gap > longest.ms) longest = { ms: gap, where: `between ${previous.label} and ${current.label}` };
  }
  return longest;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * Heartbeats present, and their interval against a proxy idle timeout.
 *
 * @param observation - the recorded stream
 * @param proxyIdleTimeoutMs - the idle timeout to hold the stream against
 * @returns the `heartbeats` check
 *
 * @internal
 */
export function evaluateHeartbeats(
  observation: StreamObservation,
  proxyIdleTimeoutMs: number = DEFAULT_PROXY_IDLE_TIMEOUT_MS,
): CheckResult {
  const title = 'Heartbeats keep idle proxies from cutting the stream';
  const silence = longestSilence(observation);
  const comments = observation.comments;
  const duration = observation.endedAt - observation.requestedAt;
  const longest = `longest silence ${formatMs(silence.ms)} (${silence.where})`;
  const fix = `Send a comment line (\`: ping\\n\\n\`) whenever nothing was written for a while, well under the proxy idle timeout (every ${formatMs(Math.max(1000, Math.floor(proxyIdleTimeoutMs / 4)))} here), and before the first token too (streamwell: HEARTBEAT_MS). Or raise the proxy timeout (nginx proxy_read_timeout).`;
  if (silence.ms >= proxyIdleTimeoutMs) {
    return createCheckResult(
      'heartbeats',
      title,
      'fail',
      `${comments.length} heartbeat comment${comments.length === 1 ? '' : 's'}; ${longest}, at or over the proxy idle timeout of ${formatMs(proxyIdleTimeoutMs)}: a proxy would have cut the stream.`,
      fix,
    );
  }
  if (comments.length >= 2) {
    const times = comments.map((comment) => comment.at);
    const interval = median(times.slice(1).map((time, index) => time - (times[index] as number)));
    // Heartbeats a buffering proxy held back arrive together: their interval is hidden then.
    const spacing = interval < 15 ? 'arriving together (held back on the way?)' : `interval ~${formatMs(interval)}`;
    const evidence = `${comments.length} heartbeats, ${spacing}; ${longest}; proxy idle timeout ${formatMs(proxyIdleTimeoutMs)}.`;
    if (interval >= proxyIdleTimeoutMs / 2) {
      return createCheckResult('heartbeats', title, 'warn', `${evidence} The interval leaves little margin.`, fix);
    }
    return createCheckResult('heartbeats', title, 'pass', evidence);
  }
  if (comments.length === 1) {
    return createCheckResult(
      'heartbeats',
      title,
      'pass',
      `1 heartbeat in a ${formatMs(duration)} stream (too short to measure the interval); ${longest}; proxy idle timeout ${formatMs(proxyIdleTimeoutMs)}.`,
    );
  }
  return createCheckResult(
    'heartbeats',
    title,
    'warn',
    `No heartbeat in this ${formatMs(duration)} stream; ${longest}, under the proxy idle timeout of ${formatMs(proxyIdleTimeoutMs)}. A stream shorter than the server's heartbeat interval shows none, so this proves nothing either way; a slow model would be cut after ${formatMs(proxyIdleTimeoutMs)} of silence if the server sends none.`,
    fix,
  );
}
