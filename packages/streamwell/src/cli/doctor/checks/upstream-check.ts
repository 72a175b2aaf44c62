/**
 * `streamwell doctor --upstream URL`: for streamwell in front of an existing SSE backend
 * (`STREAMWELL_PROVIDER=sse`), the guide's backend checklist run against that backend directly,
 * exactly as the gateway calls it (POST `{"message"}`, the `UPSTREAM_HEADERS` of this
 * environment), and a verdict on which side of the gateway a fault is on.
 *
 * The frames are judged with the `sse` provider's own reading of them, so a pass here means the
 * gateway can relay what the backend sends.
 *
 * @module
 */
import { STATUS_CODES } from 'node:http';
import { type CheckResult, createCheckResult, formatMs } from '../../../client/diagnose/check-result.ts';
import { evaluateBuffering } from '../../../client/diagnose/evaluate-buffering.ts';
import { readTokenTimeline, SLOW_FIRST_TOKEN_MS } from '../../../client/diagnose/evaluate-timing.ts';
import type { StreamObservation } from '../../../client/diagnose/stream-observation.ts';
import { isStreamwellError } from '../../../errors/index.ts';
import { readUpstreamEvent, type UpstreamEventMeaning } from '../../../server/providers/create-sse-upstream-decoder.ts';
import { headerSecrets, scrubSecret } from '../../../server/providers/create-upstream-error.ts';
import { explainUpstreamResponse } from '../../../server/providers/explain-upstream-response.ts';
import { parseUpstreamHeaders } from '../../../server/providers/parse-upstream-headers.ts';
import { requestStream } from '../request-stream.ts';

/** The message POSTed when `-m` gives none: the guide's own test prompt, a few tokens long. */
export const UPSTREAM_PROBE_MESSAGE = 'Say hello';

/** The gateway's default first-token timeout (`FIRST_TOKEN_TIMEOUT_MS`). */
const DEFAULT_FIRST_TOKEN_TIMEOUT_MS = 60_000;

/** Inputs of {@link runUpstreamCheck}. */
export interface UpstreamCheckOptions {
  /** The backend's streaming endpoint (`--upstream`, the gateway's `UPSTREAM_URL`). */
  readonly url: string;
  /** The message to POST. @defaultValue {@link UPSTREAM_PROBE_MESSAGE} */
  readonly message?: string | undefined;
  /** Where `UPSTREAM_HEADERS` and `FIRST_TOKEN_TIMEOUT_MS` are read, as the gateway reads them. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** How long to wait for the upstream's reply. */
  readonly timeoutMs: number;
  /** What the doctor found through the gateway, when the gateway URL was checked too. */
  readonly gateway?:
    | {
        readonly url: string;
        readonly checks: readonly CheckResult[];
        readonly observation?: StreamObservation | undefined;
      }
    | undefined;
}

const TITLES = {
  reachable: 'Upstream answers POST {"message"} with 200',
  contentType: 'Upstream Content-Type is text/event-stream',
  timing: 'Upstream produces its first token (no hang in Runner.run_streamed)',
  frames: 'Upstream frames are JSON with a token (what the gateway reads)',
  buffering: 'Upstream tokens arrive as they are made',
  end: 'Upstream ends its body cleanly',
  side: 'Which side of the gateway the fault is on',
} as const;

/**
 * Checks the upstream directly, then says which side of the gateway a fault is on.
 *
 * @param options - the upstream, the environment, and the gateway's results when there are any
 * @returns the `upstream-*` checks and `fault-side`
 */
