/**
 * The WebSocket check (`--ws URL`): the upgrade succeeds through the given URL (a proxy without
 * `Upgrade`/`Connection` headers answers plain HTTP instead of 101), ping/pong works, a streamwell
 * endpoint replays the stream's events over the socket, and the close handshake is clean.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { WebSocket as WsSocket } from 'ws';
import { type CheckResult, createCheckResult, formatMs } from '../../../client/diagnose/check-result.ts';
import type { ObservedEvent } from '../../../client/diagnose/stream-observation.ts';

/** Inputs of {@link runWebSocketCheck}. */
export interface WebSocketCheckOptions {
  readonly url: string;
  readonly origin: string | undefined;
  /** Extra headers (auth) for the upgrade request. */
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** A stream to replay over the socket (streamwell `resume`), when the SSE check found one. */
  readonly resume?:
    | { readonly streamId: string; readonly after: number; readonly expected: readonly ObservedEvent[] }
    | undefined;
}

const TITLE = 'WebSocket upgrade, ping/pong, close';
const UPGRADE_FIX =
  'Pass the upgrade through every proxy: nginx `proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; proxy_read_timeout 3600s;` in the WebSocket location (see deploy/nginx.conf), and check the path (streamwell: /ws/stream).';

/** A socket event, or the timeout. */
type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

function waitFor<T>(
  register: (done: (outcome: Outcome<T>) => void) => void,
  timeoutMs: number,
  what: string,
): Promise<Outcome<T>> {
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => resolve({ ok: false, reason: `no ${what} within ${formatMs(timeoutMs)}` }),
      timeoutMs,
    );
    register((outcome) => {
      clearTimeout(timer);
      resolve(outcome);
    });
  });
}

async function loadWs(): Promise<typeof import('ws') | undefined> {
  try {
    return await import('ws');
  } catch {
    return undefined;
  }
}

/**
 * Runs the WebSocket check.
 *
 * @param options - the URL and what to send
 * @returns the `websocket` check
 */
export async function runWebSocketCheck(options: WebSocketCheckOptions): Promise<CheckResult> {
  const ws = await loadWs();
  if (ws === undefined) {
    return createCheckResult(
      'websocket',
      TITLE,
      'warn',
      'The `ws` package is not installed, so the WebSocket was not tested.',
      'npm install ws',
    );
  }
  const startedAt = performance.now();
  const socket: WsSocket = new ws.WebSocket(options.url, {
    headers: { ...options.headers },
    handshakeTimeout: options.timeoutMs,
    ...(options.origin === undefined ? {} : { origin: options.origin }),
  });
  socket.on('error', () => {});
  const opened = await waitFor<number>(
    (done) => {
      socket.once('open', () => done({ ok: true, value: performance.now() - startedAt }));
      socket.once('unexpected-response', (_request, response) => {
        const status = response.statusCode ?? 0;
        response.resume();
        done({
          ok: false,
          reason:
            `the server answered HTTP ${status} ${response.statusMessage ?? ''}`.trim() +
            ' instead of 101 Switching Protocols',
        });
      });
      socket.once('error', (error) => done({ ok: false, reason: error.message }));
    },
    options.timeoutMs,
    'upgrade',
  );
  if (!opened.ok) {
    socket.terminate();
    return createCheckResult(
      'websocket',
      TITLE,
      'fail',
      `GET ${options.url} (Upgrade: websocket): ${opened.reason}.`,
      UPGRADE_FIX,
    );
  }
  const facts = [`upgraded in ${formatMs(opened.value)}`];
  const problems: string[] = [];
  const pingAt = performance.now();
  const pong = await waitFor<number>(
    (done) => {
      socket.once('pong', () => done({ ok: true, value: performance.now() - pingAt }));
      socket.once('close', (code) => done({ ok: false, reason: `the server closed the socket (code ${code})` }));
      socket.ping('streamwell-doctor');
    },
    Math.min(options.timeoutMs, 5000),
    'pong',
  );
  if (pong.ok) facts.push(`pong in ${formatMs(pong.value)}`);
  else problems.push(`ping got ${pong.reason}`);
  if (options.resume !== undefined && socket.readyState === socket.OPEN) {
    const replay = await replayOverSocket(socket, options.resume, options.timeoutMs);
    if (replay.ok) facts.push(replay.value);
    else problems.push(replay.reason);
  }
  const closed = await closeCleanly(socket, Math.min(options.timeoutMs, 5000));
  if (closed.ok) facts.push(closed.value);
  else problems.push(closed.reason);
  if (problems.length > 0) {
    return createCheckResult(
      'websocket',
      TITLE,
      'fail',
      `${facts.join(', ')}; but ${problems.join('; ')}.`,
      'A proxy that drops control frames or idles the socket out cuts WebSocket streams: keep ping/pong going under the proxy timeout and let close frames through.',
    );
  }
  return createCheckResult('websocket', TITLE, 'pass', `${facts.join(', ')}.`);
}

async function replayOverSocket(
  socket: WsSocket,
  resume: NonNullable<WebSocketCheckOptions['resume']>,
  timeoutMs: number,
): Promise<Outcome<string>> {
  const frames: { id: unknown; event: unknown; data: unknown }[] = [];
  const outcome = await waitFor<void>(
    (done) => {
      socket.on('message', (raw, isBinary) => {
        if (isBinary) return;
        try {
          const frame = JSON.parse(raw.toString()) as {
            streamId?: unknown;
            id: unknown;
            event: unknown;
            data: unknown;
          };
          if (frame.streamId !== resume.streamId) return;
          frames.push(frame);
          if (frames.length >= resume.expected.length) done({ ok: true, value: undefined });
        } catch {
          done({ ok: false, reason: 'a frame was not JSON' });
        }
      });
      socket.send(JSON.stringify({ type: 'resume', streamId: resume.streamId, after: resume.after }));
    },
    timeoutMs,
    `replay of ${resume.expected.length} events`,
  );
  socket.removeAllListeners('message');
  if (!outcome.ok) return { ok: false, reason: `resume over the socket: ${outcome.reason} (got ${frames.length})` };
  for (let index = 0; index < resume.expected.length; index += 1) {
    const want = resume.expected[index] as ObservedEvent;
    const got = frames[index];
    if (
      got === undefined ||
      String(got.id) !== want.lastEventId ||
      got.event !== want.event ||
      JSON.stringify(got.data) !== want.data
    ) {
      return {
        ok: false,
        reason: `resume over the socket: frame ${index + 1} differs from SSE event id ${want.lastEventId}`,
      };
    }
  }
  return { ok: true, value: `resume replayed the same ${frames.length} events as SSE` };
}

function closeCleanly(socket: WsSocket, timeoutMs: number): Promise<Outcome<string>> {
  if (socket.readyState === socket.CLOSED) {
    return Promise.resolve({ ok: false, reason: 'the server had already closed the socket' });
  }
  return waitFor<string>(
    (done) => {
      socket.once('close', (code, reason) => {
        if (code === 1000) done({ ok: true, value: 'closed cleanly (1000)' });
        else
          done({
            ok: false,
            reason: `the close ended with code ${code}${reason.length > 0 ? ` (${reason.toString()})` : ''}, not 1000`,
          });
      });
      socket.close(1000, 'streamwell doctor done');
    },
    timeoutMs,
    'close handshake',
  ).then((outcome) => {
    socket.terminate();
    return outcome;
  });
}
