/**
 * A streamwell-style SSE server on loopback, built from the library's run registry, whose every
 * part can be broken on purpose: the content type, CORS, heartbeats, the terminal event, the
 * WebSocket endpoint. With no options it is correct, and the doctor must pass it.
 *
 * @module
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeSseComment, encodeSseEvent, isTerminalEventName, SSE_HEADERS } from 'streamwell/protocol';
import {
  createDemoProvider,
  createRunRegistry,
  type LocalRunRegistry,
  type Provider,
  type RunEvent,
} from 'streamwell/server';
import { WebSocketServer } from 'ws';

/** Ways to break the server. */
export interface SseTestServerOptions {
  /** Content-Type of the stream. @defaultValue SSE_HEADERS' */
  readonly contentType?: string;
  /** `allowlist` (correct), `none` (no CORS at all), `wildcard-credentials` (`*` with credentials). */
  readonly cors?: 'allowlist' | 'none' | 'wildcard-credentials';
  readonly allowedOrigins?: readonly string[];
  /** Comment heartbeat when idle this long; 0 sends none. @defaultValue 100 */
  readonly heartbeatMs?: number;
  /** The model. @defaultValue a demo model: first token after 400 ms, 20 tokens 30 ms apart */
  readonly provider?: Provider;
  /** End the response right before the terminal event (a silent close). */
  readonly dropTerminal?: boolean;
  /** Serve the WebSocket transport at /ws/stream. @defaultValue true */
  readonly websocket?: boolean;
}

/** A running test server. */
export interface SseTestServer {
  /** e.g. http://127.0.0.1:PORT */
  readonly origin: string;
  readonly registry: LocalRunRegistry;
  close(): Promise<void>;
}

/** The default test reply: 20 tokens. */
export const TEST_REPLY = Array.from({ length: 20 }, (_, index) => `word${index + 1}`).join(' ');

/** The origin the correct server allows. */
export const ALLOWED_ORIGIN = 'http://app.example.test';

function corsHeaders(options: SseTestServerOptions, origin: string | undefined): Record<string, string> {
  const mode = options.cors ?? 'allowlist';
  if (mode === 'none') return {};
  if (mode === 'wildcard-credentials') {
    return {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Credentials': 'true',
      'Access-Control-Expose-Headers': 'X-Stream-Id',
    };
  }
  const allowed = options.allowedOrigins ?? [ALLOWED_ORIGIN];
  if (origin === undefined || !allowed.includes(origin)) return { Vary: 'Origin' };
  return {
    Vary: 'Origin',
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Credentials': 'true',
    'Access-Control-Expose-Headers': 'X-Stream-Id',
  };
}

function preflight(options: SseTestServerOptions, request: http.IncomingMessage, response: http.ServerResponse): void {
  const mode = options.cors ?? 'allowlist';
  if (mode === 'none') {
    response
      .writeHead(404, { 'Content-Type': 'application/json' })
      .end('{"error":{"code":"not_found","message":"Not found"}}');
    return;
  }
  const headers = corsHeaders(options, request.headers.origin);
  if (headers['Access-Control-Allow-Origin'] !== undefined) {
    headers['Access-Control-Allow-Methods'] = 'GET, POST, OPTIONS';
    headers['Access-Control-Allow-Headers'] =
      mode === 'wildcard-credentials' ? '*' : 'Content-Type, Authorization, Last-Event-ID, Idempotency-Key';
  }
  response.writeHead(204, headers).end();
}

