/**
 * `streamwell doctor` through a REAL nginx running the shipped deploy/nginx.conf (H5's
 * test/helpers/nginx.ts), then the same config broken on purpose: stream buffering with gzip
 * (the classic "tokens arrive all at once"), and a WebSocket location without the upgrade headers.
 * Each break must be caught by the right check; the others must not misreport. Skips loudly
 * without nginx; fails under CI.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../packages/streamwell/src/cli/doctor/run-doctor.ts';
import type { DiagnosisReport } from '../../packages/streamwell/src/client/diagnose/check-result.ts';
import { type RunningNginx, startNginx } from '../helpers/nginx.ts';
import { nginxPart } from '../helpers/system-part.ts';
import { ALLOWED_ORIGIN, createSseTestServer, type SseTestServer } from './helpers/create-sse-test-server.ts';

const nginx = nginxPart();

function statusMap(report: DiagnosisReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((check) => [check.id, check.status]));
}

const ALL_PASS = {
  reachable: 'pass',
  'content-type': 'pass',
  headers: 'pass',
  timing: 'pass',
  buffering: 'pass',
  events: 'pass',
  resume: 'pass',
  heartbeats: 'pass',
  terminal: 'pass',
  cors: 'pass',
  websocket: 'pass',
};

/** Replaces `from` in the config, insisting that it is there. */
function replaceOnce(config: string, from: string, to: string): string {
  if (!config.includes(from)) throw new Error(`deploy/nginx.conf no longer contains ${JSON.stringify(from)}`);
  return config.replace(from, to);
}

describe.skipIf(!nginx.available)('streamwell doctor through a real nginx (deploy/nginx.conf)', () => {
  let server: SseTestServer;
  let proxy: RunningNginx | undefined;
  beforeAll(async () => {
    server = await createSseTestServer({});
  });
  afterEach(async () => {
    await proxy?.stop();
    proxy = undefined;
  });
  afterAll(async () => {
    await server.close();
  });

  async function diagnose(mutate?: (site: string) => string): Promise<DiagnosisReport> {
    proxy = await startNginx({
      upstreamPort: Number(new URL(server.origin).port),
      ...(mutate === undefined ? {} : { mutate }),
    });
    return runDoctor({
      url: `${proxy.origin}/api/stream/message`,
      message: 'hello',
      origin: ALLOWED_ORIGIN,
      ws: `${proxy.origin.replace('http:', 'ws:')}/ws/stream`,
      timeoutMs: 8000,
    });
  }

  it('passes every check through the shipped config', async () => {
    const report = await diagnose();
    expect(statusMap(report)).toEqual(ALL_PASS);
    // nginx strips X-Accel-Buffering before the client; the events still arrived live.
    expect(report.checks.find((check) => check.id === 'headers')?.evidence).toContain(
      'X-Accel-Buffering absent, but events arrived live',
    );
  });

  it('catches a buffering, gzipping proxy with the buffering and headers checks only', async () => {
    // The upstream asks for no buffering (X-Accel-Buffering: no); this proxy ignores that and
    // compresses event streams.
    const report = await diagnose((site) =>
      replaceOnce(
        replaceOnce(site, 'proxy_buffering off;', 'proxy_buffering on; proxy_ignore_headers X-Accel-Buffering;'),
        'gzip off;',
        'gzip on; gzip_types text/event-stream; gzip_min_length 0;',
      ),
    );
    expect(statusMap(report)).toEqual({ ...ALL_PASS, headers: 'fail', buffering: 'fail' });
    const buffering = report.checks.find((check) => check.id === 'buffering');
    expect(buffering?.evidence).toMatch(/arrived in one burst at the end of the stream after \d+ ms of silence/);
    expect(buffering?.fix).toContain('proxy_buffering off');
    expect(report.checks.find((check) => check.id === 'headers')?.evidence).toContain('Content-Encoding: gzip');
  });

  it('catches a WebSocket location that does not pass the upgrade', async () => {
    const report = await diagnose((site) =>
      replaceOnce(
        replaceOnce(site, 'proxy_set_header Upgrade $http_upgrade;', ''),
        'proxy_set_header Connection $connection_upgrade;',
        '',
      ),
    );
    expect(statusMap(report)).toEqual({ ...ALL_PASS, websocket: 'fail' });
    expect(report.checks.find((check) => check.id === 'websocket')?.evidence).toMatch(
      /instead of 101 Switching Protocols/,
    );
  });
});
