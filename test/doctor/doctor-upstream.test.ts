/**
 * `streamwell doctor --upstream URL` against the guide's backend as a real Python process, alone
 * and behind the reference server (`STREAMWELL_PROVIDER=sse`): the guide's backend checklist
 * run on the upstream directly, and the verdict on which side of the gateway a fault is on.
 */
import { describe, expect, it } from 'vitest';
import type { ServerConfig } from '../../apps/server/src/config.ts';
import { runDoctorCommand } from '../../packages/streamwell/src/cli/doctor/index.ts';
import { runDoctor } from '../../packages/streamwell/src/cli/doctor/run-doctor.ts';
import type { DiagnosisReport } from '../../packages/streamwell/src/client/diagnose/check-result.ts';
import { type PythonUpstream, pythonPart, usePythonBackend } from '../helpers/python-upstream.ts';

const python = pythonPart();

let upstream: PythonUpstream;
let backend: ReturnType<typeof usePythonBackend>;

function statusMap(report: DiagnosisReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((check) => [check.id, check.status]));
}

function check(report: DiagnosisReport, id: string) {
  const found = report.checks.find((entry) => entry.id === id);
  if (found === undefined) throw new Error(`no check ${id} in ${JSON.stringify(statusMap(report))}`);
  return found;
}

async function gateway(upstreamUrl: string, config: Partial<ServerConfig> = {}): Promise<string> {
  const server = await backend.gateway(upstreamUrl, config);
  return `${server.url}/api/stream/message`;
}

const doctorUpstream = (path: string, env: Record<string, string> = {}) =>
  runDoctor({ upstream: `${upstream.origin}${path}`, timeoutMs: 10_000, env });

