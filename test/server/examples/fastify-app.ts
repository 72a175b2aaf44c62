import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import {
  createCorsPolicy,
  createRunRegistry,
  createStreamHandler,
  handleNodeRequest,
  type Provider,
} from 'streamwell/server';

export async function createFastifyApp(provider: Provider) {
  const registry = createRunRegistry({ provider });
  const streams = createStreamHandler({
    registry,
    cors: createCorsPolicy({ origins: ['http://localhost:3000'] }),
  });
  const app = Fastify();
  await app.register(async (scope) => {
    // Leave the body unread: the handler parses it with its own limits and errors.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const route = async (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack(); // Fastify must not serialize or compress the event stream
      await handleNodeRequest(streams, request.raw, reply.raw);
    };
    scope.all('/api/stream/message', route);
    scope.all('/api/streams/*', route);
  });
  return { app, registry, streams };
}
