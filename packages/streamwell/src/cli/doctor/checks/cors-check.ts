/**
 * CORS as a browser at `--origin` meets it: the preflight (allowed origin echoed exactly,
 * credentials, `Last-Event-ID` allowed, no wildcard with credentials), the stream response itself,
 * and a probe from an origin nobody allowed, which must NOT be echoed (the guide's own CORS code
 * reflects any origin with credentials, letting any site spend your tokens).
 *
 * @module
 */
import http from 'node:http';
import https from 'node:https';
import { type CheckResult, createCheckResult } from '../../../client/diagnose/check-result.ts';

/** An origin no server should allow. `.invalid` is reserved (RFC 2606), so it is nobody's. */
export const PROBE_ORIGIN = 'https://streamwell-doctor-probe.invalid';

/** Inputs of {@link runCorsCheck}. */
export interface CorsCheckOptions {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  /** The page origin to test, from `--origin`. */
  readonly origin: string | undefined;
  /** Non-safelisted request header names the page sends (lower-case), e.g. content-type for JSON. */
  readonly requestHeaderNames: readonly string[];
  /** Headers of the stream response, requested with `Origin: origin`. */
  readonly streamHeaders: Readonly<Record<string, string>> | undefined;
  readonly timeoutMs: number;
}

/** The answer to one preflight. */
export interface PreflightAnswer {
  readonly status: number | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly error?: string;
}

/**
 * Sends `OPTIONS` with the CORS preflight headers.
 *
 * @param url - the target
 * @param origin - the `Origin`
 * @param method - `Access-Control-Request-Method`
 * @param headerNames - `Access-Control-Request-Headers`
 * @param timeoutMs - give up after this long
 * @returns the answer; never rejects
 */
export function sendPreflight(
  url: string,
  origin: string,
  method: string,
  headerNames: readonly string[],
  timeoutMs: number,
): Promise<PreflightAnswer> {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { Origin: origin, 'Access-Control-Request-Method': method };
  if (headerNames.length > 0) headers['Access-Control-Request-Headers'] = headerNames.join(',');
  return new Promise((resolve) => {
    const request = transport.request(target, { method: 'OPTIONS', headers, timeout: timeoutMs }, (response) => {
      response.resume();
      const flat: Record<string, string> = {};
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      resolve({ status: response.statusCode, headers: flat });
    });
    request.on('timeout', () => request.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    request.on('error', (error) => resolve({ status: undefined, headers: {}, error: error.message }));
    request.end();
  });
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item.length > 0);
}

/** What the preflight and the stream response say, as problems (fail) and notes (warn). */
interface Findings {
  readonly failures: string[];
  readonly warnings: string[];
  readonly facts: string[];
}

function judgePreflight(answer: PreflightAnswer, options: CorsCheckOptions, origin: string, findings: Findings): void {
  if (answer.status === undefined) {
    findings.failures.push(`the preflight (OPTIONS) failed: ${answer.error ?? 'no answer'}`);
    return;
  }
  if (answer.status < 200 || answer.status >= 300) {
    findings.failures.push(`the preflight (OPTIONS) answered ${answer.status}, so the browser never sends the request`);
    return;
  }
  const allowOrigin = answer.headers['access-control-allow-origin'];
  const credentials = answer.headers['access-control-allow-credentials']?.trim().toLowerCase() === 'true';
  if (allowOrigin === undefined) {
    findings.failures.push(`the preflight for ${origin} has no Access-Control-Allow-Origin`);
  } else if (allowOrigin === '*' && credentials) {
    findings.failures.push(
      'the preflight answers Allow-Origin "*" with Allow-Credentials: true, which browsers reject',
    );
  } else if (allowOrigin !== '*' && allowOrigin !== origin) {
    findings.failures.push(`the preflight allows "${allowOrigin}", not "${origin}" (it must match exactly)`);
  } else {
    findings.facts.push(`preflight ${answer.status} allows ${allowOrigin === '*' ? '"*"' : 'the origin'}`);
  }
  if (!credentials)
    findings.warnings.push(
      'credentials are not allowed (fetch credentials: "include" and EventSource withCredentials fail)',
    );
  const allowed = list(answer.headers['access-control-allow-headers']);
  const wildcard = allowed.includes('*') && !credentials;
  const wanted = [...options.requestHeaderNames, 'last-event-id'];
  const missing = wanted.filter(
    (name, index) => wanted.indexOf(name) === index && !wildcard && !allowed.includes(name),
  );
  if (missing.length > 0) {
    const literal =
      allowed.includes('*') && credentials
        ? ' (with credentials, Allow-Headers "*" is a literal name, not a wildcard)'
        : '';
    findings.failures.push(
      `the preflight does not allow the request header${missing.length > 1 ? 's' : ''} ${missing.join(', ')}${literal}`,
    );
  } else {
    findings.facts.push(
      `allows the headers ${wanted.filter((name, index) => wanted.indexOf(name) === index).join(', ')}`,
    );
  }
  const methods = list(answer.headers['access-control-allow-methods']);
  if (
    !['get', 'head', 'post'].includes(options.method.toLowerCase()) &&
    !methods.includes(options.method.toLowerCase())
  ) {
    findings.failures.push(`the preflight does not allow the method ${options.method}`);
  }
}

