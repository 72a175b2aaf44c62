/**
 * The `streamwell doctor` command as a user runs it: a separate process, `--json` shape, the
 * human report without colour when not on a TTY, progress on stderr, and exit codes.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ALLOWED_ORIGIN, createSseTestServer, type SseTestServer } from './helpers/create-sse-test-server.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const mainEntry = fileURLToPath(new URL('../../packages/streamwell/src/cli/main.ts', import.meta.url));
const doctorEntry = fileURLToPath(new URL('../../packages/streamwell/src/cli/doctor/index.ts', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `streamwell doctor ...` from the sources (the CLI entry when present, else the doctor module). */
function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const command = existsSync(mainEntry)
    ? ['--import', 'tsx', mainEntry, 'doctor', ...args]
    : [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { runDoctorCommand } = await import(${JSON.stringify(doctorEntry)}); process.exitCode = await runDoctorCommand(process.argv.slice(1));`,
        ...args,
      ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, command, {
      cwd: root,
      env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
    });
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let server: SseTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('streamwell doctor (CLI)', () => {
  it('prints exactly {"ok","checks":[{id,title,status,evidence,fix}]} with --json and exits 0 when nothing fails', async () => {
    server = await createSseTestServer({});
    const run = await runCli([
      `${server.origin}/api/stream/message`,
      '-m',
      'hello',
      '--origin',
      ALLOWED_ORIGIN,
      '--json',
    ]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0] as string) as { ok: boolean; checks: Record<string, unknown>[] };
    expect(Object.keys(report)).toEqual(['ok', 'checks']);
    expect(report.ok).toBe(true);
    expect(report.checks.length).toBe(10);
    for (const check of report.checks) {
      expect(Object.keys(check)).toEqual(['id', 'title', 'status', 'evidence', 'fix']);
      expect(check.status).toBe('pass');
    }
    // Progress goes to stderr as plain lines when stderr is not a terminal.
    expect(run.stderr).toMatch(/^doctor: POST http:\/\/127\.0\.0\.1:\d+\/api\/stream\/message$/m);
  });

  it('without -m, POSTs a probe after the GET is refused with 405: --json, --origin and --ws all pass, the report names the probe', async () => {
    server = await createSseTestServer({});
    const url = `${server.origin}/api/stream/message`;
    const ws = `${server.origin.replace('http:', 'ws:')}/ws/stream`;
    const json = await runCli([url, '--origin', ALLOWED_ORIGIN, '--ws', ws, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as {
      ok: boolean;
      checks: { id: string; status: string; evidence: string }[];
    };
    expect(Object.keys(report)).toEqual(['ok', 'checks']);
    expect(report.checks.map((check) => `${check.id}:${check.status}`)).toEqual(
      [
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
      ].map((id) => `${id}:pass`),
    );
    expect(report.checks[0]?.evidence).toContain(
      `GET ${url} answered 405 (Allow: POST), so this diagnosis POSTed the probe message`,
    );
    expect(json.stderr).toMatch(/^doctor: GET \S+\ndoctor: POST \S+$/m);
    const text = await runCli([url, '--origin', ALLOWED_ORIGIN, '-q']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`POST ${url} (probe message: GET answered 405)`);
  });

  it('prints a readable report without colour off a TTY and exits 1 when a check fails', async () => {
    server = await createSseTestServer({ contentType: 'text/html' });
    const run = await runCli([`${server.origin}/api/stream/message`, '-m', 'hello', '--origin', ALLOWED_ORIGIN]);
    expect(run.code).toBe(1);
    expect(run.stdout).not.toContain('\u001b[');
    expect(run.stdout).toMatch(/^FAIL {2}Content-Type is text\/event-stream \[content-type\]$/m);
    expect(run.stdout).toContain('Fix: Send `Content-Type: text/event-stream`');
    expect(run.stdout).toMatch(/^STATUS {2}CHECK/m);
    expect(run.stdout).toMatch(/10 checks: 9 pass, 0 warn, 1 fail\. PROBLEMS FOUND/);
  });

  it('colours the report only when forced, never with NO_COLOR', async () => {
    server = await createSseTestServer({});
    const url = `${server.origin}/api/stream/message`;
    const forced = await runCli([url, '-m', 'hi', '--origin', ALLOWED_ORIGIN, '-q'], { FORCE_COLOR: '1' });
    expect(forced.stdout).toContain('\u001b[32m');
    expect(forced.stderr).toBe('');
    const off = await runCli([url, '-m', 'hi', '--origin', ALLOWED_ORIGIN, '-q'], { FORCE_COLOR: '1', NO_COLOR: '1' });
    expect(off.stdout).not.toContain('\u001b[');
  });

  it('exits 2 with the usage on a bad argument', async () => {
    const run = await runCli(['not-a-url']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('The URL is not an absolute URL');
    expect(run.stderr).toContain('Usage: streamwell doctor <url>');
  });
});
