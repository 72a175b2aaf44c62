/**
 * Runs the whole checklist against a live endpoint and returns the report. The CLI
 * (`runDoctorCommand`) parses arguments and renders; tests call this directly.
 *
 * @module
 */
import { type CheckResult, createDiagnosisReport, type DiagnosisReport } from '../../client/diagnose/check-result.ts';
import { evaluateBuffering } from '../../client/diagnose/evaluate-buffering.ts';
import { evaluateEvents } from '../../client/diagnose/evaluate-events.ts';
import { DEFAULT_PROXY_IDLE_TIMEOUT_MS, evaluateHeartbeats } from '../../client/diagnose/evaluate-heartbeats.ts';
import { evaluateContentType, evaluateHeaders, evaluateReachable } from '../../client/diagnose/evaluate-response.ts';
import { pickResumeCursor } from '../../client/diagnose/evaluate-resume.ts';
import { evaluateTerminal } from '../../client/diagnose/evaluate-terminal.ts';
import { evaluateTiming, readTokenTimeline } from '../../client/diagnose/evaluate-timing.ts';
import { type ProbeFallback, probeBody, sendWithProbeFallback } from '../../client/diagnose/probe-fallback.ts';
import type { ObservedEvent, StreamObservation } from '../../client/diagnose/stream-observation.ts';
import { runCorsCheck } from './checks/cors-check.ts';
import { runProviderCheck } from './checks/provider-check.ts';
import { runResumeCheck } from './checks/resume-check.ts';
import { runUpstreamCheck } from './checks/upstream-check.ts';
import { runWebSocketCheck } from './checks/websocket-check.ts';
import { readErrorCode, requestStream, type StreamResult } from './request-stream.ts';

/** What to diagnose. */
export interface DoctorOptions {
  /** The stream endpoint; optional when only `--provider` or `--ws` is asked for. */
  readonly url?: string | undefined;
  /** The page origin for the CORS checks (`--origin`). */
  readonly origin?: string | undefined;
  /** A WebSocket URL to test (`--ws`). */
  readonly ws?: string | undefined;
  /**
   * A message to POST as `{"message": ...}` (`-m`). Without it (and without `data`) the doctor
   * GETs, and when that GET is refused with 405 it POSTs a short probe message instead.
   */
  readonly message?: string | undefined;
  /** A raw JSON body to POST instead (`--data`), for endpoints with another body shape. */
  readonly data?: string | undefined;
  /** Run the provider self-test (`--provider`). */
  readonly provider?: boolean | undefined;
  /** Extra request headers (`-H`). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** The proxy idle timeout to hold heartbeats against. @defaultValue 60000 */
  readonly proxyIdleTimeoutMs?: number | undefined;
  /** How long to wait for the stream. @defaultValue 30000 */
  readonly timeoutMs?: number | undefined;
  /** A resume URL template with `{id}` (`--resume-url`). */
  readonly resumeUrl?: string | undefined;
  /**
   * The backend behind a streamwell gateway (`--upstream`, the gateway's `UPSTREAM_URL`): checked
   * directly with the guide's backend checklist, then compared with the gateway's results.
   */
  readonly upstream?: string | undefined;
  /** Environment for the provider self-test and `UPSTREAM_HEADERS`. @defaultValue process.env */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
}

/** Progress notes while the doctor waits. */
export interface DoctorProgress {
  /** A new stage began. */
  stage(text: string): void;
  /** An event arrived on the main stream. */
  event?(count: number, tokens: number): void;
}

/** The doctor's report: the checks, and how the stream URL was requested in the end. */
export interface DoctorReport extends DiagnosisReport {
  /**
   * The stream request the checks ran on, e.g. `POST http://host/api/stream/message`; after a GET
   * refused with 405, the probe POST, with `probed` true. Undefined without a URL.
   */
  readonly request?: { readonly method: 'GET' | 'POST'; readonly url: string; readonly probed: boolean } | undefined;
}

/** Default of {@link DoctorOptions.timeoutMs}. */
export const DEFAULT_DOCTOR_TIMEOUT_MS = 30_000;

// Headers a browser may send without a preflight (fetch spec: CORS-safelisted request headers).
const SAFELISTED = new Set(['accept', 'accept-language', 'content-language', 'cookie', 'origin']);

/**
 * Runs every requested check.
 *
 * @param options - what to diagnose
 * @param progress - progress notes (stderr in the CLI)
 * @returns the report; `ok` is false when any check failed
 */
export async function runDoctor(options: DoctorOptions, progress?: DoctorProgress): Promise<DoctorReport> {
  const checks: CheckResult[] = [];
  const timeoutMs = options.timeoutMs ?? DEFAULT_DOCTOR_TIMEOUT_MS;
  let streamFacts: Awaited<ReturnType<typeof runStreamChecks>> | undefined;
  if (options.url !== undefined) {
    streamFacts = await runStreamChecks(options.url, options, timeoutMs, checks, progress);
  }
  if (options.ws !== undefined) {
    progress?.stage(`WebSocket ${options.ws}`);
    checks.push(
      await runWebSocketCheck({
        url: options.ws,
        origin: options.origin,
        headers: options.headers ?? {},
        timeoutMs: Math.min(timeoutMs, 10_000),
        resume: streamFacts?.ok === true ? websocketResume(streamFacts.observation) : undefined,
      }),
    );
  }
  if (options.provider === true) {
    progress?.stage('provider self-test (key, model, a real streamed reply)');
    checks.push(...(await runProviderCheck({ env: options.env ?? process.env, timeoutMs })));
  }
  if (options.upstream !== undefined) {
    progress?.stage(`POST ${options.upstream} (the upstream, directly)`);
    const gateway =
      options.url === undefined
        ? undefined
        : { url: options.url, checks: [...checks], observation: streamFacts?.observation };
    checks.push(
      ...(await runUpstreamCheck({
        url: options.upstream,
        message: options.message,
        env: options.env ?? process.env,
        timeoutMs,
        gateway,
      })),
    );
  }
  const request =
    options.url === undefined || streamFacts === undefined
      ? undefined
      : { method: streamFacts.method, url: options.url, probed: streamFacts.probed };
  return { ...createDiagnosisReport(checks), request };
}