function judgeStreamResponse(headers: Readonly<Record<string, string>>, origin: string, findings: Findings): void {
  const allowOrigin = headers['access-control-allow-origin'];
  const credentials = headers['access-control-allow-credentials']?.trim().toLowerCase() === 'true';
  if (allowOrigin === undefined) {
    findings.failures.push('the stream response has no Access-Control-Allow-Origin, so the page cannot read it');
    return;
  }
  if (allowOrigin === '*' && credentials) {
    findings.failures.push(
      'the stream response sends Allow-Origin "*" with Allow-Credentials: true, which browsers reject',
    );
  } else if (allowOrigin !== '*' && allowOrigin !== origin) {
    findings.failures.push(`the stream response allows "${allowOrigin}", not "${origin}"`);
  }
  if (allowOrigin !== '*' && !list(headers.vary).includes('origin') && !list(headers.vary).includes('*')) {
    findings.warnings.push(
      "the stream response lacks Vary: Origin, so a cache may serve one origin's answer to another",
    );
  }
  if (headers['x-stream-id'] !== undefined && !list(headers['access-control-expose-headers']).includes('x-stream-id')) {
    findings.warnings.push('X-Stream-Id is not in Access-Control-Expose-Headers, so the page cannot read it to resume');
  }
}

function judgeProbe(answer: PreflightAnswer, findings: Findings): void {
  const allowOrigin = answer.headers['access-control-allow-origin'];
  const credentials = answer.headers['access-control-allow-credentials']?.trim().toLowerCase() === 'true';
  if (allowOrigin === PROBE_ORIGIN) {
    findings.failures.push(
      `a preflight from ${PROBE_ORIGIN}, an origin nobody allowed, was echoed back${credentials ? ' with credentials' : ''}: the server reflects any origin`,
    );
  } else if (allowOrigin === '*' && credentials) {
    findings.failures.push(`a preflight from ${PROBE_ORIGIN} got Allow-Origin "*" with credentials`);
  } else {
    findings.facts.push(
      `an unlisted origin is not echoed (${answer.status ?? 'no answer'}${allowOrigin === '*' ? ', "*" without credentials' : ''})`,
    );
  }
}

const FIX =
  'Answer the preflight (OPTIONS) with 204 and echo only allowlisted origins exactly: Access-Control-Allow-Origin: <the origin>, Access-Control-Allow-Credentials: true, Access-Control-Allow-Headers: Content-Type, Last-Event-ID, Idempotency-Key (and any auth header), Access-Control-Expose-Headers: X-Stream-Id, Vary: Origin. Never reflect an arbitrary Origin, never "*" with credentials (streamwell: CORS_ORIGINS).';

/**
 * Runs the CORS check.
 *
 * @param options - the stream URL, the page origin and what the page sends
 * @returns the `cors` check
 */
export async function runCorsCheck(options: CorsCheckOptions): Promise<CheckResult> {
  const title = 'CORS for the page origin';
  const findings: Findings = { failures: [], warnings: [], facts: [] };
  const requested = [...options.requestHeaderNames, 'last-event-id'].filter(
    (name, index, all) => all.indexOf(name) === index,
  );
  const probe = await sendPreflight(options.url, PROBE_ORIGIN, options.method, requested, options.timeoutMs);
  judgeProbe(probe, findings);
  if (options.origin === undefined) {
    if (findings.failures.length > 0)
      return createCheckResult('cors', title, 'fail', `${sentence(findings.failures)}.`, FIX);
    return createCheckResult(
      'cors',
      title,
      'warn',
      `Not tested for your page: no --origin given; ${findings.facts.join('; ')}.`,
      'Pass --origin https://your.app (the page that calls this endpoint) to test its preflight and response headers.',
    );
  }
  const preflight = await sendPreflight(options.url, options.origin, options.method, requested, options.timeoutMs);
  judgePreflight(preflight, options, options.origin, findings);
  if (options.streamHeaders !== undefined) judgeStreamResponse(options.streamHeaders, options.origin, findings);
  if (findings.failures.length > 0) {
    return createCheckResult('cors', title, 'fail', `${sentence([...findings.failures, ...findings.warnings])}.`, FIX);
  }
  if (findings.warnings.length > 0) {
    return createCheckResult('cors', title, 'warn', `${sentence([...findings.facts, ...findings.warnings])}.`, FIX);
  }
  return createCheckResult(
    'cors',
    title,
    'pass',
    `From ${options.origin}: ${findings.facts.join('; ')}; the stream response echoes it.`,
  );
}

function sentence(parts: readonly string[]): string {
  const text = parts.join('; ');
  return `${text[0]?.toUpperCase() ?? ''}${text.slice(1)}`;
}
