/**
 * The stream endpoints on Fastify: `POST /api/stream/message`, `GET /api/streams/:id`,
 * `POST /api/streams/:id/cancel`, and the AI SDK chat endpoints `POST /api/chat`,
 * `GET /api/chat/:id/stream`, `POST /api/chat/:id/cancel`. Fastify only routes; the library's HTTP core does the rest
 * through its Node adapter, on the raw request and response (`reply.hijack()`), so the reference
 * server behaves exactly like any app that mounts `streamwell/server`.
 *
 * Requests that arrive over the server's socket take a shorter way to the same core
 * (`create-server-factory.ts`, which skips Fastify's lifecycle for these paths); these routes
 * answer `fastify.inject()` and anything else that reaches Fastify, identically.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorReply, type HttpHandler, handleNodeRequest, StreamwellError, writeNodeReply } from 'streamwell/server';
import type { AppContext } from './app-context.ts';

/**
 * Registers the stream endpoints in an encapsulated scope whose body parsing is switched off:
 * the core reads the body itself, with its own size limit, content-type rules and JSON errors.
 *
 * @param app - the Fastify instance
 * @param context - the app context
 */
export async function registerStreamRoutes(app: FastifyInstance, context: AppContext): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // Leave the body unread for the core (any type, also none: it answers 415 itself).
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));

    async function route(handler: HttpHandler, request: FastifyRequest, reply: FastifyReply): Promise<void> {
      // Fastify must not touch this response: no serializer, no compression, no onSend hooks.
      reply.hijack();
      const handled = await handleNodeRequest(handler, request.raw, reply.raw);
      if (!handled && !reply.raw.headersSent) {
        const notFound = new StreamwellError('not_found', `No route ${request.method} ${request.url}.`, {
          status: 404,
        });
        writeNodeReply(errorReply(notFound, { Vary: 'Origin' }), request.raw, reply.raw);
      }
    }

    const streamRoute = (request: FastifyRequest, reply: FastifyReply) => route(context.streams, request, reply);
    const chatRoute = (request: FastifyRequest, reply: FastifyReply) => route(context.chat, request, reply);
    scope.all('/api/stream/message', streamRoute);
    scope.all('/api/streams/*', streamRoute);
    scope.all('/api/chat', chatRoute);
    scope.all('/api/chat/*', chatRoute);
  });
}
