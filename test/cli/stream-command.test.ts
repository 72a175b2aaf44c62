/**
 * `streamwell stream`, spawned as a real process (`node --import tsx .../cli/main.ts`) against
 * loopback servers: the streamwell test server, and hand-written SSE servers for `--raw`.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Provider } from 'streamwell/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestStreamServer, type TestStreamServer } from '../client/helpers/create-test-stream-server.ts';

const MAIN = fileURLToPath(new URL('../../packages/streamwell/src/cli/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REPLY = Array.from({ length: 60 }, (_, index) => `token${index} ünïcödé 😀`).join(' ');

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `onFirstData` runs once, when the CLI's first stdout chunk arrives (to interrupt it, say);
 * `onStderr` with all of stderr so far, at each chunk.
 */
function runCli(
  args: string[],
  onFirstData?: (child: ChildProcessByStdio<null, Readable, Readable>) => void,
  onStderr?: (stderr: string, child: ChildProcessByStdio<null, Readable, Readable>) => void,
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout === '') onFirstData?.(child);
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let server: TestStreamServer | undefined;
const rawServers: Server[] = [];
afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const raw of rawServers.splice(0)) {
    raw.closeAllConnections();
    await new Promise((resolve) => raw.close(resolve));
  }
});

/** A server whose every request is answered by `handler` (raw bytes, full control). */
async function rawServer(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const raw = createServer(handler);
  rawServers.push(raw);
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
}

