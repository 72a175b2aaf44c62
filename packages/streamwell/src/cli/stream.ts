/**
 * `streamwell stream <url> [-m TEXT] [--json] [--raw] [--no-reconnect] [-H 'Name: value']...`
 *
 * - With `-m`: POSTs `{"message": TEXT}` and prints only the reply text to stdout as it streams
 *   (plus one final newline), resuming transparently after a dropped connection. Status,
 *   progress and reconnect notes go to stderr. Exit 0 after `done`, 1 after `error`.
 * - Without `-m`: follows an existing stream by its URL (`.../api/streams/{id}`).
 * - `--json`: each protocol event as one JSON line `{"id","event","data"}` (data parsed).
 * - `--raw`: a generic WHATWG event-stream client for any URL (GET unless `-m`): one JSON line
 *   `{"id","event","data"}` per dispatched event, `id` being the last event ID in effect (`""`
 *   when none); it reconnects after a network failure with `Last-Event-ID` (GET only) and
 *   exits 0 when the server ends the stream.
 * - Stopped (Ctrl-C, or the reader of stdout gone: see main.ts): the run is cancelled on the
 *   server, and the command waits (at most {@link STOP_WAIT_MS}) for the server to take it.
 *
 * It uses the library's own client (`streamwell/client`): one implementation, not two.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import {
  createStreamClient,
  isStreamwellError,
  type StreamCallbacks,
  StreamHttpError,
  type StreamSession,
  streamSseEvents,
} from '../client/index.ts';

/** Where the command writes. */
export interface StreamCommandIo {
  readonly stdout: { isTTY?: boolean; write(text: string): unknown };
  readonly stderr: { isTTY?: boolean; write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborts the command (Ctrl-C); the stream is cancelled on the server. */
  readonly signal?: AbortSignal;
}

/** Usage text of `streamwell stream`. */
export const STREAM_USAGE = `Usage: streamwell stream <url> [-m TEXT] [--json] [--raw] [--no-reconnect] [-H 'Name: value']...

  <url>             with -m: the start endpoint (e.g. http://localhost:8000/api/stream/message);
                    without -m: a stream to follow (e.g. http://localhost:8000/api/streams/ID)
  -m, --message     send this message (POST {"message": TEXT}) and print the reply text
      --json        print each protocol event as one JSON line
      --raw         generic SSE client for any URL (GET unless -m): one JSON line
                    {"id","event","data"} per event, exactly as the WHATWG rules dispatch them
      --no-reconnect  do not resume or reconnect after a dropped connection
  -H, --header      extra request header 'Name: value' (repeatable)
  -h, --help        show this help

Exit status: 0 after the stream ended normally, 1 after an error, 2 for a usage error.`;

interface StreamArguments {
  readonly url: string;
  readonly message: string | undefined;
  readonly json: boolean;
  readonly raw: boolean;
  readonly reconnect: boolean;
  readonly headers: Record<string, string>;
}

class UsageError extends Error {}

function parseHeaders(values: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const value of values) {
    const colon = value.indexOf(':');
    const name = colon > 0 ? value.slice(0, colon).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
      throw new UsageError(`bad header ${JSON.stringify(value)}; use -H 'Name: value'`);
    headers[name] = value.slice(colon + 1).trim();
  }
  return headers;
}

