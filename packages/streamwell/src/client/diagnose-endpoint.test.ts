/**
 * The browser-side diagnosis, run in Node with the real `fetch` against loopback servers. Node's
 * fetch does not enforce CORS, so the "likely CORS" verdict is checked on a refused connection
 * from a cross-origin page, which is exactly what the browser reports for a CORS block.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ALLOWED_ORIGIN,
  createSseTestServer,
  type SseTestServer,
} from '../../../../test/doctor/helpers/create-sse-test-server.ts';
import type { Provider, ProviderRequest } from '../server/provider.ts';
import type { DiagnosisReport } from './diagnose/check-result.ts';
import { diagnoseEndpoint } from './diagnose-endpoint.ts';

let server: SseTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function statusMap(report: DiagnosisReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((check) => [check.id, check.status]));
}

function evidence(report: DiagnosisReport, id: string): string {
  return report.checks.find((check) => check.id === id)?.evidence ?? '';
}

const silent: Provider = {
  name: 'silent',
  model: 'silent',
  async *stream(request: ProviderRequest) {
    await new Promise((_, reject) => {
      request.signal.addEventListener('abort', () => reject(request.signal.reason), { once: true });
    });
  },
};

describe('diagnoseEndpoint', () => {
  it('passes a correct stream fetched from the same origin', async () => {
    server = await createSseTestServer({});
    const report = await diagnoseEndpoint({ url: '/api/stream/message', message: 'hi', pageUrl: `${server.origin}/` });
    expect(statusMap(report)).toEqual({
      url: 'pass',
      cors: 'pass',
      reachable: 'pass',
      'content-type': 'pass',
      headers: 'pass',
      timing: 'pass',
      buffering: 'pass',
      events: 'pass',
      terminal: 'pass',
    });
    expect(report.ok).toBe(true);
    expect(evidence(report, 'timing')).toMatch(/first byte \d+ ms, first event \d+ ms, first token \d+ ms; 20 tokens/);
  });

  it('skips the header check cross-origin, where the browser hides headers', async () => {
    server = await createSseTestServer({});
    const report = await diagnoseEndpoint({
      url: `${server.origin}/api/stream/message`,
      message: 'hi',
      pageUrl: `${ALLOWED_ORIGIN}/`,
    });
    expect(statusMap(report)).toEqual({
      url: 'pass',
      cors: 'pass',
      reachable: 'pass',
      'content-type': 'pass',
      timing: 'pass',
      buffering: 'pass',
      events: 'pass',
      terminal: 'pass',
    });
    expect(evidence(report, 'url')).toContain(`cross-origin from ${ALLOWED_ORIGIN}`);
  });

  it('fails the content type of a text/plain stream', async () => {
    server = await createSseTestServer({ contentType: 'text/plain' });
    const report = await diagnoseEndpoint({ url: '/api/stream/message', message: 'hi', pageUrl: `${server.origin}/` });
    expect(statusMap(report)).toMatchObject({
      'content-type': 'fail',
      reachable: 'pass',
      events: 'pass',
      terminal: 'pass',
    });
  });

  it('calls a fetch failure from a cross-origin page likely CORS', async () => {
    server = await createSseTestServer({});
    const url = `${server.origin}/api/stream/message`;
    await server.close();
    server = undefined;
    const report = await diagnoseEndpoint({ url, message: 'hi', pageUrl: `${ALLOWED_ORIGIN}/` });
    expect(statusMap(report)).toEqual({ url: 'pass', cors: 'fail' });
    expect(evidence(report, 'cors')).toMatch(/fetch failed before any response .*most likely CORS/);
  });

  it('calls a fetch failure on the same origin unreachable', async () => {
    server = await createSseTestServer({});
    const origin = server.origin;
    await server.close();
    server = undefined;
    const report = await diagnoseEndpoint({ url: '/api/stream/message', message: 'hi', pageUrl: `${origin}/` });
    expect(statusMap(report)).toEqual({ url: 'pass', cors: 'pass', reachable: 'fail' });
  });

  it('without a message, POSTs a probe message when the GET is refused with 405, same-origin and cross-origin', async () => {
    server = await createSseTestServer({});
    const sameOrigin = await diagnoseEndpoint({ url: '/api/stream/message', pageUrl: `${server.origin}/` });
    expect(statusMap(sameOrigin)).toEqual({
      url: 'pass',
      cors: 'pass',
      reachable: 'pass',
      'content-type': 'pass',
      headers: 'pass',
      timing: 'pass',
      buffering: 'pass',
      events: 'pass',
      terminal: 'pass',
    });
    expect(evidence(sameOrigin, 'reachable')).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/api\/stream\/message answered 405 \(Allow: POST\), so this diagnosis POSTed the probe message \{"message":"Say hello \(streamwell doctor probe\)"\} and checked that reply: POST \S+ answered 200 after \d+ ms\.$/,
    );
    const crossOrigin = await diagnoseEndpoint({
      url: `${server.origin}/api/stream/message`,
      pageUrl: `${ALLOWED_ORIGIN}/`,
    });
    expect(crossOrigin.ok).toBe(true);
    expect(evidence(crossOrigin, 'reachable')).toContain('so this diagnosis POSTed the probe message');
  });

  it('reports a 404 as the status failure', async () => {
    server = await createSseTestServer({});
    const report = await diagnoseEndpoint({ url: '/api/nothing-here', pageUrl: `${server.origin}/` });
    expect(statusMap(report)).toEqual({ url: 'pass', cors: 'pass', reachable: 'fail' });
    expect(evidence(report, 'reachable')).toMatch(/GET .*\/api\/nothing-here answered 404/);
  });

  it('reports a stream whose model never sends a token', async () => {
    server = await createSseTestServer({ provider: silent });
    const report = await diagnoseEndpoint({
      url: '/api/stream/message',
      message: 'hi',
      pageUrl: `${server.origin}/`,
      timeoutMs: 1200,
    });
    expect(statusMap(report)).toMatchObject({ reachable: 'pass', timing: 'fail', terminal: 'warn' });
  });

  it('refuses mixed content and malformed URLs before fetching', async () => {
    const mixed = await diagnoseEndpoint({
      url: 'http://api.example.test/stream',
      pageUrl: 'https://app.example.test/',
    });
    expect(statusMap(mixed)).toEqual({ url: 'fail' });
    expect(evidence(mixed, 'url')).toContain('mixed content');
    const malformed = await diagnoseEndpoint({ url: 'http://[::1', pageUrl: 'https://app.example.test/' });
    expect(statusMap(malformed)).toEqual({ url: 'fail' });
  });
});