export async function runUpstreamCheck(options: UpstreamCheckOptions): Promise<CheckResult[]> {
  let userHeaders: Record<string, string>;
  try {
    userHeaders = parseUpstreamHeaders(options.env.UPSTREAM_HEADERS);
  } catch (error) {
    const message = isStreamwellError(error) ? error.message : String(error);
    const config = createCheckResult(
      'upstream-config',
      'UPSTREAM_HEADERS is valid',
      'fail',
      message,
      'Write one "Name: value" per line (see docs/configuration.md); the gateway refuses to start with this value too.',
    );
    return [config, faultSide(options, [config])];
  }
  const result = await requestStream({
    url: options.url,
    method: 'POST',
    // What the gateway sends, and nothing a browser would add (no Accept-Encoding, no Origin).
    headers: { ...userHeaders, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ message: options.message ?? UPSTREAM_PROBE_MESSAGE }),
    timeoutMs: options.timeoutMs,
    expectsReply: true,
  });
  // The upstream's answer is quoted in the report, which users paste into issues: an upstream
  // that echoes the credential it was sent (a 401 saying which key it got) must not print it.
  const secrets = headerSecrets(userHeaders);
  const scrub = (text: string): string =>
    secrets.reduce((scrubbed, secret) => scrubSecret(scrubbed, secret), scrubSecret(text, undefined));
  const observation = { ...result.observation, bodySample: scrub(result.observation.bodySample) };
  const errorBody = result.errorBody === undefined ? undefined : scrub(result.errorBody);
  const checks = [reachable(observation, errorBody, options.url)];
  if (checks[0]?.status === 'pass') {
    const type = contentType(observation);
    checks.push(type);
    if (type.status === 'pass') {
      const meanings = observation.events.map((event) => readUpstreamEvent(event.event, event.data));
      checks.push(
        timing(observation, meanings, firstTokenTimeout(options.env)),
        frames(observation, meanings),
        renamed(evaluateBuffering(observation), 'upstream-buffering', TITLES.buffering),
        ending(observation, meanings),
      );
    }
  }
  return [...checks, faultSide(options, checks)];
}

function firstTokenTimeout(env: Readonly<Record<string, string | undefined>>): number {
  const value = env.FIRST_TOKEN_TIMEOUT_MS?.trim() ?? '';
  return /^\d+$/.test(value) ? Number(value) : DEFAULT_FIRST_TOKEN_TIMEOUT_MS;
}

function renamed(check: CheckResult, id: string, title: string): CheckResult {
  return { ...check, id, title };
}

function facts(observation: StreamObservation, body: string) {
  const headers = observation.headers;
  return {
    status: observation.status ?? 0,
    // The recording keeps no reason phrase: the standard one for the status reads the same.
    statusText: STATUS_CODES[observation.status ?? 0],
    contentType: headers['content-type'] ?? '',
    contentEncoding: headers['content-encoding'] ?? '',
    allow: headers.allow ?? '',
    location: headers.location,
    body,
  };
}

function reachable(observation: StreamObservation, errorBody: string | undefined, url: string): CheckResult {
  const target = `POST ${url}`;
  if (observation.status === undefined || observation.responseAt === undefined) {
    return createCheckResult(
      'upstream-reachable',
      TITLES.reachable,
      'fail',
      `${target}: ${observation.errorMessage ?? 'no response'}.`,
      'Start the backend (e.g. uvicorn main:app --host 127.0.0.1 --port 8001) or correct the URL. The doctor calls it from this machine: run it where the gateway runs, so that it sees what the gateway sees.',
    );
  }
  const after = formatMs(observation.responseAt - observation.requestedAt);
  if (observation.status < 200 || observation.status >= 300) {
    const problem = explainUpstreamResponse(facts(observation, errorBody ?? ''));
    return createCheckResult(
      'upstream-reachable',
      TITLES.reachable,
      'fail',
      `The upstream at ${url} ${problem?.problem ?? `answered ${observation.status}`} (after ${after}).`,
      problem?.fix ?? '',
    );
  }
  return createCheckResult(
    'upstream-reachable',
    TITLES.reachable,
    'pass',
    `${target} answered ${observation.status} after ${after}.`,
  );
}

function contentType(observation: StreamObservation): CheckResult {
  const problem = explainUpstreamResponse(facts(observation, observation.bodySample));
  if (problem !== undefined) {
    return createCheckResult(
      'upstream-content-type',
      TITLES.contentType,
      'fail',
      `The upstream ${problem.problem}.`,
      problem.fix,
    );
  }
  return createCheckResult(
    'upstream-content-type',
    TITLES.contentType,
    'pass',
    `Content-Type is "${observation.headers['content-type'] ?? ''}", not compressed.`,
  );
}

function firstError(meanings: readonly UpstreamEventMeaning[]): string | undefined {
  for (const meaning of meanings) if (meaning.kind === 'error') return meaning.message;
  return undefined;
}

