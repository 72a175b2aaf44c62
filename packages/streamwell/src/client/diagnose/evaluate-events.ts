/**
 * The events parse: valid SSE, JSON data (the guide's `JSON.parse(line.slice(6))`), and a token
 * field where token events are sent.
 *
 * @module
 */
import { type CheckResult, createCheckResult } from './check-result.ts';
import { extractToken, parseJsonData } from './classify-event.ts';
import type { StreamObservation } from './stream-observation.ts';

function sample(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

function readField(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function countNames(observation: StreamObservation): string {
  const counts = new Map<string, number>();
  for (const event of observation.events) counts.set(event.event, (counts.get(event.event) ?? 0) + 1);
  return [...counts].map(([name, count]) => `${name}×${count}`).join(', ');
}

/**
 * Valid SSE, JSON data, a token field.
 *
 * @param observation - the recorded stream
 * @returns the `events` check
 *
 * @internal
 */
export function evaluateEvents(observation: StreamObservation): CheckResult {
  const title = 'Events parse: valid SSE, JSON data, token field';
  const total = observation.events.length;
  const bytes = observation.reads.reduce((sum, read) => sum + read.bytes, 0);
  if (total === 0) {
    if (bytes === 0)
      return createCheckResult('events', title, 'warn', 'No bytes arrived, so there was nothing to parse.');
    return createCheckResult(
      'events',
      title,
      'fail',
      `${bytes} bytes arrived but no event was dispatched; the body starts ${sample(observation.bodySample)}.`,
      'Frame each event as `data: <json>\\n\\n`: lines start with a field name and a colon, and a blank line ends the event.',
    );
  }
  const problems: string[] = [];
  const fixes: string[] = [];
  let failed = false;
  if (observation.parseErrors.length > 0) {
    failed = true;
    problems.push(`the parser reported: ${observation.parseErrors.slice(0, 3).join('; ')}`);
    fixes.push('emit only valid SSE fields (id, event, data, retry) and keep lines within limits');
  }
  const notJson = observation.events.filter(
    (event) => event.data.length > 0 && event.data.trim() !== '[DONE]' && parseJsonData(event.data) === undefined,
  );
  if (notJson.length > 0) {
    failed = true;
    problems.push(
      `${notJson.length} of ${total} events carry data that is not JSON, e.g. ${sample(notJson[0]?.data ?? '')}`,
    );
    fixes.push(
      "send one line of JSON per event (`data: <JSON.stringify(payload)>`), which the guide's JSON.parse(line.slice(6)) expects",
    );
  }
  const multiline = observation.events.filter((event) => event.data.includes('\n'));
  if (multiline.length > 0) {
    problems.push(
      `${multiline.length} events span several data: lines, which per-line parsers (the guide's loop) break apart`,
    );
    fixes.push('serialise data as single-line JSON');
  }
  const tokenNamed = observation.events.filter((event) => event.event === 'token');
  const tokenless = tokenNamed.filter((event) => typeof readField(parseJsonData(event.data), 'token') !== 'string');
  if (tokenless.length > 0) {
    failed = true;
    problems.push(
      `${tokenless.length} "token" events have no string "token" field, e.g. ${sample(tokenless[0]?.data ?? '')}`,
    );
    fixes.push('send `{"token": "<text>"}` in each token event, as the guide\'s code reads `data.token`');
  }
  const tokens = observation.events.filter(
    (event) => extractToken(event.event, parseJsonData(event.data)) !== undefined,
  );
  const summary = `${total} events (${countNames(observation)}); ${tokens.length} carry a token`;
  if (problems.length === 0) {
    return createCheckResult('events', title, 'pass', `${summary}; every data field is JSON.`);
  }
  const fix = fixes.join('; ');
  return createCheckResult(
    'events',
    title,
    failed ? 'fail' : 'warn',
    `${summary}; ${problems.join('; ')}.`,
    `${fix[0]?.toUpperCase() ?? ''}${fix.slice(1)}.`,
  );
}