function streamRun(
  options: SseTestServerOptions,
  registry: LocalRunRegistry,
  runId: string,
  after: number | undefined,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): void {
  const run = registry.get(runId, undefined);
  if (run === undefined) {
    response
      .writeHead(404, { 'Content-Type': 'application/json' })
      .end('{"error":{"code":"not_found","message":"Unknown stream"}}');
    return;
  }
  if (after !== undefined && run.status !== 'running' && after >= run.lastEventId) {
    response.writeHead(204, corsHeaders(options, request.headers.origin)).end();
    return;
  }
  response.writeHead(200, {
    ...SSE_HEADERS,
    ...(options.contentType === undefined ? {} : { 'Content-Type': options.contentType }),
    'X-Stream-Id': run.id,
    ...corsHeaders(options, request.headers.origin),
  });
  let lastWrite = performance.now();
  let heartbeat: NodeJS.Timeout | undefined;
  const finish = (): void => {
    if (heartbeat !== undefined) clearInterval(heartbeat);
    attachment.detach();
    response.end();
  };
  const write = (event: RunEvent, frame: string): void => {
    if (isTerminalEventName(event.event) && options.dropTerminal === true) {
      finish();
      return;
    }
    response.write(frame);
    lastWrite = performance.now();
    if (isTerminalEventName(event.event)) finish();
  };
  const attachment = registry.attach(run, after, {
    onEvent: (event) => write(event, encodeSseEvent(event.id, event.event, event.json)),
    onEvicted: finish,
  });
  for (const event of attachment.backlog) {
    if (response.writableEnded) break;
    write(event, encodeSseEvent(event.id, event.event, event.json));
  }
  const heartbeatMs = options.heartbeatMs ?? 100;
  if (!response.writableEnded && heartbeatMs > 0) {
    heartbeat = setInterval(() => {
      if (performance.now() - lastWrite >= heartbeatMs - 5) {
        response.write(encodeSseComment('ping'));
        lastWrite = performance.now();
      }
    }, heartbeatMs / 2);
  }
  response.on('close', () => {
    if (heartbeat !== undefined) clearInterval(heartbeat);
    attachment.detach();
  });
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of request) body += String(chunk);
  return body;
}

function serveWebSocket(server: http.Server, registry: LocalRunRegistry): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (request, socket, head) => {
    if (request.url !== '/ws/stream') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      ws.on('message', (raw) => {
        const message = JSON.parse(String(raw)) as { type: string; streamId: string; after: number };
        if (message.type !== 'resume') return;
        const run = registry.get(message.streamId, undefined);
        if (run === undefined) return;
        const send = (event: RunEvent): void => {
          ws.send(JSON.stringify({ streamId: run.id, id: event.id, event: event.event, data: JSON.parse(event.json) }));
        };
        const attachment = registry.attach(run, message.after, { onEvent: send });
        for (const event of attachment.backlog) send(event);
        ws.on('close', () => attachment.detach());
      });
    });
  });
  return wss;
}

/**
 * Starts the server on 127.0.0.1, port 0.
 *
 * @param options - what to break
 * @returns the running server
 */
export async function createSseTestServer(options: SseTestServerOptions = {}): Promise<SseTestServer> {
  const provider =
    options.provider ?? createDemoProvider({ firstTokenDelayMs: 400, tokenIntervalMs: 30, reply: () => TEST_REPLY });
  const registry = createRunRegistry({ provider, disconnectGraceMs: 5000 });
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method === 'OPTIONS') {
      preflight(options, request, response);
      return;
    }
    if (request.method === 'POST' && url.pathname === '/api/stream/message') {
      void readBody(request).then((body) => {
        const { message } = JSON.parse(body) as { message: string };
        const { run } = registry.start({ message });
        streamRun(options, registry, run.id, undefined, request, response);
      });
      return;
    }
    if (url.pathname === '/api/stream/message') {
      // POST-only, as streamwell's and the guide's endpoints are: another method is 405 with Allow.
      response
        .writeHead(405, {
          'Content-Type': 'application/json',
          Allow: 'POST',
          ...corsHeaders(options, request.headers.origin),
        })
        .end('{"error":{"code":"method_not_allowed","message":"Use POST"}}');
      return;
    }
    const resume = /^\/api\/streams\/([^/]+)$/.exec(url.pathname);
    if (request.method === 'GET' && resume !== null) {
      const header = request.headers['last-event-id'];
      const cursor = typeof header === 'string' ? header : (url.searchParams.get('after') ?? undefined);
      streamRun(
        options,
        registry,
        decodeURIComponent(resume[1] as string),
        cursor === undefined ? undefined : Number(cursor),
        request,
        response,
      );
      return;
    }
    response
      .writeHead(404, { 'Content-Type': 'application/json' })
      .end('{"error":{"code":"not_found","message":"Not found"}}');
  });
  const wss = options.websocket === false ? undefined : serveWebSocket(server, registry);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    registry,
    async close() {
      registry.close();
      wss?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