describe('streamwell stream -m', () => {
  it('prints only the reply text and one newline; notes go to stderr; exit 0', async () => {
    server = await createTestStreamServer({ reply: REPLY });
    const outcome = await runCli(['stream', `${server.url}/api/stream/message`, '-m', 'hello']);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toBe(`${REPLY}\n`);
    expect(outcome.stderr).toMatch(/done \(stop\): 180 tokens/);
    expect(JSON.parse(server.requests[0]?.body ?? '')).toEqual({ message: 'hello' });
  });

  it('resumes after cut connections without printing anything twice, and never re-POSTs', async () => {
    const cuts = [150, 700, 1300];
    server = await createTestStreamServer({
      reply: REPLY,
      misbehave: (index) => (index < cuts.length ? { cutAtByte: cuts[index] as number } : undefined),
    });
    const outcome = await runCli(['stream', `${server.url}/api/stream/message`, '-m', 'hello']);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toBe(`${REPLY}\n`);
    expect(outcome.stderr.match(/connection lost/g)).toHaveLength(3);
    expect(server.requests.filter((request) => request.method === 'POST')).toHaveLength(1);
    expect(server.requests.filter((request) => request.method === 'GET')).toHaveLength(3);
  });

  it('sends -H headers', async () => {
    server = await createTestStreamServer({ reply: 'ok' });
    await runCli([
      'stream',
      `${server.url}/api/stream/message`,
      '-m',
      'x',
      '-H',
      'Authorization: Bearer t0k',
      '-H',
      'X-A:b',
    ]);
    const post = server.requests[0];
    expect(post?.method).toBe('POST');
    expect(post?.headers.authorization).toBe('Bearer t0k');
    expect(post?.headers['x-a']).toBe('b');
    expect(post?.idempotencyKey).toMatch(/^[0-9a-f-]{32,36}$/i);
  });

  it('exits 1 after an error event, with the partial text and the error on stderr', async () => {
    const failing: Provider = {
      name: 'failing',
      model: 'test',
      async *stream() {
        yield { type: 'text', text: 'partial' };
        throw new Error('upstream broke');
      },
    };
    server = await createTestStreamServer({ provider: failing });
    const outcome = await runCli(['stream', `${server.url}/api/stream/message`, '-m', 'x']);
    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toBe('partial\n');
    expect(outcome.stderr).toMatch(/upstream_error/);
  });

  it("given the server's address instead of its start endpoint, names the endpoint (exit 1)", async () => {
    const url = await rawServer((request, response) => {
      // What the reference server answers for POST / (its web page takes GET and HEAD only).
      response.writeHead(405, { 'Content-Type': 'application/json', Allow: 'GET, HEAD' });
      response.end(`{"error":{"code":"method_not_allowed","message":"${request.method} is not allowed here."}}`);
    });
    const outcome = await runCli(['stream', url, '-m', 'hello']);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(/status 405: POST is not allowed here/);
    expect(outcome.stderr).toContain(`the reference server's is ${url}/api/stream/message`);
    // The right endpoint failing for another reason gets no such hint.
    const atEndpoint = await runCli(['stream', `${url}/api/stream/message`, '-m', 'hello']);
    expect(atEndpoint.code).toBe(1);
    expect(atEndpoint.stderr).not.toContain("the reference server's is");
    // The start endpoint without -m: a GET there is refused, and the command says to add -m.
    const withoutMessage = await runCli(['stream', `${url}/api/stream/message`]);
    expect(withoutMessage.code).toBe(1);
    expect(withoutMessage.stderr).toMatch(/status 405: GET is not allowed here/);
    expect(withoutMessage.stderr).toContain('add -m TEXT');
  });

  it('with no server listening, says there is no stream yet and why, and keeps trying', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const url = `http://127.0.0.1:${port}/api/stream/message`;
    const outcome = await runCli(['stream', url, '-m', 'hello'], undefined, (stderr, child) => {
      if (stderr.includes('(attempt 2)')) child.kill('SIGTERM');
    });
    expect(outcome.stderr).toContain(
      `no stream yet (POST /api/stream/message failed: fetch failed (connect ECONNREFUSED 127.0.0.1:${port}))`,
    );
    expect(outcome.stderr).toMatch(/trying again in \d+ ms \(attempt 1\)/);
    expect(outcome.stderr).not.toContain('connection lost');
    // With --no-reconnect it ends at once, with the same reason.
    const once = await runCli(['stream', url, '-m', 'hello', '--no-reconnect']);
    expect(once.code).toBe(1);
    expect(once.stderr).toContain(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('--no-reconnect: a dropped connection is an error (exit 1)', async () => {
    server = await createTestStreamServer({
      reply: REPLY,
      misbehave: (index) => (index === 0 ? { cutAtByte: 400 } : undefined),
    });
    const outcome = await runCli(['stream', `${server.url}/api/stream/message`, '-m', 'x', '--no-reconnect']);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(/--no-reconnect/);
    expect(server.requests.filter((request) => request.method === 'GET')).toHaveLength(0);
    expect(REPLY.startsWith(outcome.stdout.trimEnd())).toBe(true);
  });

  it('--json prints each protocol event as one JSON line, also across a cut', async () => {
    server = await createTestStreamServer({
      reply: REPLY,
      misbehave: (index) => (index === 0 ? { cutAtByte: 500 } : undefined),
    });
    const outcome = await runCli(['stream', `${server.url}/api/stream/message`, '-m', 'x', '--json']);
    expect(outcome.code).toBe(0);
    const events = outcome.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: number; event: string; data: { token?: string; streamId?: string } });
    expect(events[0]?.event).toBe('start');
    expect(events[0]?.data.streamId).toBe(server.lastRun()?.id);
    expect(events.at(-1)?.event).toBe('done');
    const ids = events.map((event) => event.id);
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    expect(events.map((event) => event.data.token ?? '').join('')).toBe(REPLY);
  });

  it('without -m follows an existing stream by its URL', async () => {
    server = await createTestStreamServer({ reply: REPLY });
    await runCli(['stream', `${server.url}/api/stream/message`, '-m', 'first']);
    const streamId = server.lastRun()?.id as string;
    const outcome = await runCli(['stream', `${server.url}/api/streams/${streamId}`]);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toBe(`${REPLY}\n`);
    expect(server.requests.filter((request) => request.method === 'POST')).toHaveLength(1);
  });
});

