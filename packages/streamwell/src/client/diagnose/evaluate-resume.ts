/**
 * Ids present, and resume works: a replay with `Last-Event-ID` on the resume URL returns exactly
 * the events after that id, no gap, no duplicate, not the whole stream again.
 *
 * @module
 */
import { type CheckResult, createCheckResult } from './check-result.ts';
import { readTokenTimeline } from './evaluate-timing.ts';
import type { ObservedEvent, StreamObservation } from './stream-observation.ts';

/**
 * An event as compared between the original stream and the replay.
 *
 * @internal
 */
export interface ComparableEvent {
  readonly event: string;
  readonly data: string;
  readonly lastEventId: string;
}

/**
 * The resume attempt the caller made (or why it made none).
 *
 * @internal
 */
export type ResumeAttempt =
  | { readonly kind: 'skipped'; readonly reason: string; readonly fix: string }
  | {
      readonly kind: 'replayed';
      readonly url: string;
      /** The `Last-Event-ID` sent. */
      readonly cursor: string;
      /** Index in the original events of the event whose id was sent. */
      readonly cursorIndex: number;
      /** Status of the resume response; undefined when the request failed. */
      readonly status: number | undefined;
      readonly events: readonly ComparableEvent[];
      readonly errorMessage?: string | undefined;
      /** Status answered for a cursor at the terminal event, when that was tried. */
      readonly terminalCursorStatus?: number | undefined;
    };

/**
 * Picks the event to resume after: one with an id near the middle, before the terminal event,
 * so that the replay has a tail to compare.
 *
 * @param events - the original events
 * @returns its index, or undefined when no event qualifies
 *
 * @internal
 */
export function pickResumeCursor(events: readonly ObservedEvent[]): number | undefined {
  const { terminal } = readTokenTimeline(events);
  // The cursor must leave at least one event after it (before or at the terminal one) to replay.
  const limit = terminal === undefined ? events.length - 2 : terminal.index - 1;
  for (let index = Math.floor(limit / 2); index >= 0; index -= 1) {
    if ((events[index] as ObservedEvent).lastEventId !== '') return index;
  }
  return undefined;
}

/** Problems with the ids themselves, each a sentence fragment. */
function idProblems(events: readonly ObservedEvent[]): string[] {
  const problems: string[] = [];
  const without = events.filter((event) => event.lastEventId === '').length;
  if (without > 0) problems.push(`${without} of ${events.length} events have no id`);
  let repeated = 0;
  let backwards = 0;
  for (let index = 1; index < events.length; index += 1) {
    const previous = (events[index - 1] as ObservedEvent).lastEventId;
    const current = (events[index] as ObservedEvent).lastEventId;
    if (current === '' || previous === '') continue;
    if (current === previous) repeated += 1;
    else if (/^\d+$/.test(current) && /^\d+$/.test(previous) && Number(current) < Number(previous)) backwards += 1;
  }
  if (repeated > 0) problems.push(`${repeated} events repeat the previous id (an \`id:\` line missing?)`);
  if (backwards > 0) problems.push(`${backwards} ids go backwards`);
  return problems;
}

function same(a: ComparableEvent, b: ComparableEvent): boolean {
  return a.event === b.event && a.data === b.data && a.lastEventId === b.lastEventId;
}

function describe(event: ComparableEvent | undefined): string {
  if (event === undefined) return 'nothing';
  const data = event.data.length > 40 ? `${event.data.slice(0, 37)}...` : event.data;
  return `id ${event.lastEventId || '(none)'} ${event.event} ${data}`;
}

const ID_FIX =
  'Give every event an `id:` that increases (streamwell: the run sequence), keep the events of a run for a while, and serve a resume URL that replays the events after `Last-Event-ID`. Without that, a dropped connection loses the reply.';

/**
 * Compares the replay with the tail of the original stream after the cursor.
 *
 * @param original - the original events
 * @param attempt - the replay
 * @returns undefined when it matches, else what differs
 *
 * @internal
 */