function parseStreamArgs(argv: string[]): StreamArguments | 'help' {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        message: { type: 'string', short: 'm' },
        json: { type: 'boolean' },
        raw: { type: 'boolean' },
        'no-reconnect': { type: 'boolean' },
        header: { type: 'string', short: 'H', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const values = parsed.values as {
    message?: string;
    json?: boolean;
    raw?: boolean;
    'no-reconnect'?: boolean;
    header?: string[];
    help?: boolean;
  };
  if (values.help) return 'help';
  if (parsed.positionals.length !== 1) throw new UsageError('expected exactly one <url>');
  const url = parsed.positionals[0] as string;
  if (!/^https?:\/\//i.test(url)) throw new UsageError(`the url must start with http:// or https://, got ${url}`);
  if (values.json && values.raw) throw new UsageError('--json and --raw cannot be combined');
  return {
    url,
    message: values.message,
    json: values.json ?? false,
    raw: values.raw ?? false,
    reconnect: !values['no-reconnect'],
    headers: parseHeaders(values.header ?? []),
  };
}

/** Writes notes to stderr, dimmed on a terminal (unless NO_COLOR). */
function createNotes(io: StreamCommandIo) {
  const color = io.stderr.isTTY === true && io.env.NO_COLOR === undefined && io.env.TERM !== 'dumb';
  const paint = (code: string, text: string): string => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  return {
    info: (text: string) => io.stderr.write(`${paint('2', `streamwell: ${text}`)}\n`),
    warn: (text: string) => io.stderr.write(`${paint('33', `streamwell: ${text}`)}\n`),
    error: (text: string) => io.stderr.write(`${paint('31', `streamwell: ${text}`)}\n`),
  };
}

function describeError(error: unknown): string {
  if (isStreamwellError(error)) return `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The commonest first mistakes, named: `-m` POSTs to <url> itself, where a server's address (or
 * another route) answers 404 or 405; without `-m`, <url> is a stream to follow, and a start
 * endpoint answers a GET with 405. Empty when the error is anything else.
 */
function endpointHint(args: StreamArguments, error: unknown): string {
  if (!(error instanceof StreamHttpError) || (error.status !== 404 && error.status !== 405)) return '';
  const url = new URL(args.url);
  const atStart = url.pathname.endsWith('/stream/message');
  if (args.message === undefined) {
    return atStart
      ? '\nthat is the endpoint that starts a stream: add -m TEXT (without -m, <url> is a stream to follow, …/streams/<id>)'
      : '';
  }
  if (atStart) return '';
  const suggestion = new URL('/api/stream/message', url).href;
  return `\nwith -m, <url> is the endpoint that starts a stream; the reference server's is ${suggestion}`;
}

async function runRaw(args: StreamArguments, io: StreamCommandIo): Promise<number> {
  const notes = createNotes(io);
  const headers = { ...args.headers };
  if (args.message !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
    headers['Content-Type'] = 'application/json';
  }
  try {
    const result = await streamSseEvents({
      url: args.url,
      method: args.message === undefined ? 'GET' : 'POST',
      headers,
      ...(args.message === undefined ? {} : { body: JSON.stringify({ message: args.message }) }),
      reconnect: args.reconnect,
      ...(io.signal === undefined ? {} : { signal: io.signal }),
      onEvent: (event) => {
        io.stdout.write(`${JSON.stringify({ id: event.id ?? '', event: event.event, data: event.data })}\n`);
      },
      onReconnect: (info) =>
        notes.warn(
          `connection lost (${info.error.message}); reconnecting in ${info.delayMs} ms` +
            (info.lastEventId === '' ? '' : ` with Last-Event-ID ${info.lastEventId}`),
        ),
    });
    notes.info(
      result.reason === 'no-content' ? 'the server answered 204: nothing to stream' : 'the server ended the stream',
    );
    return 0;
  } catch (error) {
    notes.error(describeError(error) + endpointHint(args, error));
    return 1;
  }
}

function follow(args: StreamArguments, io: StreamCommandIo): StreamSession {
  const notes = createNotes(io);
  // Without -m the url is a stream (…/streams/{id}): resume it from its start.
  const streamId = decodeURIComponent(new URL(args.url).pathname.split('/').filter(Boolean).at(-1) ?? '');
  const client = createStreamClient({
    url: args.message === undefined ? new URL('/api/stream/message', args.url).href : args.url,
    ...(args.message === undefined ? { resumeUrl: () => args.url } : {}),
    headers: args.headers,
    ...(args.reconnect ? {} : { maxAttempts: 0 }),
  });
  // Set once the server named the stream (X-Stream-Id or `start`): from then on a drop is resumed.
  let streamKnown = args.message === undefined;
  const callbacks: StreamCallbacks = {
    // --json prints events; otherwise only the reply text goes to stdout.
    ...(args.json
      ? {
          onEvent: (event) => {
            io.stdout.write(`${JSON.stringify({ id: event.id, event: event.event, data: event.data })}\n`);
          },
        }
      : { onToken: (token) => io.stdout.write(token) }),
    onStreamId: (id) => {
      streamKnown = true;
      notes.info(`stream ${id}`);
    },
    onReconnect: (info) =>
      notes.warn(
        // Before the server named a stream (it is down, say) there is nothing to resume: the
        // start is tried again (with the same Idempotency-Key, so never twice on the server).
        streamKnown
          ? `connection lost (${info.error.message}); resuming ` +
              (info.lastEventId === undefined ? 'from the start' : `after event ${info.lastEventId}`) +
              ` in ${info.delayMs} ms (attempt ${info.attempt})`
          : `no stream yet (${info.error.message}); trying again in ${info.delayMs} ms (attempt ${info.attempt})`,
      ),
  };
  return args.message === undefined ? client.resume(streamId, callbacks) : client.start(args.message, callbacks);
}

/** Longest the command waits for the server to take a stop before it exits anyway. */
const STOP_WAIT_MS = 5000;

/** Resolves when `promise` settles or after `ms`, whichever comes first. */
async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

async function runProtocol(args: StreamArguments, io: StreamCommandIo): Promise<number> {
  const notes = createNotes(io);
  const session = follow(args, io);
  let stopping: Promise<void> | undefined;
  const onAbort = (): void => {
    // The reason says why (`interrupted`, `stdout closed`); another caller's abort() gives none.
    const reason = io.signal?.reason;
    notes.warn(`${typeof reason === 'string' ? reason : 'interrupted'}: stopping the stream on the server`);
    stopping = session.cancel();
  };
  io.signal?.addEventListener('abort', onAbort, { once: true });
  const result = await session.done;
  io.signal?.removeEventListener('abort', onAbort);
  // The session ends as soon as it is stopped; the cancel request may still be on its way, and
  // the process exits right after this function: wait for the server to take it (bounded).
  if (stopping !== undefined) await settleWithin(stopping, STOP_WAIT_MS);
  if (!args.json) io.stdout.write('\n');
  const metrics = session.metrics;
  const timing =
    metrics.timeToFirstTokenMs === undefined ? '' : `, first token after ${Math.round(metrics.timeToFirstTokenMs)} ms`;
  const reconnects = metrics.reconnects === 0 ? '' : `, ${metrics.reconnects} reconnect(s)`;
  if (result.status === 'error') {
    if (!args.reconnect && result.error?.code === 'retry_exhausted') {
      notes.error(`the connection dropped and --no-reconnect was given: ${describeError(result.error.cause)}`);
    } else {
      notes.error(describeError(result.error) + endpointHint(args, result.error));
    }
    return 1;
  }
  const reason = result.finishReason === undefined ? '' : ` (${result.finishReason})`;
  notes.info(`${result.status}${reason}: ${metrics.tokens} tokens${timing}${reconnects}`);
  return 0;
}

/**
 * Runs `streamwell stream ...`.
 *
 * @param argv - the arguments after `stream`
 * @param io - output streams, environment and an interrupt signal
 * @returns the exit code
 */
export async function runStreamCommand(argv: string[], io: StreamCommandIo): Promise<number> {
  let args: StreamArguments | 'help';
  try {
    args = parseStreamArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`streamwell stream: ${error.message}\n\n${STREAM_USAGE}\n`);
    return 2;
  }
  if (args === 'help') {
    io.stdout.write(`${STREAM_USAGE}\n`);
    return 0;
  }
  return args.raw ? runRaw(args, io) : runProtocol(args, io);
}
