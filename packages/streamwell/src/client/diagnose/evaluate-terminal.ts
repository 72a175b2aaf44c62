/**
 * The stream ends with a terminal event (`done`/`error`, `[DONE]`, ...), not a silent close,
 * which a client cannot tell apart from a cut connection.
 *
 * @module
 */
import { type CheckResult, createCheckResult, formatMs } from './check-result.ts';
import { readTokenTimeline } from './evaluate-timing.ts';
import { fixForStreamError } from './stream-error-fix.ts';
import type { StreamObservation } from './stream-observation.ts';

/**
 * Terminal event present, not a silent close.
 *
 * @param observation - the recorded stream
 * @returns the `terminal` check
 *
 * @internal
 */
export function evaluateTerminal(observation: StreamObservation): CheckResult {
  const title = 'Stream ends with a terminal event';
  const total = observation.events.length;
  const { terminal } = readTokenTimeline(observation.events);
  const waited = formatMs(observation.endedAt - observation.requestedAt);
  if (terminal === undefined) {
    if (observation.endReason === 'eof') {
      return createCheckResult(
        'terminal',
        title,
        'fail',
        `The server closed the stream after ${total} events without a terminal event: a client cannot tell a finished reply from a cut one, so it either loses the end or resumes forever.`,
        'End every stream with exactly one terminal event (`event: done` with the finish reason, or `event: error` with a code), also when the model fails, then close.',
      );
    }
    if (observation.endReason === 'error') {
      return createCheckResult(
        'terminal',
        title,
        'fail',
        `The connection broke after ${total} events (${observation.errorMessage ?? 'network error'}) without a terminal event.`,
        'Something cut the connection mid-stream: check proxy timeouts (see heartbeats), server crashes and the server log.',
      );
    }
    if (observation.endReason === 'limit') {
      return createCheckResult(
        'terminal',
        title,
        'warn',
        `The doctor stopped reading at its size limit after ${total} events, before any terminal event.`,
        'Diagnose with a shorter reply (a smaller -m prompt).',
      );
    }
    return createCheckResult(
      'terminal',
      title,
      'warn',
      `The stream was still open after ${waited} (${total} events) with no terminal event yet.`,
      'Give the doctor longer (--timeout), or check why the reply does not finish (STREAM_TIMEOUT_MS bounds a streamwell run).',
    );
  }
  const after = total - terminal.index - 1;
  const event = observation.events[terminal.index];
  const name = event?.data.trim() === '[DONE]' ? 'data: [DONE]' : `"${event?.event ?? ''}"`;
  const closing =
    observation.endReason === 'eof'
      ? 'then the server closed the stream'
      : 'the server kept the stream open afterwards';
  if (terminal.signal.kind === 'error') {
    const code = terminal.signal.code === undefined ? '' : ` code "${terminal.signal.code}"`;
    return createCheckResult(
      'terminal',
      title,
      'warn',
      `The stream ended properly with an error event${code} (${terminal.signal.message ?? 'no message'}) after ${terminal.index} events; ${closing}. The run failed.`,
      fixForStreamError(terminal.signal.code),
    );
  }
  if (after > 0) {
    return createCheckResult(
      'terminal',
      title,
      'warn',
      `${after} events followed the terminal ${name} event; nothing may follow it.`,
      'Send the terminal event last; clients stop reading there.',
    );
  }
  return createCheckResult(
    'terminal',
    title,
    'pass',
    `Ended with ${name} after ${terminal.index + 1} events; ${closing}.`,
  );
}
