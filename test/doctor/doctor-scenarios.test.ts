/**
 * `streamwell doctor` against a correct server and against servers broken on purpose, over real
 * loopback sockets. Each broken server must be diagnosed by the right check, and every other check
 * must keep its verdict: the whole status map is asserted per scenario.
 */
import type { Provider, ProviderRequest } from 'streamwell/server';
import { createDemoProvider } from 'streamwell/server';
import { afterEach, describe, expect, it } from 'vitest';
import { type DoctorOptions, runDoctor } from '../../packages/streamwell/src/cli/doctor/run-doctor.ts';
import type { DiagnosisReport } from '../../packages/streamwell/src/client/diagnose/check-result.ts';
import {
  ALLOWED_ORIGIN,
  createSseTestServer,
  type SseTestServer,
  type SseTestServerOptions,
} from './helpers/create-sse-test-server.ts';

const CHECK_IDS = [
  'reachable',
  'content-type',
  'headers',
  'timing',
  'buffering',
  'events',
  'resume',
  'heartbeats',
  'terminal',
  'cors',
  'websocket',
] as const;

type StatusMap = Record<string, 'pass' | 'warn' | 'fail'>;

/** Every check passes except the ones named. */
function expected(overrides: StatusMap): StatusMap {
  const map: StatusMap = {};
  for (const id of CHECK_IDS) map[id] = overrides[id] ?? 'pass';
  return map;
}

function statusMap(report: DiagnosisReport): StatusMap {
  return Object.fromEntries(report.checks.map((check) => [check.id, check.status]));
}

function check(report: DiagnosisReport, id: string) {
  const found = report.checks.find((item) => item.id === id);
  if (found === undefined) throw new Error(`no check ${id}`);
  return found;
}

/** A model that never says anything until it is aborted. */
const silentProvider: Provider = {
  name: 'silent',
  model: 'silent-model',
  async *stream(request: ProviderRequest) {
    await new Promise((_, reject) => {
      request.signal.addEventListener('abort', () => reject(request.signal.reason), { once: true });
    });
  },
};

let server: SseTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function diagnose(serverOptions: SseTestServerOptions, doctorOptions: Partial<DoctorOptions> = {}) {
  server = await createSseTestServer(serverOptions);
  const report = await runDoctor({
    url: `${server.origin}/api/stream/message`,
    message: 'hello',
    origin: ALLOWED_ORIGIN,
    ws: `${server.origin.replace('http:', 'ws:')}/ws/stream`,
    timeoutMs: 8000,
    ...doctorOptions,
  });
  return report;
}

