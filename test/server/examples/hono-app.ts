import { Hono } from 'hono';
import {
  createCorsPolicy,
  createRunRegistry,
  createStreamHandler,
  handleWebRequest,
  type Provider,
} from 'streamwell/server';

export function createHonoApp(provider: Provider) {
  const registry = createRunRegistry({ provider });
  const streams = createStreamHandler({
    registry,
    cors: createCorsPolicy({ origins: ['http://localhost:3000'] }),
  });
  const app = new Hono();
  app.all('/api/*', async (context) => (await handleWebRequest(streams, context.req.raw)) ?? context.notFound());
  return { app, registry, streams };
}
