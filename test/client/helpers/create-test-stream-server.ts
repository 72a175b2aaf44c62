/**
 * A minimal streamwell HTTP server for client and CLI tests, on real loopback sockets:
 * `POST /api/stream/message`, `GET /api/streams/{id}` (Last-Event-ID or ?after=),
 * `POST /api/streams/{id}/cancel`, built on the library's own run registry and SSE encoder.
 *
 * It can misbehave on purpose: destroy a stream's socket at a chosen byte offset (also in the
 * middle of a frame, or before the response headers), go silent while keeping the socket open
 * (a stalled proxy), answer resumes with 404 or 503, and it records every request.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { encodeSseComment, encodeSseEvent, SSE_HEADERS, STREAM_ID_HEADER } from 'streamwell/protocol';
import {
  createDemoProvider,
  createRunRegistry,
  type LocalRunRegistry,
  type Provider,
  type Run,
  type RunAttachment,
} from 'streamwell/server';
import { SSE_EVENT_ENCODER } from '../../../packages/streamwell/src/server/http/sse-event-encoder.ts';

/** A request the server saw. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly lastEventId: string | undefined;
  readonly idempotencyKey: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** What to do with one stream response (numbered from 0 in arrival order). */
export interface StreamMisbehaviour {
  /** Destroy the socket once this many body bytes were written (0: right after the headers). */
  readonly cutAtByte?: number;
  /** Destroy the socket before sending the response headers. */
  readonly cutBeforeHeaders?: boolean;
  /** Stop writing (but keep the socket open) after this many body bytes. */
  readonly hangAtByte?: number;
  /** Answer with this status and a JSON error instead of streaming. */
  readonly status?: number;
  readonly retryAfter?: string;
}

/** Options of {@link createTestStreamServer}. */
export interface TestStreamServerOptions {
  /** The reply text (tokenized into word-sized tokens). */
  readonly reply?: string;
  readonly tokenIntervalMs?: number;
  /** Overrides the provider. */
  readonly provider?: Provider;
  /** Decides per stream response (index counts POST and GET streams together). */
  readonly misbehave?: (index: number, request: SeenRequest) => StreamMisbehaviour | undefined;
  /** Heartbeat comment interval; 0 disables. @defaultValue 0 */
  readonly heartbeatMs?: number;
  /** Adds a `retry:` field to the start of every stream. */
  readonly retryMs?: number;
}

