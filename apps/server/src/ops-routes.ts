/**
 * `GET /healthz` (liveness and drain state, for load balancers) and `GET /metrics` (Prometheus).
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from './app-context.ts';
import { methodNotAllowed } from './json-errors.ts';

/**
 * Registers the operational routes.
 *
 * @param app - the Fastify instance
 * @param context - the app context
 */
export function registerOpsRoutes(app: FastifyInstance, context: AppContext): void {
  app.all('/healthz', async (request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed(reply, 'GET, HEAD');
    const draining = context.registry.draining;
    // 503 while draining, so a load balancer stops sending new streams here.
    return reply
      .code(draining ? 503 : 200)
      .header('Cache-Control', 'no-store')
      .send({
        status: draining ? 'draining' : 'ok',
        provider: context.provider.name,
        model: context.provider.model,
        demo: context.provider.demo === true,
        activeStreams: context.registry.activeCount,
        openStreamResponses: context.streams.openStreams,
      });
  });

  app.all('/metrics', async (request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed(reply, 'GET, HEAD');
    const register = context.metrics.register;
    return reply
      .header('Content-Type', register.contentType)
      .header('Cache-Control', 'no-store')
      .send(await register.metrics());
  });
}
