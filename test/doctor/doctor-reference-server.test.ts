/**
 * `streamwell doctor` against the reference server itself (apps/server `createApp`), over real
 * loopback sockets, with the SSE stream, the resume URL, CORS and the WebSocket transport: every
 * check must pass. The demo model is paced so that the stream is longer than the heartbeat
 * interval (a heartbeat arrives before the first token, as the protocol promises).
 */
import type { AddressInfo } from 'node:net';
import { createDemoProvider, createMemoryThreadStore } from 'streamwell/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type ServerApp } from '../../apps/server/src/app.ts';
import { defaultConfig } from '../../apps/server/src/config.ts';
import { runDoctor } from '../../packages/streamwell/src/cli/doctor/run-doctor.ts';

const PAGE_ORIGIN = 'https://chat.example.test';

describe('streamwell doctor against the reference server', () => {
  let app: ServerApp;
  let origin: string;
  beforeAll(async () => {
    app = await createApp(defaultConfig({ heartbeatMs: 100, corsOrigins: [PAGE_ORIGIN], logLevel: 'silent' }), {
      provider: createDemoProvider({
        firstTokenDelayMs: 350,
        tokenIntervalMs: 25,
        reply: () => 'one two three four five six seven eight nine ten',
      }),
      threads: createMemoryThreadStore(),
    });
    await app.fastify.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${(app.fastify.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.shutdown(100);
    await app.fastify.close();
  });

  it('passes every check, WebSocket included', async () => {
    const report = await runDoctor({
      url: `${origin}/api/stream/message`,
      message: 'hello doctor',
      origin: PAGE_ORIGIN,
      ws: `${origin.replace('http:', 'ws:')}/ws/stream`,
      timeoutMs: 10_000,
    });
    const failures = report.checks.filter((check) => check.status !== 'pass');
    expect(failures).toEqual([]);
    expect(report.checks.map((check) => check.id)).toEqual([
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
    ]);
    expect(report.ok).toBe(true);
  });

  it('without -m, POSTs a probe message after the GET is refused with 405, and every check passes', async () => {
    const url = `${origin}/api/stream/message`;
    const report = await runDoctor({
      url,
      origin: PAGE_ORIGIN,
      ws: `${origin.replace('http:', 'ws:')}/ws/stream`,
      timeoutMs: 10_000,
    });
    expect(report.checks.filter((check) => check.status !== 'pass')).toEqual([]);
    expect(report.checks).toHaveLength(11);
    const reachable = report.checks[0];
    expect(reachable?.evidence).toContain(
      `GET ${url} answered 405 (Allow: POST, OPTIONS), so this diagnosis POSTed the probe message {"message":"Say hello (streamwell doctor probe)"} and checked that reply: POST ${url} answered 200`,
    );
    expect(report.request).toEqual({ method: 'POST', url, probed: true });
  });

  it('flags an origin the server does not allow as a 403 and a CORS failure', async () => {
    const report = await runDoctor({
      url: `${origin}/api/stream/message`,
      message: 'hello doctor',
      origin: 'https://evil.example.test',
      timeoutMs: 5000,
    });
    expect(Object.fromEntries(report.checks.map((check) => [check.id, check.status]))).toEqual({
      reachable: 'fail',
      cors: 'fail',
    });
    const reachable = report.checks[0];
    expect(reachable?.evidence).toContain('answered 403 (error code "origin_not_allowed")');
    expect(reachable?.fix).toContain('CORS_ORIGINS');
  });
});