describe.skipIf(!python.available)("streamwell doctor --upstream: the guide's backend, directly", () => {
  backend = usePythonBackend((started) => {
    upstream = started;
  });

  it("passes the guide's backend and sends it what the gateway sends", async () => {
    const report = await doctorUpstream('/api/stream/message?tokens=60&delay=0.01', {
      UPSTREAM_HEADERS: 'Authorization: Bearer upstream-key',
    });
    expect(statusMap(report)).toEqual({
      'upstream-reachable': 'pass',
      'upstream-content-type': 'pass',
      'upstream-timing': 'pass',
      'upstream-frames': 'pass',
      'upstream-buffering': 'pass',
      'upstream-end': 'pass',
      'fault-side': 'pass',
    });
    expect(report.ok).toBe(true);
    expect(check(report, 'upstream-frames').evidence).toMatch(/61 events: 60 tokens, 1 checkpoint \(skipped/);
    expect(check(report, 'fault-side').evidence).toMatch(
      /If the browser still sees a fault, it is on the gateway side/,
    );
    const [request] = upstream.requestsFor('Say hello');
    expect(request?.headers).toMatchObject({
      authorization: 'Bearer upstream-key',
      'content-type': 'application/json',
    });
  });

  it('reads the short form {"t"}', async () => {
    const report = await doctorUpstream('/short?tokens=8');
    expect(report.ok).toBe(true);
    expect(check(report, 'upstream-frames').evidence).toMatch(/8 tokens \(8 in the short form \{"t"\}\)/);
  });

  it.each([
    ['/get-only', 'upstream-reachable', /answered 405 Method Not Allowed to POST \(it allows GET\)/],
    ['/behind-proxy', 'upstream-reachable', /with an HTML page \("502 Bad Gateway"\): a proxy/],
    ['/json', 'upstream-content-type', /with one JSON body .* instead of an event stream/],
    [
      '/api/stream/message?tokens=5&fail_after=0',
      'upstream-timing',
      /reported an error before any token: "Response timeout"/,
    ],
    ['/api/stream/message?tokens=9&cut_after=3', 'upstream-end', /cut after 3 tokens, before the end of the body/],
  ])('%s: fails %s and puts the fault on the upstream side', async (path, id, evidence) => {
    const report = await doctorUpstream(path);
    expect(report.ok).toBe(false);
    expect(check(report, id)).toMatchObject({ status: 'fail', evidence: expect.stringMatching(evidence) });
    expect(check(report, id).fix).not.toBe('');
    expect(check(report, 'fault-side')).toMatchObject({
      status: 'fail',
      evidence: expect.stringMatching(/^Upstream side: called directly, .* fails .*upstream-/),
    });
  });

  it("a backend slower than the gateway's FIRST_TOKEN_TIMEOUT_MS fails upstream-timing", async () => {
    const report = await doctorUpstream('/api/stream/message?tokens=3&first=1.2', { FIRST_TOKEN_TIMEOUT_MS: '500' });
    expect(check(report, 'upstream-timing')).toMatchObject({
      status: 'fail',
      evidence: expect.stringMatching(/later than the gateway's FIRST_TOKEN_TIMEOUT_MS/),
    });
  });

  it('behind a healthy gateway: neither side fails', async () => {
    const upstreamUrl = `${upstream.origin}/api/stream/message?tokens=30&delay=0.01`;
    const report = await runDoctor({
      url: await gateway(upstreamUrl),
      message: 'both sides',
      upstream: upstreamUrl,
      timeoutMs: 10_000,
      env: {},
    });
    expect(check(report, 'reachable').status).toBe('pass');
    expect(check(report, 'events').status).toBe('pass');
    expect(check(report, 'fault-side')).toMatchObject({
      status: 'pass',
      evidence: expect.stringMatching(/^Neither side fails/),
    });
  });

  it('a gateway that reaches a different upstream: the fault is on the gateway side, and the doctor says what to check', async () => {
    const upstreamUrl = `${upstream.origin}/api/stream/message?tokens=10`;
    const report = await runDoctor({
      url: await gateway('http://127.0.0.1:1/api/stream/message'),
      message: 'wrong upstream',
      upstream: upstreamUrl,
      timeoutMs: 10_000,
      env: {},
    });
    expect(check(report, 'upstream-frames').status).toBe('pass');
    expect(check(report, 'fault-side')).toMatchObject({
      status: 'fail',
      evidence: expect.stringMatching(
        /^Gateway side: the upstream streams correctly .* Yet the gateway's stream ended with upstream_error: .* Check that its UPSTREAM_URL is/,
      ),
    });
  });

  it('a gateway that refuses the page origin: the fault is on the gateway side', async () => {
    const upstreamUrl = `${upstream.origin}/api/stream/message?tokens=5`;
    const report = await runDoctor({
      url: await gateway(upstreamUrl),
      message: 'cors',
      origin: 'https://not-allowed.example',
      upstream: upstreamUrl,
      timeoutMs: 10_000,
      env: {},
    });
    expect(check(report, 'reachable').status).toBe('fail');
    expect(check(report, 'fault-side').evidence).toMatch(/^Gateway side: .* fails reachable/);
  });

  it('--provider with STREAMWELL_PROVIDER=sse streams a real reply through the provider', async () => {
    const report = await runDoctor({
      provider: true,
      timeoutMs: 10_000,
      env: { STREAMWELL_PROVIDER: 'sse', UPSTREAM_URL: `${upstream.origin}/short?tokens=6&delay=0.01` },
    });
    expect(statusMap(report)).toEqual({ 'provider-stream': 'pass' });
    expect(check(report, 'provider-stream').evidence).toMatch(/^sse provider, model upstream: /);
  });

  it('the CLI: --upstream alone, --json, exit code 1 on an upstream fault', async () => {
    let stdout = '';
    const io = { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: () => true }, env: {} };
    const code = await runDoctorCommand(['--upstream', `${upstream.origin}/get-only`, '--json', '-q'], io);
    expect(code).toBe(1);
    const parsed = JSON.parse(stdout) as DiagnosisReport;
    expect(parsed.ok).toBe(false);
    expect(parsed.checks.map((entry) => entry.id)).toEqual(['upstream-reachable', 'fault-side']);
  });
});
