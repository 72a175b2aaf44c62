import express from 'express';
import {
  createCorsPolicy,
  createRunRegistry,
  createStreamHandler,
  handleNodeRequest,
  type Provider,
} from 'streamwell/server';

export function createExpressApp(provider: Provider) {
  const registry = createRunRegistry({ provider });
  const streams = createStreamHandler({
    registry,
    cors: createCorsPolicy({ origins: ['http://localhost:3000'] }),
  });
  const app = express();
  // Before any body parser: the handler reads the body itself, with its own limits and errors.
  app.use((request, response, next) => {
    handleNodeRequest(streams, request, response).then((handled) => {
      if (!handled) next();
    }, next);
  });
  app.use(express.json());
  app.get('/hello', (_request, response) => {
    response.json({ hello: 'world' });
  });
  return { app, registry, streams };
}
