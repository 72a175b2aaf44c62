/**
 * `streamwell doctor` against event streams that were not written with streamwell: an
 * OpenAI-compatible Chat Completions stream, the troubleshooting guide's own FastAPI-style backend,
 * and plain GET EventSource feeds. streamwell-specific checks must degrade to clear warnings, and
 * real faults (a silent close, ignored Last-Event-ID) must still be caught.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runDoctor } from '../../packages/streamwell/src/cli/doctor/run-doctor.ts';
import type { DiagnosisReport } from '../../packages/streamwell/src/client/diagnose/check-result.ts';

type Handler = (request: http.IncomingMessage, response: http.ServerResponse) => void;

let server: http.Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

async function serve(handler: Handler): Promise<string> {
  server = http.createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Writes `frames` one every `intervalMs`, then ends. */
function paced(response: http.ServerResponse, frames: readonly string[], intervalMs: number): void {
  let index = 0;
  const timer = setInterval(() => {
    if (index === frames.length) {
      clearInterval(timer);
      response.end();
      return;
    }
    response.write(frames[index]);
    index += 1;
  }, intervalMs);
  response.on('close', () => clearInterval(timer));
}

function statusMap(report: DiagnosisReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((check) => [check.id, check.status]));
}

function evidence(report: DiagnosisReport, id: string): string {
  return report.checks.find((check) => check.id === id)?.evidence ?? '';
}

const WORDS = ['The', ' quick', ' brown', ' fox', ' jumps', ' over', ' the', ' lazy', ' dog'];

