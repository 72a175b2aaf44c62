/**
 * Turns an upstream failure (an HTTP status, a network error, an SDK error) into the
 * `StreamwellError` the run reports: `upstream_auth` for a rejected key, `upstream_error` for
 * anything else. Messages name the status and the URL, and never contain the API key: they
 * reach logs and, by default, the browser.
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';

/** What is known about a failed upstream call. */
export interface UpstreamFailure {
  /** What was called, e.g. `POST http://localhost:11434/v1/chat/completions`. */
  readonly target: string;
  /** The HTTP status, when the upstream answered. */
  readonly status?: number | undefined;
  /** The upstream's own message (OpenAI error JSON `error.message`), when there is one. */
  readonly upstreamMessage?: string | undefined;
  /** The API key in use: scrubbed from every message. */
  readonly apiKey?: string | undefined;
  /**
   * Replaces the message's opening (`The model server answered HTTP 502 to ...`) when the caller
   * can say more precisely what went wrong; the upstream message still follows it.
   */
  readonly headline?: string | undefined;
  readonly cause?: unknown;
}

/** Longest upstream message kept in an error; bodies can be large HTML pages. */
const MAX_UPSTREAM_MESSAGE = 300;

/**
 * Removes the key (and anything that looks like a bearer token) from a message.
 *
 * @param text - any message
 * @param apiKey - the key to remove
 * @returns the message without the key
 *
 * @internal
 */
export function scrubSecret(text: string, apiKey: string | undefined): string {
  let scrubbed = text;
  if (apiKey !== undefined && apiKey.length >= 4) scrubbed = scrubbed.split(apiKey).join('[redacted]');
  return scrubbed.replace(/Bearer\s+\S+/gi, 'Bearer [redacted]');
}

/**
 * The values of configured request headers (`UPSTREAM_HEADERS`) that must never appear in a
 * message: each whole value, and its credential without the scheme (`Bearer abc` → `abc`, which
 * an upstream may echo alone: "Incorrect API key provided: abc").
 *
 * @param headers - the configured headers
 * @returns the strings to scrub (4 characters or more)
 *
 * @internal
 */
export function headerSecrets(headers: Readonly<Record<string, string>>): string[] {
  const secrets = new Set<string>();
  for (const value of Object.values(headers)) {
    secrets.add(value);
    const credential = /^\S+\s+(\S.*)$/.exec(value)?.[1];
    if (credential !== undefined) secrets.add(credential);
  }
  // Longest first: a value is removed before the credential inside it.
  return [...secrets].filter((secret) => secret.length >= 4).sort((left, right) => right.length - left.length);
}

/**
 * Removes user info (`user:password@`), query and fragment from a URL for messages.
 *
 * @param url - an absolute URL
 * @returns origin and path only
 *
 * @internal
 */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * Creates the error for a failed upstream call.
 *
 * @param failure - status, target and upstream message
 * @returns `upstream_auth` (status 401 or 403) or `upstream_error`
 */
export function createUpstreamError(failure: UpstreamFailure): StreamwellError {
  const { status, target } = failure;
  let detail = failure.upstreamMessage?.trim() ?? '';
  if (detail.length > MAX_UPSTREAM_MESSAGE) detail = `${detail.slice(0, MAX_UPSTREAM_MESSAGE)}...`;
  detail = scrubSecret(detail, failure.apiKey);
  const auth = status === 401 || status === 403;
  const head =
    failure.headline !== undefined
      ? failure.headline
      : status === undefined
        ? `The model request failed: ${target}`
        : auth
          ? `The model server rejected the API key (HTTP ${status} from ${target})`
          : `The model server answered HTTP ${status} to ${target}`;
  const message = detail === '' ? `${head}.` : `${head}: ${detail}`;
  const error = new StreamwellError(auth ? 'upstream_auth' : 'upstream_error', message, {
    status: 502,
    retryable: status === undefined || status === 429 || status >= 500,
    cause: failure.cause,
  });
  if (status !== undefined) Object.defineProperty(error, UPSTREAM_STATUS, { value: status });
  return error;
}

const UPSTREAM_STATUS = Symbol.for('streamwell.upstreamStatus');

/**
 * The HTTP status the upstream answered, for an error made by {@link createUpstreamError}.
 * (The error's own `status` is the one streamwell answers with, 502.)
 *
 * @param error - anything
 * @returns the upstream status, or undefined (network failure, or not such an error)
 *
 * @internal
 */
export function upstreamStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as Record<symbol, unknown>)[UPSTREAM_STATUS];
  return typeof status === 'number' ? status : undefined;
}

/**
 * Reads the message out of an OpenAI-style error body (`{"error":{"message"}}`), or returns the
 * start of the text when it is not one.
 *
 * @param body - the response body text
 * @returns the message, or '' for an empty body
 *
 * @internal
 */
export function readUpstreamMessage(body: string): string {
  const trimmed = body.trim();
  if (trimmed === '') return '';
  try {
    const parsed = JSON.parse(trimmed) as {
      error?: { message?: unknown } | string;
      message?: unknown;
      detail?: unknown;
    };
    if (typeof parsed.error === 'string') return parsed.error;
    if (typeof parsed.error?.message === 'string') return parsed.error.message;
    if (typeof parsed.message === 'string') return parsed.message;
    if (typeof parsed.detail === 'string') return parsed.detail;
  } catch {
    // Not JSON (an HTML error page from a proxy, say): fall through to the raw text.
  }
  return trimmed.slice(0, MAX_UPSTREAM_MESSAGE);
}

/**
 * Describes a network failure (refused, reset, DNS) without internals.
 *
 * @param error - what the HTTP client threw
 * @returns a short reason such as `ECONNREFUSED`
 *
 * @internal
 */
export function networkReason(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code.length > 0) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.message : String(error);
}