function timing(
  observation: StreamObservation,
  meanings: readonly UpstreamEventMeaning[],
  limitMs: number,
): CheckResult {
  const start = observation.requestedAt;
  const index = meanings.findIndex((meaning) => meaning.kind === 'token');
  const firstToken = index < 0 ? undefined : observation.events[index]?.at;
  const firstByte = observation.reads[0]?.at;
  const byte = firstByte === undefined ? 'no byte of body' : `first byte ${formatMs(firstByte - start)}`;
  if (firstToken === undefined) {
    const error = firstError(meanings);
    if (error !== undefined) {
      return createCheckResult(
        'upstream-timing',
        TITLES.timing,
        'fail',
        `${byte}; the backend reported an error before any token: ${JSON.stringify(error)}.`,
        "The backend's agent run failed (the guide's \"Agent SDK not streaming\"): check its OPENAI_API_KEY and model with the guide's test_streaming(), and its log.",
      );
    }
    return createCheckResult(
      'upstream-timing',
      TITLES.timing,
      'fail',
      `${byte}; no token in ${formatMs(observation.endedAt - start)} (${observation.events.length} events).`,
      'The generator never yielded a token: check that Runner.run_streamed runs (the guide\'s "Runner started" print), that the model streams, and that every ResponseTextDeltaEvent is yielded as data: {"token": ...}.',
    );
  }
  const summary = `${byte}, first token ${formatMs(firstToken - start)}`;
  if (limitMs > 0 && firstToken - start > limitMs) {
    return createCheckResult(
      'upstream-timing',
      TITLES.timing,
      'fail',
      `${summary}: later than the gateway's FIRST_TOKEN_TIMEOUT_MS (${formatMs(limitMs)}), so the gateway ends such runs with first_token_timeout.`,
      'Raise FIRST_TOKEN_TIMEOUT_MS on the gateway (the browser keeps receiving heartbeats meanwhile), or make the backend start sooner.',
    );
  }
  if (firstToken - start > SLOW_FIRST_TOKEN_MS) {
    return createCheckResult(
      'upstream-timing',
      TITLES.timing,
      'warn',
      `${summary}: slow, though within the gateway's first-token timeout (${formatMs(limitMs)}).`,
      'The agent is slow to start: a smaller model, a shorter prompt or fewer tools; the gateway sends heartbeats meanwhile.',
    );
  }
  return createCheckResult('upstream-timing', TITLES.timing, 'pass', `${summary}.`);
}