describe('streamwell doctor against other servers', () => {
  it('reads an OpenAI-compatible Chat Completions stream (choices[0].delta.content, [DONE])', async () => {
    const origin = await serve((request, response) => {
      request.resume();
      response.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      const chunks = WORDS.map(
        (word) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: word } }] })}\n\n`,
      );
      paced(
        response,
        [
          ...chunks,
          `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
          'data: [DONE]\n\n',
        ],
        25,
      );
    });
    const report = await runDoctor({
      url: `${origin}/v1/chat/completions`,
      data: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      timeoutMs: 5000,
    });
    expect(statusMap(report)).toEqual({
      reachable: 'pass',
      'content-type': 'pass',
      headers: 'pass',
      timing: 'pass',
      buffering: 'pass',
      events: 'pass',
      resume: 'warn',
      heartbeats: 'warn',
      terminal: 'pass',
      cors: 'warn',
    });
    expect(evidence(report, 'timing')).toMatch(/first token \d+ ms; 9 tokens/);
    expect(evidence(report, 'terminal')).toContain('Ended with data: [DONE]');
    expect(evidence(report, 'resume')).toContain('None of the 11 events carries an id');
    expect(evidence(report, 'cors')).toContain('no --origin given');
  });

  it("catches the guide's FastAPI backend: no terminal event, no Cache-Control", async () => {
    const origin = await serve((request, response) => {
      request.resume();
      // StreamingResponse(event_generator(), media_type="text/event-stream"), no extra headers.
      response.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8' });
      paced(
        response,
        WORDS.map((word) => `data: ${JSON.stringify({ token: word })}\n\n`),
        25,
      );
    });
    const report = await runDoctor({ url: `${origin}/api/stream/message`, message: 'test', timeoutMs: 5000 });
    expect(statusMap(report)).toEqual({
      reachable: 'pass',
      'content-type': 'pass',
      headers: 'warn',
      timing: 'pass',
      buffering: 'pass',
      events: 'pass',
      resume: 'warn',
      heartbeats: 'warn',
      terminal: 'fail',
      cors: 'warn',
    });
    expect(evidence(report, 'headers')).toContain('Cache-Control lacks no-cache');
    expect(evidence(report, 'resume')).toContain('None of the 9 events carries an id');
  });

  it("without -m, POSTs a probe message to the guide's POST-only endpoint after its 405, and diagnoses the reply", async () => {
    const requests: string[] = [];
    const origin = await serve((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += String(chunk);
      });
      request.on('end', () => {
        requests.push(`${request.method} ${body}`);
        if (request.method !== 'POST') {
          // What FastAPI (Starlette) answers for a GET on an @app.post route.
          response.writeHead(405, { 'Content-Type': 'application/json', Allow: 'POST' });
          response.end('{"detail":"Method Not Allowed"}');
          return;
        }
        response.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8' });
        paced(
          response,
          WORDS.map((word) => `data: ${JSON.stringify({ token: word })}\n\n`),
          25,
        );
      });
    });
    const url = `${origin}/api/stream/message`;
    const report = await runDoctor({ url, timeoutMs: 5000 });
    // The GET, the probe, then only the CORS check's preflights.
    expect(requests.slice(0, 2)).toEqual(['GET ', 'POST {"message":"Say hello (streamwell doctor probe)"}']);
    expect(requests.slice(2).every((line) => line.startsWith('OPTIONS'))).toBe(true);
    // The same verdicts as with -m: the guide's real faults are found, not "reachable: fail".
    expect(statusMap(report)).toEqual({
      reachable: 'pass',
      'content-type': 'pass',
      headers: 'warn',
      timing: 'pass',
      buffering: 'pass',
      events: 'pass',
      resume: 'warn',
      heartbeats: 'warn',
      terminal: 'fail',
      cors: 'warn',
    });
    expect(evidence(report, 'reachable')).toMatch(
      /^GET \S+ answered 405 \(Allow: POST\), so this diagnosis POSTed the probe message .* POST \S+ answered 200 after/,
    );
    expect(evidence(report, 'resume')).toContain('None of the 9 events carries an id');
  });

  it('resumes a GET EventSource feed on its own URL with Last-Event-ID', async () => {
    const frames = WORDS.map(
      (word, index) => `id: ${index + 1}\nevent: token\ndata: ${JSON.stringify({ token: word })}\n\n`,
    );
    frames.push(`id: ${WORDS.length + 1}\nevent: done\ndata: {"finishReason":"stop"}\n\n`);
    const origin = await serve((request, response) => {
      const after = Number(request.headers['last-event-id'] ?? 0);
      response.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache',
        'X-Accel-Buffering': 'no',
      });
      response.write(': hello\n\n');
      paced(response, [...frames.slice(after).flatMap((frame) => [frame, ': ping\n\n'])], 15);
    });
    const report = await runDoctor({ url: `${origin}/events`, timeoutMs: 5000 });
    expect(statusMap(report)).toEqual({
      reachable: 'pass',
      'content-type': 'pass',
      headers: 'pass',
      timing: 'pass',
      buffering: 'pass',
      events: 'pass',
      resume: 'pass',
      heartbeats: 'pass',
      terminal: 'pass',
      cors: 'warn',
    });
    expect(evidence(report, 'resume')).toMatch(
      /GET http:\/\/127\.0\.0\.1:\d+\/events with Last-Event-ID: \d+ replayed exactly the \d+ events after it/,
    );
  });

  it('fails resume for a feed that ignores Last-Event-ID and starts over', async () => {
    const frames = WORDS.map(
      (word, index) => `id: ${index + 1}\nevent: token\ndata: ${JSON.stringify({ token: word })}\n\n`,
    );
    frames.push(`id: ${WORDS.length + 1}\nevent: done\ndata: {"finishReason":"stop"}\n\n`);
    const origin = await serve((_request, response) => {
      response.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache',
        'X-Accel-Buffering': 'no',
      });
      response.write(': hello\n\n');
      paced(response, frames, 15);
    });
    const report = await runDoctor({ url: `${origin}/events`, timeoutMs: 5000 });
    expect(statusMap(report)).toMatchObject({ resume: 'fail', events: 'pass', terminal: 'pass', timing: 'pass' });
    expect(evidence(report, 'resume')).toContain('the server ignores Last-Event-ID');
  });
});