/** A running test server. */
export interface TestStreamServer {
  readonly url: string;
  readonly requests: SeenRequest[];
  readonly registry: LocalRunRegistry;
  /** How many times the provider was asked for a reply (model calls). */
  readonly modelCalls: () => number;
  /** The last run started. */
  readonly lastRun: () => Run | undefined;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/**
 * Starts the server on 127.0.0.1, port 0.
 *
 * @param options - reply, pacing and misbehaviour
 * @returns the server
 */
export async function createTestStreamServer(options: TestStreamServerOptions = {}): Promise<TestStreamServer> {
  let modelCalls = 0;
  const base =
    options.provider ??
    createDemoProvider({
      tokenIntervalMs: options.tokenIntervalMs ?? 1,
      firstTokenDelayMs: 0,
      reply: () => options.reply ?? 'Hello from the test server.',
    });
  const provider: Provider = {
    ...base,
    stream(request) {
      modelCalls += 1;
      return base.stream(request);
    },
  };
  const registry = createRunRegistry({ provider, disconnectGraceMs: 60_000 });
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  let streamIndex = 0;
  let lastRun: Run | undefined;

  function stream(
    response: ServerResponse,
    run: Run,
    after: number | undefined,
    plan: StreamMisbehaviour | undefined,
  ): void {
    if (plan?.cutBeforeHeaders) {
      response.socket?.destroy();
      return;
    }
    response.writeHead(200, { ...SSE_HEADERS, [STREAM_ID_HEADER]: run.id });
    response.flushHeaders();
    let written = 0;
    let stopped = false;
    let attachment: RunAttachment | undefined;
    let heartbeat: ReturnType<typeof setInterval> | undefined;
    const write = (frame: string): void => {
      if (stopped) return;
      const bytes = Buffer.from(frame, 'utf8');
      const limit = plan?.cutAtByte ?? plan?.hangAtByte;
      if (limit !== undefined && written + bytes.length > limit) {
        // Write exactly up to the limit, possibly mid-frame (even mid-character).
        const part = bytes.subarray(0, Math.max(0, limit - written));
        written = limit;
        stopped = true;
        attachment?.detach();
        if (heartbeat !== undefined) clearInterval(heartbeat);
        if (part.length > 0) response.write(part);
        if (plan?.cutAtByte !== undefined) {
          // Let the partial bytes reach the client first, then kill the connection.
          setImmediate(() => response.socket?.destroy());
        }
        return;
      }
      written += bytes.length;
      response.write(bytes);
    };
    if (options.retryMs !== undefined) write(`retry: ${options.retryMs}\n\n`);
    attachment = registry.attach(run, after, {
      onEvent(event, batch) {
        write(batch.encode(SSE_EVENT_ENCODER));
        if (event.event === 'done' || event.event === 'error') finish();
      },
      onEvicted: () => finish(),
    });
    const finish = (): void => {
      if (heartbeat !== undefined) clearInterval(heartbeat);
      attachment?.detach();
      if (!stopped) response.end();
    };
    if (stopped) attachment.detach();
    for (const event of attachment.backlog) write(encodeSseEvent(event.id, event.event, event.json));
    const last = attachment.backlog.at(-1);
    if (run.status !== 'running' && (last === undefined || last.event === 'done' || last.event === 'error')) {
      finish();
      return;
    }
    if ((options.heartbeatMs ?? 0) > 0) {
      heartbeat = setInterval(() => write(encodeSseComment('heartbeat')), options.heartbeatMs);
    }
    response.on('close', () => {
      if (heartbeat !== undefined) clearInterval(heartbeat);
      attachment?.detach();
    });
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(request);
    const header = (name: string): string | undefined => {
      const value = request.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const seen: SeenRequest = {
      method: request.method ?? 'GET',
      path: url.pathname,
      lastEventId: header('last-event-id'),
      idempotencyKey: header('idempotency-key'),
      headers: request.headers,
      body,
    };
    requests.push(seen);
    const cancelMatch = /^\/api\/streams\/([^/]+)\/cancel$/.exec(url.pathname);
    const resumeMatch = /^\/api\/streams\/([^/]+)$/.exec(url.pathname);
    if (seen.method === 'POST' && url.pathname === '/api/stream/message') {
      const plan = options.misbehave?.(streamIndex++, seen);
      if (plan?.status !== undefined) {
        sendJson(
          response,
          plan.status,
          { error: { code: 'test', message: 'refused' } },
          plan.retryAfter ? { 'Retry-After': plan.retryAfter } : {},
        );
        return;
      }
      const parsed = JSON.parse(body) as { message: string; threadId?: string };
      const { run } = registry.start({
        message: parsed.message,
        threadId: parsed.threadId,
        idempotencyKey: seen.idempotencyKey,
      });
      lastRun = run;
      stream(response, run, undefined, plan);
    } else if (seen.method === 'GET' && resumeMatch !== null) {
      const plan = options.misbehave?.(streamIndex++, seen);
      if (plan?.status !== undefined) {
        sendJson(
          response,
          plan.status,
          { error: { code: 'test', message: 'refused' } },
          plan.retryAfter ? { 'Retry-After': plan.retryAfter } : {},
        );
        return;
      }
      const run = registry.get(decodeURIComponent(resumeMatch[1] as string), undefined);
      if (run === undefined) {
        sendJson(response, 404, { error: { code: 'not_found', message: 'Unknown or expired stream.' } });
        return;
      }
      const cursor = seen.lastEventId ?? url.searchParams.get('after') ?? undefined;
      const after = cursor === undefined || !/^\d+$/.test(cursor) ? undefined : Number(cursor);
      if (run.status !== 'running' && after !== undefined && after >= run.lastEventId) {
        response.writeHead(204).end();
        return;
      }
      stream(response, run, after, plan);
    } else if (seen.method === 'POST' && cancelMatch !== null) {
      const run = registry.cancel(decodeURIComponent(cancelMatch[1] as string), undefined);
      if (run === undefined) sendJson(response, 404, { error: { code: 'not_found', message: 'Unknown stream.' } });
      else sendJson(response, 200, { status: run.status });
    } else {
      sendJson(response, 404, { error: { code: 'not_found', message: 'No such route.' } });
    }
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: { code: 'internal_error', message: String(error) } });
      else response.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    registry,
    modelCalls: () => modelCalls,
    lastRun: () => lastRun,
    async close() {
      registry.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