function frames(observation: StreamObservation, meanings: readonly UpstreamEventMeaning[]): CheckResult {
  const count = (kind: UpstreamEventMeaning['kind']) => meanings.filter((meaning) => meaning.kind === kind).length;
  const tokens = meanings.filter((meaning) => meaning.kind === 'token');
  const short = tokens.filter((meaning) => meaning.field === 't').length;
  const checkpoints = meanings.filter((meaning) => meaning.kind === 'skip' && meaning.reason === 'checkpoint').length;
  const others = count('skip') - checkpoints;
  const summary = `${plural(observation.events.length, 'event')}: ${plural(tokens.length, 'token')}${short > 0 ? ` (${short} in the short form {"t"})` : ''}, ${plural(checkpoints, 'checkpoint')} (skipped: the gateway makes its own), ${plural(others, 'other event')} skipped, ${plural(observation.comments.length, 'comment')}`;
  const invalid = meanings.find((meaning) => meaning.kind === 'invalid');
  if (observation.parseErrors.length > 0 || invalid !== undefined) {
    const reason = invalid?.kind === 'invalid' ? invalid.reason : observation.parseErrors[0];
    return createCheckResult(
      'upstream-frames',
      TITLES.frames,
      'fail',
      `${summary}; the upstream sent ${reason}, which the gateway refuses (upstream_error).`,
      'Yield one JSON object per event, f"data: {json.dumps({\'token\': delta})}\\n\\n", as the guide does ("JSON encoding works").',
    );
  }
  const error = firstError(meanings);
  if (error !== undefined) {
    return createCheckResult(
      'upstream-frames',
      TITLES.frames,
      'fail',
      `${summary}; then {"error": ${JSON.stringify(error)}}, which the gateway turns into an error event (upstream_error).`,
      "The backend's run failed: read the backend's log for this error (the guide's except branch yields it).",
    );
  }
  if (tokens.length === 0) {
    return createCheckResult(
      'upstream-frames',
      TITLES.frames,
      'fail',
      `${summary}; none carries a string "token" or "t" field, so the gateway would relay an empty reply. The body starts ${JSON.stringify(observation.bodySample.slice(0, 120))}.`,
      'Send each text delta as data: {"token": "..."} (or the guide\'s short {"t": "..."}).',
    );
  }
  return createCheckResult('upstream-frames', TITLES.frames, 'pass', `${summary}.`);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function ending(observation: StreamObservation, meanings: readonly UpstreamEventMeaning[]): CheckResult {
  const tokens = meanings.filter((meaning) => meaning.kind === 'token').length;
  const ended = meanings.some((meaning) => meaning.kind === 'end');
  switch (observation.endReason) {
    case 'eof':
    case 'terminal-wait':
      return createCheckResult(
        'upstream-end',
        TITLES.end,
        'pass',
        `The body ended after ${tokens} tokens${ended ? ' (with an end marker)' : ''}: the gateway ends the run with done (stop).`,
      );
    case 'error':
      return createCheckResult(
        'upstream-end',
        TITLES.end,
        'fail',
        `The connection was cut after ${tokens} tokens, before the end of the body (${observation.errorMessage ?? 'network error'}): the gateway reports this as upstream_error.`,
        'The backend crashed or something between it and the gateway cut the connection (a proxy timeout): read the backend log for this request.',
      );
    default:
      return createCheckResult(
        'upstream-end',
        TITLES.end,
        'warn',
        `The body was still open after ${formatMs(observation.endedAt - observation.requestedAt)} (${tokens} tokens).`,
        "Give the doctor longer (--timeout); the gateway's STREAM_TIMEOUT_MS bounds a reply.",
      );
  }
}

function ids(checks: readonly CheckResult[], status: CheckResult['status']): string[] {
  return checks.filter((check) => check.status === status).map((check) => check.id);
}

function faultSide(options: UpstreamCheckOptions, upstream: readonly CheckResult[]): CheckResult {
  const upstreamFailures = ids(upstream, 'fail');
  const gateway = options.gateway;
  const gatewayFailures = gateway === undefined ? [] : ids(gateway.checks, 'fail');
  if (upstreamFailures.length > 0) {
    const seen =
      gateway === undefined
        ? ''
        : ' Through the gateway the same fault shows as an upstream_error event (or a timeout).';
    return createCheckResult(
      'fault-side',
      TITLES.side,
      'fail',
      `Upstream side: called directly, ${options.url} fails ${upstreamFailures.join(', ')}. streamwell can only relay what it gets.${seen}`,
      'Fix the backend first, as the upstream checks above say; then run this doctor again.',
    );
  }
  if (gateway === undefined) {
    return createCheckResult(
      'fault-side',
      TITLES.side,
      'pass',
      `The upstream streams correctly when called directly. If the browser still sees a fault, it is on the gateway side: compare both with streamwell doctor <gateway url> -m "hello" --upstream ${options.url}.`,
    );
  }
  if (gatewayFailures.length === 0) {
    return createCheckResult(
      'fault-side',
      TITLES.side,
      'pass',
      `Neither side fails: the upstream streams correctly, and so does the gateway at ${gateway.url}.`,
    );
  }
  const code =
    gateway.observation === undefined ? undefined : readTokenTimeline(gateway.observation.events).terminal?.signal.code;
  const elsewhere =
    code === 'upstream_error' || code === 'upstream_auth'
      ? ` Yet the gateway's stream ended with ${code}: the gateway reaches a different or unreachable upstream. Check that its UPSTREAM_URL is ${options.url}, reachable from the gateway's host, and that its UPSTREAM_HEADERS are the ones in this environment.`
      : '';
  return createCheckResult(
    'fault-side',
    TITLES.side,
    'fail',
    `Gateway side: the upstream streams correctly when called directly, but the gateway at ${gateway.url} fails ${gatewayFailures.join(', ')}.${elsewhere}`,
    "Follow the fixes of the gateway's failing checks: streamwell's configuration, or what stands between it and the browser (a proxy, CORS, the network).",
  );
}
