/**
 * The resume check: replays the stream with `Last-Event-ID` on its resume URL and compares the
 * replay with the tail of the original (pure comparison in `client/diagnose/evaluate-resume.ts`).
 *
 * For a streamwell server the resume URL is `GET /api/streams/{X-Stream-Id}`; for a plain GET
 * event stream it is the stream URL itself, as the browser's EventSource reconnects.
 *
 * @module
 */
import type { CheckResult } from '../../../client/diagnose/check-result.ts';
import { evaluateResume, pickResumeCursor, type ResumeAttempt } from '../../../client/diagnose/evaluate-resume.ts';
import { readTokenTimeline } from '../../../client/diagnose/evaluate-timing.ts';
import type { StreamObservation } from '../../../client/diagnose/stream-observation.ts';
import { requestStream } from '../request-stream.ts';

/** Inputs of {@link runResumeCheck}. */
export interface ResumeCheckOptions {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  /** Headers for the replay request (auth, Origin), without body headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** A resume URL template with `{id}`, overriding the streamwell convention. */
  readonly resumeUrl?: string | undefined;
  readonly timeoutMs: number;
}

/**
 * Where to resume a stream: the template, the streamwell convention, or the GET URL itself.
 *
 * @param options - the request and template
 * @param streamId - the `X-Stream-Id` header, if any
 * @returns the URL, or undefined when there is no way to resume
 */
export function resolveResumeUrl(options: ResumeCheckOptions, streamId: string | undefined): string | undefined {
  if (options.resumeUrl !== undefined) {
    return options.resumeUrl.replace('{id}', encodeURIComponent(streamId ?? ''));
  }
  if (streamId !== undefined && streamId !== '') {
    const url = new URL(options.url);
    // A server mounted under a prefix (behind a proxy) keeps it: /chat/api/stream/message -> /chat/api/streams/ID.
    const suffix = '/stream/message';
    const prefix = url.pathname.endsWith(suffix) ? url.pathname.slice(0, -suffix.length) : '/api';
    return new URL(`${prefix}/streams/${encodeURIComponent(streamId)}`, url).toString();
  }
  return options.method === 'GET' ? options.url : undefined;
}

/**
 * Replays the stream from its middle and compares.
 *
 * @param observation - the original stream
 * @param options - request details
 * @returns the `resume` check
 */
export async function runResumeCheck(
  observation: StreamObservation,
  options: ResumeCheckOptions,
): Promise<CheckResult> {
  const streamId = observation.headers['x-stream-id'];
  const resumeUrl = resolveResumeUrl(options, streamId);
  const cursorIndex = pickResumeCursor(observation.events);
  if (resumeUrl === undefined) {
    return evaluateResume(observation, {
      kind: 'skipped',
      reason: 'the stream was POSTed and the response has no X-Stream-Id header, so there is no URL to resume it from',
      fix: 'Name each stream (an X-Stream-Id header) and serve GET /api/streams/{id} with Last-Event-ID replay; or pass --resume-url "https://host/path/{id}".',
    });
  }
  if (cursorIndex === undefined) {
    return evaluateResume(observation, {
      kind: 'skipped',
      reason: 'no event with an id is followed by another one, so there is nothing to replay',
      fix: '',
    });
  }
  const cursor = observation.events[cursorIndex]?.lastEventId ?? '';
  const { terminal } = readTokenTimeline(observation.events);
  const expected = (terminal === undefined ? observation.events.length : terminal.index + 1) - cursorIndex - 1;
  const replay = await requestStream({
    url: resumeUrl,
    method: 'GET',
    headers: { ...options.headers, 'Last-Event-ID': cursor },
    timeoutMs: options.timeoutMs,
    closeGraceMs: 300,
    // One more than expected shows events past the terminal one; a live feed is cut there.
    maxEvents: expected + 1,
    expectsReply: false,
  });
  const attempt: ResumeAttempt = {
    kind: 'replayed',
    url: resumeUrl,
    cursor,
    cursorIndex,
    status: replay.observation.status,
    events: replay.observation.events,
    errorMessage: replay.observation.errorMessage,
    ...(streamId !== undefined && terminal !== undefined
      ? { terminalCursorStatus: await terminalCursorStatus(resumeUrl, options, observation, terminal.index) }
      : {}),
  };
  return evaluateResume(observation, attempt);
}

/** streamwell answers 204 for a cursor at the terminal event, so EventSource stops reconnecting. */
async function terminalCursorStatus(
  resumeUrl: string,
  options: ResumeCheckOptions,
  observation: StreamObservation,
  terminalIndex: number,
): Promise<number | undefined> {
  const id = observation.events[terminalIndex]?.lastEventId ?? '';
  if (id === '') return undefined;
  const result = await requestStream({
    url: resumeUrl,
    method: 'GET',
    headers: { ...options.headers, 'Last-Event-ID': id },
    timeoutMs: Math.min(options.timeoutMs, 5000),
    closeGraceMs: 100,
    maxEvents: 1,
    expectsReply: false,
  });
  return result.observation.status;
}
