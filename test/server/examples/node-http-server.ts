import { createServer } from 'node:http';
import {
  createCorsPolicy,
  createRunRegistry,
  createStreamHandler,
  handleNodeRequest,
  type Provider,
} from 'streamwell/server';

export function createNodeHttpServer(provider: Provider) {
  const registry = createRunRegistry({ provider });
  const streams = createStreamHandler({
    registry,
    cors: createCorsPolicy({ origins: ['http://localhost:3000'] }),
  });
  const server = createServer((request, response) => {
    handleNodeRequest(streams, request, response).then((handled) => {
      if (!handled) {
        response.writeHead(404, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ error: { code: 'not_found', message: 'Not found' } }));
      }
    });
  });
  return { server, registry, streams };
}