function requestShape(options: DoctorOptions): StreamRequestShape {
  if (options.data !== undefined) return { method: 'POST', body: options.data };
  if (options.message !== undefined) return { method: 'POST', body: JSON.stringify({ message: options.message }) };
  return { method: 'GET', body: undefined };
}

interface StreamRequestShape {
  readonly method: 'GET' | 'POST';
  readonly body: string | undefined;
}

/** The main request as it was finally sent (after a probe fallback, the probe POST). */
interface MainRequest extends StreamRequestShape {
  readonly result: StreamResult;
  readonly fallback: ProbeFallback | undefined;
}

async function sendMainRequest(
  url: string,
  options: DoctorOptions,
  timeoutMs: number,
  progress: DoctorProgress | undefined,
): Promise<MainRequest> {
  const userHeaders = options.headers ?? {};
  const send = (shape: StreamRequestShape): Promise<StreamResult> => {
    progress?.stage(`${shape.method} ${url}`);
    let events = 0;
    let tokens = 0;
    return requestStream({
      url,
      method: shape.method,
      headers: {
        Accept: 'text/event-stream',
        // What a browser sends: a proxy that compresses streams only shows it to clients that accept it.
        'Accept-Encoding': 'gzip, deflate, br',
        'Cache-Control': 'no-cache',
        ...(shape.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(options.origin === undefined ? {} : { Origin: options.origin }),
        ...userHeaders,
      },
      body: shape.body,
      timeoutMs,
      expectsReply: shape.body !== undefined,
      onEvent: (event) => {
        events += 1;
        if (readTokenTimeline([event]).tokenTimes.length > 0) tokens += 1;
        progress?.event?.(events, tokens);
      },
    });
  };
  const asked = requestShape(options);
  // The guide's endpoint is POST-only: on a GET refused with 405, diagnose a probe message's reply.
  const { result, fallback } = await sendWithProbeFallback(
    asked.method,
    (probe) => send(probe === undefined ? asked : { method: 'POST', body: probeBody(probe) }),
    ({ observation }) => ({ status: observation.status, allow: observation.headers.allow }),
  );
  const shape: StreamRequestShape =
    fallback === undefined ? asked : { method: 'POST', body: probeBody(fallback.message) };
  return { ...shape, result, fallback };
}

async function runStreamChecks(
  url: string,
  options: DoctorOptions,
  timeoutMs: number,
  checks: CheckResult[],
  progress: DoctorProgress | undefined,
): Promise<{ observation: StreamObservation; ok: boolean; method: 'GET' | 'POST'; probed: boolean }> {
  const userHeaders = options.headers ?? {};
  const originHeader = options.origin === undefined ? {} : { Origin: options.origin };
  const { method, body, result, fallback } = await sendMainRequest(url, options, timeoutMs, progress);
  const observation = result.observation;
  checks.push(
    evaluateReachable(observation, {
      url,
      method,
      errorCode: readErrorCode(result.errorBody),
      sentMessage: body !== undefined,
      fallback,
    }),
  );
  const streamed = observation.status === 200;
  if (streamed) {
    const buffering = evaluateBuffering(observation);
    checks.push(
      evaluateContentType(observation, url),
      evaluateHeaders(observation, { streamedLive: buffering.status === 'pass' }),
      evaluateTiming(observation),
      buffering,
      evaluateEvents(observation),
    );
    progress?.stage('resume with Last-Event-ID');
    checks.push(
      await runResumeCheck(observation, {
        url,
        method,
        headers: { Accept: 'text/event-stream', ...originHeader, ...userHeaders },
        resumeUrl: options.resumeUrl,
        timeoutMs: Math.min(timeoutMs, 15_000),
      }),
      evaluateHeartbeats(observation, options.proxyIdleTimeoutMs ?? DEFAULT_PROXY_IDLE_TIMEOUT_MS),
      evaluateTerminal(observation),
    );
  }
  if (observation.status !== undefined) {
    progress?.stage('CORS preflights');
    const names = Object.keys(userHeaders)
      .map((name) => name.toLowerCase())
      .filter((name) => !SAFELISTED.has(name));
    checks.push(
      await runCorsCheck({
        url,
        method,
        origin: options.origin,
        requestHeaderNames: body === undefined ? names : ['content-type', ...names],
        streamHeaders: streamed ? observation.headers : undefined,
        timeoutMs: Math.min(timeoutMs, 10_000),
      }),
    );
  }
  return { observation, ok: streamed, method, probed: fallback !== undefined };
}

/** For a streamwell stream (X-Stream-Id, numeric ids): what a WebSocket `resume` must replay. */
function websocketResume(
  observation: StreamObservation,
): { streamId: string; after: number; expected: readonly ObservedEvent[] } | undefined {
  const streamId = observation.headers['x-stream-id'];
  const cursorIndex = pickResumeCursor(observation.events);
  if (streamId === undefined || cursorIndex === undefined) return undefined;
  const after = Number(observation.events[cursorIndex]?.lastEventId);
  if (!Number.isSafeInteger(after)) return undefined;
  const { terminal } = readTokenTimeline(observation.events);
  const expected: ObservedEvent[] = observation.events.slice(
    cursorIndex + 1,
    terminal === undefined ? observation.events.length : terminal.index + 1,
  );
  return { streamId, after, expected };
}
