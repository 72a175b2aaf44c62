/**
 * Buffering detection from per-read arrival times: a proxy or compressor that holds the stream
 * delivers many events in one burst, at the end or after a long wait, instead of one by one.
 *
 * @module
 */
import { type CheckResult, createCheckResult, formatMs } from './check-result.ts';
import type { StreamObservation } from './stream-observation.ts';

/**
 * Reads closer together than this belong to one delivery (a burst split by the socket).
 *
 * @internal
 */
export const DELIVERY_GAP_MS = 15;
/**
 * A burst after at least this much silence is suspicious.
 *
 * @internal
 */
export const BURST_WAIT_MS = 500;
/**
 * Fewer events than this are not enough to judge.
 *
 * @internal
 */
export const MIN_EVENTS_TO_JUDGE = 4;

/**
 * Events grouped by delivery.
 *
 * @internal
 */
export interface Delivery {
  readonly startAt: number;
  readonly endAt: number;
  /** Silence before this delivery (since the previous one, or since the request). */
  readonly waitBefore: number;
  readonly events: number;
}

/**
 * Groups reads into deliveries and counts the events each completed.
 *
 * @param observation - the recorded stream
 * @returns the deliveries, in order
 *
 * @internal
 */
export function groupDeliveries(observation: StreamObservation): Delivery[] {
  const eventsPerRead = new Array<number>(observation.reads.length).fill(0);
  for (const event of observation.events) eventsPerRead[event.readIndex] = (eventsPerRead[event.readIndex] ?? 0) + 1;
  const deliveries: Delivery[] = [];
  // From the request, not the response head: a buffering proxy may hold the head back too.
  let previousEnd = observation.requestedAt;
  let current: { startAt: number; endAt: number; waitBefore: number; events: number } | undefined;
  observation.reads.forEach((read, index) => {
    const count = eventsPerRead[index] ?? 0;
    if (current !== undefined && read.at - current.endAt <= DELIVERY_GAP_MS) {
      current.endAt = read.at;
      current.events += count;
      return;
    }
    if (current !== undefined) {
      deliveries.push(current);
      previousEnd = current.endAt;
    }
    current = { startAt: read.at, endAt: read.at, waitBefore: read.at - previousEnd, events: count };
  });
  if (current !== undefined) deliveries.push(current);
  return deliveries;
}

const FIX =
  'Something between the model and this client holds the stream. Proxy: nginx `proxy_buffering off;` for the stream location (or send `X-Accel-Buffering: no`), `gzip off;` for text/event-stream; CDNs: `Cache-Control: no-cache, no-transform`. Server: flush after every event (no response buffering, no compression middleware). Model: make sure the agent streams (Runner.run_streamed, stream: true) instead of returning the whole reply.';

/**
 * Events arriving in one burst at the end, or in one read after a long wait.
 *
 * @param observation - the recorded stream
 * @returns the `buffering` check
 *
 * @internal
 */
export function evaluateBuffering(observation: StreamObservation): CheckResult {
  const title = 'Events arrive as they are sent (no buffering)';
  const total = observation.events.length;
  if (total < MIN_EVENTS_TO_JUDGE) {
    return createCheckResult(
      'buffering',
      title,
      'pass',
      `Only ${total} event${total === 1 ? '' : 's'} arrived: too few to show buffering.`,
    );
  }
  const deliveries = groupDeliveries(observation).filter((delivery) => delivery.events > 0);
  let largest = deliveries[0] as Delivery;
  for (const delivery of deliveries) if (delivery.events > largest.events) largest = delivery;
  const share = largest.events / total;
  const first = deliveries[0] as Delivery;
  const last = deliveries.at(-1) as Delivery;
  const percent = Math.round(share * 100);
  const atEnd = largest === last ? ' at the end of the stream' : '';
  const burst = `${largest.events} of ${total} events (${percent}%) arrived in one burst${atEnd} after ${formatMs(largest.waitBefore)} of silence`;
  if (share >= 0.8 && largest.waitBefore >= BURST_WAIT_MS) {
    return createCheckResult('buffering', title, 'fail', `${burst}.`, FIX);
  }
  if (share >= 0.5 && largest.waitBefore >= BURST_WAIT_MS) {
    return createCheckResult('buffering', title, 'warn', `${burst}; the rest came separately.`, FIX);
  }
  if (deliveries.length === 1) {
    return createCheckResult(
      'buffering',
      title,
      'pass',
      `All ${total} events arrived in one delivery ${formatMs(first.waitBefore)} after the response head: too quick to tell buffering from a fast server.`,
    );
  }
  return createCheckResult(
    'buffering',
    title,
    'pass',
    `${total} events arrived in ${deliveries.length} separate deliveries over ${formatMs(last.endAt - first.startAt)}; the largest held ${largest.events} (${percent}%).`,
  );
}