describe('streamwell stream --raw', () => {
  it('prints the WHATWG-dispatched events of a hand-written stream (BOM, CR, CRLF, comments, ids)', async () => {
    const url = await rawServer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'text/event-stream' });
      response.write('\uFEFF: hello\r\n');
      response.write('data: no id yet\r\n\r\n');
      response.write('id: 7\revent: custom\rdata: line 1\rdata: line 2\r\r');
      response.write('data: keeps id 7\n\n');
      response.write('id: 8\u0000bad\ndata: NUL id ignored\n\n');
      response.write('id\ndata: id reset\n\n');
      response.write('event: empty\n\n');
      response.write('data:  two spaces\r\n\r\n');
      response.end('data: never dispatched');
    });
    const outcome = await runCli(['stream', url, '--raw']);
    expect(outcome.code).toBe(0);
    expect(
      outcome.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { id: '', event: 'message', data: 'no id yet' },
      { id: '7', event: 'custom', data: 'line 1\nline 2' },
      { id: '7', event: 'message', data: 'keeps id 7' },
      { id: '7', event: 'message', data: 'NUL id ignored' },
      { id: '', event: 'message', data: 'id reset' },
      { id: '', event: 'message', data: ' two spaces' },
    ]);
    expect(outcome.stderr).toMatch(/ended the stream/);
  });

  it('reconnects after a network failure with Last-Event-ID and the server-given retry time', async () => {
    const seen: Array<string | undefined> = [];
    const url = await rawServer((request, response) => {
      const lastEventId = request.headers['last-event-id'] as string | undefined;
      seen.push(lastEventId);
      response.writeHead(200, { 'Content-Type': 'text/event-stream' });
      if (lastEventId === undefined) {
        // The network fails once the first events are on the wire (handed to the kernel).
        response.write('retry: 20\nid: 1\ndata: one\n\nid: 2\ndata: two\n\ndata: partial', () =>
          response.socket?.destroy(),
        );
      } else {
        response.end('id: 3\ndata: three\n\n');
      }
    });
    const outcome = await runCli(['stream', url, '--raw']);
    expect(outcome.code).toBe(0);
    expect(seen).toEqual([undefined, '2']);
    expect(
      outcome.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line).data),
    ).toEqual(['one', 'two', 'three']);
    expect(outcome.stderr).toMatch(/reconnecting in 20 ms with Last-Event-ID 2/);
  });

  it('with -m POSTs {"message"} and sends -H headers', async () => {
    let request: { method?: string | undefined; body: string; auth?: string | undefined; type?: string | undefined } = {
      body: '',
    };
    const url = await rawServer((incoming, response) => {
      let body = '';
      incoming.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      incoming.on('end', () => {
        request = {
          method: incoming.method,
          body,
          auth: incoming.headers.authorization,
          type: incoming.headers['content-type'],
        };
        response.writeHead(200, { 'Content-Type': 'text/event-stream' });
        response.end('data: ok\n\n');
      });
    });
    const outcome = await runCli(['stream', url, '--raw', '-m', 'hi there', '-H', 'Authorization: Bearer abc']);
    expect(outcome.code).toBe(0);
    expect(request).toEqual({
      method: 'POST',
      body: '{"message":"hi there"}',
      auth: 'Bearer abc',
      type: 'application/json',
    });
    expect(JSON.parse(outcome.stdout)).toEqual({ id: '', event: 'message', data: 'ok' });
  });

  it('an error status fails without reconnecting (exit 1)', async () => {
    let hits = 0;
    const url = await rawServer((_request, response) => {
      hits += 1;
      response.writeHead(500, { 'Content-Type': 'application/json' });
      response.end('{"error":{"code":"internal_error","message":"boom"}}');
    });
    const outcome = await runCli(['stream', url, '--raw']);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(/status 500: boom/);
    expect(hits).toBe(1);
  });
});

describe('streamwell command line', () => {
  it('a reader that goes away (| head) stops the stream on the server; exit 141, no stack trace', async () => {
    server = await createTestStreamServer({ reply: REPLY, tokenIntervalMs: 20 });
    // The reader of the CLI's stdout goes away after the first chunk, as `| head -c 100` does.
    const outcome = await runCli(['stream', `${server.url}/api/stream/message`, '-m', 'hello'], (child) =>
      child.stdout.destroy(),
    );
    expect(outcome.code).toBe(141);
    expect(outcome.stderr).toMatch(/stdout closed: stopping the stream on the server/);
    expect(outcome.stderr).not.toMatch(/EPIPE|\n\s+at /);
    const run = server.lastRun();
    await run?.finished;
    expect(run?.status).toBe('cancelled');
    expect(run?.tokens).toBeLessThan(180);
  });

  it('Ctrl-C stops the stream on the server before the command exits (130)', async () => {
    server = await createTestStreamServer({ reply: REPLY, tokenIntervalMs: 20 });
    const outcome = await runCli(['stream', `${server.url}/api/stream/message`, '-m', 'hello'], (child) =>
      child.kill('SIGINT'),
    );
    expect(outcome.code).toBe(130);
    expect(outcome.stderr).toMatch(/interrupted: stopping the stream on the server/);
    const run = server.lastRun();
    await run?.finished;
    expect(run?.status).toBe('cancelled');
  });

  it('usage errors exit 2; --help and --version exit 0', async () => {
    expect((await runCli(['stream'])).code).toBe(2);
    expect((await runCli(['stream', 'ftp://x', '-m', 'a'])).code).toBe(2);
    expect((await runCli(['nope'])).code).toBe(2);
    const help = await runCli(['stream', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--no-reconnect/);
    const version = await runCli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('dispatches doctor', async () => {
    const outcome = await runCli(['doctor', '--help']);
    expect(outcome.stdout + outcome.stderr).toMatch(/doctor/);
  });
});
