/**
 * `streamwell doctor` through a REAL nginx that buffers and gzips the event stream: the buffering
 * and header checks must catch it, the others must not misreport. A correctly configured nginx
 * in front of the same server must pass. Skips loudly without nginx; fails under CI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../packages/streamwell/src/cli/doctor/run-doctor.ts';
import type { DiagnosisReport } from '../../packages/streamwell/src/client/diagnose/check-result.ts';
import { nginxPart } from '../helpers/system-part.ts';
import { ALLOWED_ORIGIN, createSseTestServer, type SseTestServer } from './helpers/create-sse-test-server.ts';
import { type RunningNginx, startNginx } from './helpers/start-nginx.ts';

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
};

describe.skipIf(!nginx.available)('streamwell doctor through a real nginx', () => {
  let server: SseTestServer;
  const proxies: RunningNginx[] = [];
  beforeAll(async () => {
    server = await createSseTestServer({});
  });
  afterAll(async () => {
    for (const proxy of proxies) await proxy.stop();
    await server.close();
  });

  it('catches a buffering, gzipping proxy with the buffering and headers checks only', async () => {
    // The upstream asks for no buffering (X-Accel-Buffering: no); this proxy ignores that and
    // compresses event streams, the classic "tokens arrive all at once" setup.
    const proxy = await startNginx(
      server.origin,
      'proxy_buffering on; proxy_ignore_headers X-Accel-Buffering; gzip on; gzip_types text/event-stream; gzip_min_length 0;',
    );
    proxies.push(proxy);
    const report = await runDoctor({
      url: `${proxy.origin}/api/stream/message`,
      message: 'hello',
      origin: ALLOWED_ORIGIN,
      timeoutMs: 8000,
    });
    expect(statusMap(report)).toEqual({ ...ALL_PASS, headers: 'fail', buffering: 'fail' });
    const buffering = report.checks.find((check) => check.id === 'buffering');
    expect(buffering?.evidence).toMatch(/arrived in one burst at the end of the stream after \d+ ms of silence/);
    expect(buffering?.fix).toContain('proxy_buffering off');
    const headers = report.checks.find((check) => check.id === 'headers');
    expect(headers?.evidence).toContain('Content-Encoding: gzip');
  });

  it('passes the same server behind a correctly configured nginx', async () => {
    const proxy = await startNginx(
      server.origin,
      'proxy_buffering off; proxy_cache off; gzip off; proxy_read_timeout 3600s;',
    );
    proxies.push(proxy);
    const report = await runDoctor({
      url: `${proxy.origin}/api/stream/message`,
      message: 'hello',
      origin: ALLOWED_ORIGIN,
      timeoutMs: 8000,
    });
    expect(statusMap(report)).toEqual(ALL_PASS);
    // nginx strips X-Accel-Buffering before the client; the events still arrived live.
    expect(report.checks.find((check) => check.id === 'headers')?.evidence).toContain(
      'X-Accel-Buffering absent, but events arrived live',
    );
  });
});
