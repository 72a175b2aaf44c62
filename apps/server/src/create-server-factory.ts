/**
 * The reference server's HTTP server, built for Fastify (`serverFactory`): requests to the stream
 * endpoints and to the ChatKit backend go straight to the library's HTTP cores, everything else
 * to Fastify.
 *
 * Why: the stream endpoints never used Fastify for more than routing (`stream-routes.ts` hijacks
 * the reply and hands the raw request to the core, which does its own CORS, auth, body limits and
 * JSON errors). Fastify's request lifecycle in front of it (router, hooks, content-type parsing,
 * reply objects) was ~0.2 ms of the time to first token on the benchmark's VM and a share of the
 * CPU per stream (docs/benchmarks.md, finding 9). The Fastify routes stay registered, so
 * `fastify.inject()` and any request that reaches Fastify behave the same.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { errorReply, type HttpHandler, handleNodeRequest, writeNodeReply } from 'streamwell/server';
import type { AppContext } from './app-context.ts';
import { CHATKIT_PATH } from './create-chatkit-backend.ts';

/**
 * True for the paths of the stream endpoints (`POST /api/stream/message`, `/api/streams/...`).
 *
 * @param url - the request target
 * @returns whether the core should answer it
 */
export function isStreamPath(url: string | undefined): boolean {
  if (url === undefined) return false;
  return url.startsWith('/api/streams/') || url === '/api/stream/message' || url.startsWith('/api/stream/message?');
}

/**
 * True for the paths of the AI SDK chat endpoints (`/api/chat`, `/api/chat/...`).
 *
 * @param url - the request target
 * @returns whether the chat handler should answer it
 */
export function isChatPath(url: string | undefined): boolean {
  return hasPrefix(url, '/api/chat');
}

/**
 * True for the paths of the ChatKit backend (`/chatkit`, `/chatkit/...`).
 *
 * @param url - the request target
 * @returns whether the ChatKit core should answer it
 */
export function isChatKitPath(url: string | undefined): boolean {
  return hasPrefix(url, CHATKIT_PATH);
}

/** True for `prefix` itself, with a query, or anything below it. */
function hasPrefix(url: string | undefined, prefix: string): boolean {
  if (url === undefined || !url.startsWith(prefix)) return false;
  const next = url.charAt(prefix.length);
  return next === '' || next === '/' || next === '?';
}

/** The server settings Fastify resolves (defaults applied) and passes to its `serverFactory`. */
interface FastifyServerOptions {
  readonly keepAliveTimeout?: number;
  readonly requestTimeout?: number;
  readonly connectionTimeout?: number;
}

/**
 * Creates the `serverFactory` for Fastify.
 *
 * @param context - the app context (the stream core, log)
 * @returns the factory
 */
export function createServerFactory(
  context: AppContext,
): (
  fastifyHandler: (request: IncomingMessage, response: ServerResponse) => void,
  options: FastifyServerOptions,
) => Server {
  const { headersTimeoutMs, requestTimeoutMs } = context.config;
  return (fastifyHandler, options) => {
    // Node checks its header and request timeouts every `connectionsCheckingInterval` (30 s by
    // default, which let a 30 s timeout fire after up to 60 s): check often enough that each
    // fires within a quarter of its length (at most 1 s late). Only connections in the middle of
    // receiving a request are checked, so open streams cost nothing here.
    const connectionsCheckingInterval = Math.max(50, Math.min(1000, Math.floor(headersTimeoutMs / 4)));
    // Node checks headersTimeout <= requestTimeout on creation: both go in together.
    const requestTimeout = options.requestTimeout ?? requestTimeoutMs;
    const server = createServer(
      { headersTimeout: headersTimeoutMs, requestTimeout, connectionsCheckingInterval },
      (request, response) => {
        if (isStreamPath(request.url)) serveStream(context.streams, context, request, response, fastifyHandler);
        else if (isChatPath(request.url)) serveStream(context.chat, context, request, response, fastifyHandler);
        else if (isChatKitPath(request.url)) serveStream(context.chatkit, context, request, response, fastifyHandler);
        else fastifyHandler(request, response);
      },
    );
    // Fastify sets these on a server it creates itself, not on one from a factory; it passes its
    // resolved values (its own defaults included) for the factory to apply (`requestTimeout` above).
    if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
    if (options.connectionTimeout !== undefined) server.setTimeout(options.connectionTimeout);
    // Every other cap counts requests or streams; this one counts sockets, so that a flood of
    // connections that never finish a request cannot use up the file descriptors before the
    // header timeout closes them. Past it Node closes new connections at accept ('drop'): no
    // answer is cheaper than any answer, and a real client retries.
    server.maxConnections = context.config.maxTcpConnections;
    server.on('drop', () => context.metrics.connectionRefused('tcp', 'max_tcp_connections'));
    return server;
  };
}

function serveStream(
  handler: HttpHandler,
  context: AppContext,
  request: IncomingMessage,
  response: ServerResponse,
  fastifyHandler: (request: IncomingMessage, response: ServerResponse) => void,
): void {
  handleNodeRequest(handler, request, response).then(
    (handled) => {
      // Under the prefix but no endpoint of the core (e.g. `/api/streams/`): Fastify's 404.
      if (!handled) fastifyHandler(request, response);
    },
    (error: unknown) => {
      // The core answers every expected failure itself; this is a bug, and one request's only.
      context.log.error({ err: error, url: request.url }, 'stream request failed');
      if (response.headersSent) response.destroy();
      else writeNodeReply(errorReply(error, { Vary: 'Origin' }), request, response);
    },
  );
}
