/**
 * `GET /healthz` (liveness and drain state, for load balancers) and `GET /metrics` (Prometheus).
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from './app-context.ts';
import { methodNotAllowed, sendError } from './json-errors.ts';

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
        // With WORKERS > 1: which worker answered (its counts above are its own).
        ...(context.worker === undefined ? {} : { worker: context.worker }),
      });
  });

  app.all('/metrics', async (request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed(reply, 'GET, HEAD');
    let text: string;
    try {
      text = await context.metricsText();
    } catch (error) {
      // With workers: the primary or a worker did not answer in time.
      context.log.warn({ err: error }, 'metrics could not be collected');
      return sendError(reply, 503, 'internal_error', 'The metrics could not be collected; try again.');
    }
    return reply
      .header('Content-Type', context.metrics.register.contentType)
      .header('Cache-Control', 'no-store')
      .send(text);
  });
}