describe('streamwell doctor against loopback servers', () => {
  it('passes every check of a correct streamwell server', async () => {
    const report = await diagnose({});
    expect(statusMap(report)).toEqual(expected({}));
    expect(report.ok).toBe(true);
    expect(check(report, 'resume').evidence).toMatch(
      /replayed exactly the \d+ events after it; a cursor at the terminal event answered 204/,
    );
    expect(check(report, 'websocket').evidence).toMatch(
      /resume replayed the same \d+ events as SSE, closed cleanly \(1000\)/,
    );
  });

  it('diagnoses a wrong content type, and only that', async () => {
    const report = await diagnose({ contentType: 'text/plain; charset=utf-8' });
    expect(statusMap(report)).toEqual(expected({ 'content-type': 'fail' }));
    expect(report.ok).toBe(false);
    expect(check(report, 'content-type').evidence).toContain('text/plain');
    expect(check(report, 'content-type').fix).toContain('text/event-stream');
  });

  it('diagnoses a server without CORS', async () => {
    const report = await diagnose({ cors: 'none' });
    expect(statusMap(report)).toEqual(expected({ cors: 'fail' }));
    expect(check(report, 'cors').evidence).toMatch(/preflight \(OPTIONS\) answered 404/);
    expect(check(report, 'cors').evidence).toMatch(/stream response has no Access-Control-Allow-Origin/);
  });

  it('diagnoses wildcard CORS with credentials', async () => {
    const report = await diagnose({ cors: 'wildcard-credentials' });
    expect(statusMap(report)).toEqual(expected({ cors: 'fail' }));
    expect(check(report, 'cors').evidence).toMatch(/"\*" with Allow-Credentials: true, which browsers reject/);
  });

  it('diagnoses missing heartbeats behind a short proxy idle timeout', async () => {
    const provider = createDemoProvider({
      firstTokenDelayMs: 1500,
      tokenIntervalMs: 30,
      reply: () => 'one two three four five six',
    });
    const report = await diagnose({ heartbeatMs: 0, provider }, { proxyIdleTimeoutMs: 500 });
    expect(statusMap(report)).toEqual(expected({ heartbeats: 'fail' }));
    expect(check(report, 'heartbeats').evidence).toMatch(
      /0 heartbeat comments; longest silence 1\d{3} ms .*at or over the proxy idle timeout of 500 ms/,
    );
  });

  it('warns, not fails, about a missing heartbeat on a stream shorter than the idle timeout', async () => {
    const report = await diagnose({ heartbeatMs: 0 });
    expect(statusMap(report)).toEqual(expected({ heartbeats: 'warn' }));
    expect(report.ok).toBe(true);
  });

  it('diagnoses a model that never sends a first token', async () => {
    const report = await diagnose({ provider: silentProvider }, { timeoutMs: 1500 });
    // Nothing after `start` to replay, and the stream is still open when the doctor stops waiting:
    // those two say so as warnings; the failure is the missing first token.
    expect(statusMap(report)).toEqual(expected({ timing: 'fail', resume: 'warn', terminal: 'warn' }));
    expect(check(report, 'timing').evidence).toMatch(
      /first event \d+ ms; no token in 1\d{3} ms \(events seen: start\)/,
    );
    expect(check(report, 'timing').fix).toContain('streamwell doctor --provider');
  });

  it('diagnoses a stream that closes without a terminal event', async () => {
    const report = await diagnose({ dropTerminal: true });
    expect(statusMap(report)).toEqual(expected({ terminal: 'fail' }));
    expect(check(report, 'terminal').evidence).toMatch(/closed the stream after 21 events without a terminal event/);
  });

  it('diagnoses a WebSocket URL that does not upgrade', async () => {
    const report = await diagnose({ websocket: false });
    expect(statusMap(report)).toEqual(expected({ websocket: 'fail' }));
    expect(check(report, 'websocket').evidence).toMatch(/answered HTTP 404 .*instead of 101 Switching Protocols/);
    expect(check(report, 'websocket').fix).toContain('proxy_set_header Upgrade');
  });

  it('reports an unreachable endpoint as the one failure, without stream checks', async () => {
    server = await createSseTestServer({});
    const url = `${server.origin}/api/stream/message`;
    await server.close();
    server = undefined;
    const report = await runDoctor({ url, message: 'hello', timeoutMs: 3000 });
    expect(statusMap(report)).toEqual({ reachable: 'fail' });
    expect(check(report, 'reachable').evidence).toContain('ECONNREFUSED');
  });

  it('without -m, POSTs a probe message when the GET is refused with 405, and runs every check on its reply', async () => {
    const report = await diagnose({}, { message: undefined });
    expect(statusMap(report)).toEqual(expected({}));
    expect(check(report, 'reachable').evidence).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/api\/stream\/message answered 405 \(Allow: POST\), so this diagnosis POSTed the probe message \{"message":"Say hello \(streamwell doctor probe\)"\} and checked that reply: POST http:\/\/127\.0\.0\.1:\d+\/api\/stream\/message answered 200 after \d+ ms\.$/,
    );
    expect(report.request).toEqual({ method: 'POST', url: `${server?.origin}/api/stream/message`, probed: true });
  });

  it('reports a GET on a path that does not exist as a 404, with no probe', async () => {
    server = await createSseTestServer({});
    const report = await runDoctor({ url: `${server.origin}/api/nothing-here`, timeoutMs: 3000 });
    expect(statusMap(report)).toEqual({ reachable: 'fail', cors: 'warn' });
    expect(check(report, 'reachable').evidence).toMatch(/^GET .* answered 404/);
    expect(report.request).toEqual({ method: 'GET', url: `${server.origin}/api/nothing-here`, probed: false });
  });
});
