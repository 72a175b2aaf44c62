/**
 * Raw HTTP for the security suites: `node:http` requests (fetch will not send an arbitrary `Host`
 * and hides some headers), WebSocket upgrades answered or refused, and the list of every endpoint
 * of the reference server with a request that reaches it.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { type IncomingHttpHeaders, request } from 'node:http';

/** A complete answer. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Raw header lines as sent (names in their case), for scanning. */
  readonly rawHeaders: readonly string[];
  readonly body: string;
}

/** One request. */
export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/**
 * Sends one request on its own connection and reads the whole answer.
 *
 * @param port - the server's port on 127.0.0.1
 * @param spec - method, path, headers (`Host` included when given), body
 * @param maxBodyBytes - stop reading (and cut the connection) after this much: a safety net for
 *   a stream that would not end; callers whose answers must end assert on the body instead
 * @returns status, headers and body
 */
export function rawRequest(port: number, spec: RawRequest, maxBodyBytes = 4 * 1024 * 1024): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...spec.headers };
    if (spec.body !== undefined) headers['content-length'] = String(Buffer.byteLength(spec.body));
    const outgoing = request(
      {
        host: '127.0.0.1',
        port,
        method: spec.method,
        path: spec.path,
        headers,
        agent: false,
        setHost: !('host' in headers || 'Host' in headers),
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
          if (body.length > maxBodyBytes) response.destroy();
        });
        const done = (): void =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            rawHeaders: response.rawHeaders,
            body,
          });
        response.on('end', done);
        response.on('close', done);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(spec.body);
  });
}

/** The answer to an upgrade request: refused with a status and body, or switched (then closed). */
export interface UpgradeAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * Sends a WebSocket upgrade request to `/ws/stream` (or `path`) and reports the answer; a
 * switched connection is closed at once (status 101).
 *
 * @param port - the server's port
 * @param headers - extra headers (`Host`, `Origin`, `Authorization`, `Sec-WebSocket-Protocol`)
 * @param path - the target @defaultValue '/ws/stream'
 * @returns status, headers, body
 */
export function rawUpgrade(
  port: number,
  headers: Record<string, string> = {},
  path = '/ws/stream',
): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = request({
      host: '127.0.0.1',
      port,
      path,
      agent: false,
      setHost: !('host' in headers || 'Host' in headers),
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        'Sec-WebSocket-Protocol': 'streamwell.v1',
        ...headers,
      },
    });
    outgoing.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve({ status: response.statusCode ?? 101, headers: response.headers, body: '' });
    });
    outgoing.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** A random id shaped like a stream id (24 base64url characters): one that exists nowhere. */
export function randomStreamId(): string {
  return randomBytes(18).toString('base64url');
}

/** One endpoint and a request that reaches it (the `:id`s are random: they exist nowhere). */
export interface EndpointCase {
  /** `METHOD path` as the route table names it. */
  readonly route: string;
  readonly request: RawRequest;
  /** Whether an allowed request may stream (SSE): callers give it a provider that ends at once. */
  readonly streams?: boolean;
}

const JSON_TYPE = { 'content-type': 'application/json' };

/**
 * Every HTTP endpoint of the reference server, with a request that passes validation.
 *
 * @returns the cases (fresh random ids each call)
 */
export function endpointCases(): EndpointCase[] {
  const id = randomStreamId();
  const chatMessage = JSON.stringify({
    id: randomStreamId(),
    trigger: 'submit-message',
    messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'hi' }] }],
  });
  return [
    {
      route: 'POST /api/stream/message',
      streams: true,
      request: { method: 'POST', path: '/api/stream/message', headers: JSON_TYPE, body: '{"message":"hi"}' },
    },
    { route: 'GET /api/streams/:id', request: { method: 'GET', path: `/api/streams/${id}` } },
    { route: 'POST /api/streams/:id/cancel', request: { method: 'POST', path: `/api/streams/${id}/cancel` } },
    {
      route: 'POST /api/chat',
      streams: true,
      request: { method: 'POST', path: '/api/chat', headers: JSON_TYPE, body: chatMessage },
    },
    { route: 'GET /api/chat/:id/stream', request: { method: 'GET', path: `/api/chat/${id}/stream` } },
    { route: 'POST /api/chat/:id/cancel', request: { method: 'POST', path: `/api/chat/${id}/cancel` } },
    {
      route: 'POST /chatkit',
      request: {
        method: 'POST',
        path: '/chatkit',
        headers: JSON_TYPE,
        body: '{"type":"threads.list","params":{"limit":5,"order":"desc"}}',
      },
    },
    { route: 'POST /api/chatkit/session', request: { method: 'POST', path: '/api/chatkit/session' } },
    { route: 'GET /api/threads', request: { method: 'GET', path: '/api/threads' } },
    { route: 'GET /api/threads/:id', request: { method: 'GET', path: `/api/threads/${id}` } },
    { route: 'DELETE /api/threads/:id', request: { method: 'DELETE', path: `/api/threads/${id}` } },
    { route: 'GET /healthz', request: { method: 'GET', path: '/healthz' } },
    { route: 'GET /metrics', request: { method: 'GET', path: '/metrics' } },
    { route: 'GET /', request: { method: 'GET', path: '/' } },
    { route: 'GET /ai-sdk', request: { method: 'GET', path: '/ai-sdk' } },
  ];
}

/**
 * Parses a JSON error body.
 *
 * @param body - the answer's body
 * @returns its `error.code`, or undefined when it is not the JSON error shape
 */
export function errorCodeOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown } };
    return typeof parsed.error?.code === 'string' ? parsed.error.code : undefined;
  } catch {
    return undefined;
  }
}
