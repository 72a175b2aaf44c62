/**
 * JSON errors for Fastify's own failures (unknown routes, wrong methods, parser and client
 * errors), in the one shape every streamwell endpoint uses: `{"error": {"code", "message"}}`.
 *
 * @module
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { StreamwellError, type StreamwellErrorCode } from 'streamwell/server';

/**
 * Sends a JSON error.
 *
 * @param reply - the reply
 * @param status - HTTP status
 * @param code - stable code
 * @param message - human-readable message
 * @returns the reply
 */
export function sendError(
  reply: FastifyReply,
  status: number,
  code: StreamwellErrorCode,
  message: string,
): FastifyReply {
  return reply
    .code(status)
    .header('Content-Type', 'application/json; charset=utf-8')
    .send(new StreamwellError(code, message, { status }).toJSON());
}

/**
 * Sends `405 method_not_allowed` with `Allow`.
 *
 * @param reply - the reply
 * @param allow - the allowed methods
 * @returns the reply
 */
export function methodNotAllowed(reply: FastifyReply, allow: string): FastifyReply {
  reply.header('Allow', allow);
  return sendError(reply, 405, 'method_not_allowed', `${reply.request.method} is not allowed here; use ${allow}.`);
}

/** Maps Fastify's error codes to ours. */
function toCode(error: FastifyError): { status: number; code: StreamwellErrorCode } {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'unsupported_media_type' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'body_too_large' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, code: 'invalid_json' };
    default: {
      const status = error.statusCode ?? 500;
      return { status, code: status >= 500 ? 'internal_error' : status === 404 ? 'not_found' : 'bad_request' };
    }
  }
}

/** A whole HTTP/1.1 error answer with a JSON body, written straight to a socket. */
function rawJsonError(statusLine: string, error: StreamwellError): string {
  const body = JSON.stringify(error.toJSON());
  return (
    `HTTP/1.1 ${statusLine}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

const MALFORMED = rawJsonError('400 Bad Request', new StreamwellError('bad_request', 'Malformed HTTP request.'));

const REQUEST_TIMEOUT = rawJsonError(
  '408 Request Timeout',
  new StreamwellError(
    'request_timeout',
    'The request did not arrive in time (HEADERS_TIMEOUT_MS for its headers, REQUEST_TIMEOUT_MS for all of it).',
  ),
);

/**
 * Answers a client error on a socket with a JSON error and closes that socket; nothing else is
 * affected. Bytes that are not HTTP (the parser failed) get `400 bad_request`; headers or a body
 * that did not arrive within their timeout (slowloris) get `408 request_timeout`. Nothing is
 * written when the socket cannot take it or a response already started on it. Fastify's
 * `clientErrorHandler` option.
 *
 * @param error - the parser or timeout error
 * @param socket - the client's socket
 */
export function handleClientError(error: Error & { code?: string }, socket: Socket): void {
  const response = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || response?.headersSent === true) {
    socket.destroy();
    return;
  }
  // Node 20 reports both the headers and the request timeout as ERR_HTTP_REQUEST_TIMEOUT.
  const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || error.code === 'ERR_HTTP_HEADERS_TIMEOUT';
  socket.end(timedOut ? REQUEST_TIMEOUT : MALFORMED);
  // A dribbling client may never read our answer: do not let it hold the socket open.
  socket.setTimeout(1000, () => socket.destroy());
}

/**
 * Answers the errors Fastify raises before any route or hook runs (a path whose percent-encoding
 * does not decode, `FST_ERR_BAD_URL`) in the shape every endpoint uses; Fastify's default is its
 * own `{"error","code":"FST_ERR_BAD_URL","statusCode"}` body (found by the hostile-input fuzz
 * suite). Fastify's `frameworkErrors` option.
 *
 * @param error - Fastify's error
 * @param _request - the request
 * @param reply - the reply
 * @returns the reply
 */
export function handleFrameworkError(error: FastifyError, _request: unknown, reply: FastifyReply): FastifyReply {
  if (error.code === 'FST_ERR_BAD_URL') {
    return sendError(
      reply,
      400,
      'bad_request',
      'The request path is not a valid URL (its percent-encoding does not decode).',
    );
  }
  const { status, code } = toCode(error);
  if (status >= 500) reply.log.error({ err: error }, 'request failed');
  return sendError(reply, status, code, status >= 500 ? 'The server failed to handle the request.' : error.message);
}

/**
 * Installs the error and not-found handlers.
 *
 * @param app - the Fastify instance
 * @param knownPaths - paths that exist for some method (a wrong method there is 405, not 404)
 */
export function installErrorHandlers(app: FastifyInstance, knownPaths: ReadonlyMap<string, string>): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, code } = toCode(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    const message = status >= 500 ? 'The server failed to handle the request.' : error.message;
    return sendError(reply, status, code, message);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0] ?? '/';
    const allow = knownPaths.get(path);
    if (allow !== undefined) return methodNotAllowed(reply, allow);
    return sendError(reply, 404, 'not_found', `No route ${request.method} ${path}.`);
  });
}
