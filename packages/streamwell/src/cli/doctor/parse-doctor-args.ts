/**
 * Parses `streamwell doctor` arguments with `node:util` `parseArgs` (no CLI framework).
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { StreamwellError } from '../../errors/index.ts';
import type { DoctorOptions } from './run-doctor.ts';

/** Parsed command line: the doctor options plus output flags. */
export interface DoctorArguments {
  readonly options: DoctorOptions;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly help: boolean;
}

/** The usage text. */
export const DOCTOR_USAGE = `Usage: streamwell doctor <url> [options]

Runs the streaming troubleshooting checklist against a live endpoint (any SSE endpoint; more
checks for streamwell servers) and says what is wrong, where, and how to fix it.

  <url>                       the stream endpoint, e.g. http://127.0.0.1:8000/api/stream/message
  -m, --message TEXT          POST {"message": TEXT} (a chat endpoint); without it the doctor GETs,
                              and POSTs a short probe message when the GET is refused with 405
  -d, --data JSON             POST this JSON body instead (other body shapes)
  -H, --header 'Name: value'  extra request header (repeatable), e.g. -H 'Authorization: Bearer ...'
      --origin ORIGIN         the page origin to test CORS for, e.g. https://app.example.com
      --ws URL                also test a WebSocket endpoint, e.g. ws://127.0.0.1:8000/ws/stream
      --provider              run the provider self-test from this environment (key, model, stream)
      --upstream URL          streamwell fronts an SSE backend (STREAMWELL_PROVIDER=sse): check that
                              backend directly (POST {"message"}, UPSTREAM_HEADERS from this
                              environment) and say which side of the gateway a fault is on
      --proxy-idle-timeout MS the idle timeout of your proxies (default 60000, nginx's default)
      --timeout MS            how long to wait for the stream (default 30000)
      --resume-url TEMPLATE   resume URL with {id} (default: streamwell's /api/streams/{id})
      --json                  print {"ok", "checks": [...]} only
  -q, --quiet                 no progress on stderr
      --help                  this text

Exit code 0 when no check fails (warnings allowed), 1 otherwise, 2 for a usage error.`;

function positiveInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) <= 0) {
    throw new StreamwellError('bad_request', `${name} must be a positive number of milliseconds, got "${value}"`);
  }
  return Number(value);
}

function parseHeaders(values: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const value of values) {
    const colon = value.indexOf(':');
    if (colon <= 0) throw new StreamwellError('bad_request', `-H expects 'Name: value', got "${value}"`);
    headers[value.slice(0, colon).trim()] = value.slice(colon + 1).trim();
  }
  return headers;
}

function checkUrl(value: string | undefined, name: string, schemes: readonly string[]): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new StreamwellError('bad_request', `${name} is not an absolute URL: "${value}"`);
  }
  if (!schemes.includes(url.protocol)) {
    throw new StreamwellError('bad_request', `${name} must use ${schemes.join(' or ')}, got "${url.protocol}"`);
  }
  return value;
}

/**
 * Parses the arguments after `doctor`.
 *
 * @param argv - e.g. `['http://host/api/stream/message', '-m', 'hi', '--json']`
 * @returns the options
 * @throws StreamwellError `bad_request` on a usage error
 */
export function parseDoctorArgs(argv: readonly string[]): DoctorArguments {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new StreamwellError('bad_request', error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new StreamwellError('bad_request', `Expected one URL, got ${positionals.length}`);
  const url = checkUrl(positionals[0], 'The URL', ['http:', 'https:']);
  const upstream = checkUrl(values.upstream, '--upstream', ['http:', 'https:']);
  if (
    values.help !== true &&
    url === undefined &&
    values.ws === undefined &&
    values.provider !== true &&
    upstream === undefined
  ) {
    throw new StreamwellError('bad_request', 'Give the stream URL (or --ws URL, --provider, or --upstream URL)');
  }
  if (values.message !== undefined && values.data !== undefined) {
    throw new StreamwellError('bad_request', 'Use -m or --data, not both');
  }
  if (values.origin !== undefined) {
    const origin = checkUrl(values.origin, '--origin', ['http:', 'https:']) as string;
    if (new URL(origin).origin !== origin) {
      throw new StreamwellError(
        'bad_request',
        `--origin must be an origin (scheme://host[:port]), e.g. ${new URL(origin).origin}`,
      );
    }
  }
  if (values.data !== undefined) {
    try {
      JSON.parse(values.data);
    } catch {
      throw new StreamwellError('bad_request', '--data must be JSON');
    }
  }
  const options: DoctorOptions = {
    url,
    origin: values.origin,
    ws: checkUrl(values.ws, '--ws', ['ws:', 'wss:']),
    message: values.message,
    data: values.data,
    provider: values.provider === true,
    headers: parseHeaders(values.header ?? []),
    proxyIdleTimeoutMs: positiveInteger(values['proxy-idle-timeout'], '--proxy-idle-timeout'),
    timeoutMs: positiveInteger(values.timeout, '--timeout'),
    resumeUrl: values['resume-url'],
    upstream,
  };
  return { options, json: values.json === true, quiet: values.quiet === true, help: values.help === true };
}

const OPTIONS = {
  message: { type: 'string', short: 'm' },
  data: { type: 'string', short: 'd' },
  header: { type: 'string', short: 'H', multiple: true },
  origin: { type: 'string' },
  ws: { type: 'string' },
  provider: { type: 'boolean' },
  upstream: { type: 'string' },
  'proxy-idle-timeout': { type: 'string' },
  timeout: { type: 'string' },
  'resume-url': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean' },
} as const;
