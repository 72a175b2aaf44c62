/**
 * `GET /`: the reference chat page, and `GET /ai-sdk`: the AI SDK `useChat` example page, built
 * by `apps/web` into `apps/web/dist`. When the pages have not been built (a fresh clone before
 * `npm run build`) the server still starts and both paths explain how to build them.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** `apps/web/dist`, from `apps/server/src` (tests, tsx) and `apps/server/dist` (built) alike. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/**
 * Serves the web page.
 *
 * @param app - the Fastify instance
 * @param webRoot - the built page's folder
 * @returns whether the built page was found
 */
export async function registerWebRoutes(app: FastifyInstance, webRoot: string = DEFAULT_WEB_ROOT): Promise<boolean> {
  if (existsSync(join(webRoot, 'index.html'))) {
    await app.register(fastifyStatic, {
      root: webRoot,
      prefix: '/',
      // Hashed assets can be cached; index.html must revalidate so a new build shows up.
      setHeaders(response, path) {
        response.setHeader(
          'Cache-Control',
          path.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
        );
      },
    });
    app.get('/ai-sdk', (_request, reply) => reply.header('Cache-Control', 'no-cache').sendFile('ai-sdk.html'));
    return true;
  }
  app.get('/ai-sdk', async (_request, reply) =>
    reply.type('text/plain; charset=utf-8').send('The web pages are not built yet: run `npm run build`.\n'),
  );
  app.get('/', async (_request, reply) =>
    reply
      .type('text/plain; charset=utf-8')
      .send(
        'streamwell reference server\n\n' +
          'The web page is not built yet: run `npm run build` (or `npm start`, which builds first).\n\n' +
          'API: POST /api/stream/message, GET /api/streams/{id}, POST /api/streams/{id}/cancel,\n' +
          'POST /api/chat, GET /api/chat/{id}/stream, POST /api/chat/{id}/cancel (AI SDK useChat),\n' +
          'POST /chatkit (ChatKit), GET /ws/stream (WebSocket), GET /healthz, GET /metrics.\n',
      ),
  );
  return false;
}