export function compareReplay(
  original: readonly ObservedEvent[],
  attempt: Extract<ResumeAttempt, { kind: 'replayed' }>,
): string | undefined {
  const { terminal } = readTokenTimeline(original);
  const expected = original.slice(
    attempt.cursorIndex + 1,
    terminal === undefined ? original.length : terminal.index + 1,
  );
  const first = original[0];
  if (
    attempt.cursorIndex > 0 &&
    first !== undefined &&
    attempt.events[0] !== undefined &&
    same(attempt.events[0], first)
  ) {
    return `the replay started again from the first event (${describe(first)}): the server ignores Last-Event-ID`;
  }
  for (let index = 0; index < expected.length; index += 1) {
    const want = expected[index] as ObservedEvent;
    const got = attempt.events[index];
    if (got === undefined || !same(got, want)) {
      return `replayed event ${index + 1} should be ${describe(want)} but was ${describe(got)} (${attempt.events.length} replayed, ${expected.length} expected)`;
    }
  }
  if (terminal !== undefined && attempt.events.length > expected.length) {
    return `the replay sent ${attempt.events.length - expected.length} events past the terminal event`;
  }
  return undefined;
}

/**
 * Ids present, and a `Last-Event-ID` replay returns the right tail.
 *
 * @param observation - the original stream
 * @param attempt - the resume attempt
 * @returns the `resume` check
 *
 * @internal
 */
export function evaluateResume(observation: StreamObservation, attempt: ResumeAttempt): CheckResult {
  const title = 'Event ids present, resume returns the right tail';
  const events = observation.events;
  if (events.length === 0)
    return createCheckResult('resume', title, 'warn', 'No events arrived, so there is nothing to resume.');
  if (events.every((event) => event.lastEventId === '')) {
    return createCheckResult('resume', title, 'warn', `None of the ${events.length} events carries an id.`, ID_FIX);
  }
  const problems = idProblems(events);
  const idNote = problems.length === 0 ? `all ${events.length} events carry increasing ids` : problems.join('; ');
  if (attempt.kind === 'skipped') {
    return createCheckResult('resume', title, 'warn', `${idNote}; resume not tested: ${attempt.reason}.`, attempt.fix);
  }
  const request = `GET ${attempt.url} with Last-Event-ID: ${attempt.cursor}`;
  if (attempt.status === undefined || attempt.status !== 200) {
    const answer =
      attempt.status === undefined ? `failed (${attempt.errorMessage ?? 'no response'})` : `answered ${attempt.status}`;
    return createCheckResult(
      'resume',
      title,
      'fail',
      `${idNote}; ${request} ${answer}.`,
      'Serve the resume URL: replay the retained events after Last-Event-ID with status 200 (streamwell: GET /api/streams/{X-Stream-Id}).',
    );
  }
  const mismatch = compareReplay(events, attempt);
  if (mismatch !== undefined) {
    return createCheckResult(
      'resume',
      title,
      'fail',
      `${idNote}; ${request}: ${mismatch}.`,
      'Replay exactly the events whose id is after Last-Event-ID, in order, then follow live; take the backlog and the live subscription in one step so nothing falls between them.',
    );
  }
  const terminalNote =
    attempt.terminalCursorStatus === undefined
      ? ''
      : `; a cursor at the terminal event answered ${attempt.terminalCursorStatus}`;
  const status = problems.length === 0 && (attempt.terminalCursorStatus ?? 204) === 204 ? 'pass' : 'warn';
  const fix =
    status === 'pass'
      ? ''
      : problems.length > 0
        ? ID_FIX
        : 'Answer 204 for a cursor at the terminal event, so the browser EventSource stops reconnecting.';
  return createCheckResult(
    'resume',
    title,
    status,
    `${idNote}; ${request} replayed exactly the ${attempt.events.length} events after it${terminalNote}.`,
    fix,
  );
}
