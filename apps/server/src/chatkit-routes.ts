/**
 * ChatKit on Fastify: `/chatkit` (the self-hosted backend, answered by the library's ChatKit
 * core through its Node adapter, exactly as the stream endpoints are) and
 * `POST /api/chatkit/session` (hosted mode: a client secret for `CHATKIT_WORKFLOW_ID`, minted
 * with `OPENAI_API_KEY`, which never leaves the server).
 *
 * Requests that arrive over the server's socket reach `/chatkit` through the server factory
 * (`create-server-factory.ts`), which skips Fastify's lifecycle; these routes answer
 * `fastify.inject()` and anything else that reaches Fastify, identically.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  createChatKitSession,
  errorReply,
  handleNodeRequest,
  isStreamwellError,
  readBearerToken,
  StreamwellError,
  writeNodeReply,
} from 'streamwell/server';
import type { AppContext } from './app-context.ts';
import { CHATKIT_PATH } from './create-chatkit-backend.ts';

/** The session endpoint. */
export const CHATKIT_SESSION_PATH = '/api/chatkit/session';

/** The cookie that keeps an anonymous visitor's ChatKit user id (the starter app's). */
const SESSION_COOKIE = 'chatkit_session_id';
const COOKIE_MAX_AGE_SECONDS = 30 * 24 * 60 * 60;

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

async function chatkitRoute(context: AppContext, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  // Fastify must not touch this response: no serializer, no compression, no onSend hooks.
  reply.hijack();
  const handled = await handleNodeRequest(context.chatkit, request.raw, reply.raw);
  if (!handled && !reply.raw.headersSent) {
    const notFound = new StreamwellError('not_found', `No route ${request.method} ${request.url}.`, { status: 404 });
    writeNodeReply(errorReply(notFound, { Vary: 'Origin' }), request.raw, reply.raw);
  }
}

async function sessionRoute(context: AppContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const { config, log } = context;
  try {
    if (request.method !== 'POST') {
      reply.header('Allow', 'POST');
      throw new StreamwellError('method_not_allowed', `${request.method} is not allowed here; use POST.`, {
        status: 405,
      });
    }
    const principal = context.authenticate(readBearerToken(request.headers.authorization), request.raw);
    if (config.chatkitWorkflowId === undefined || config.openaiApiKey === undefined) {
      throw new StreamwellError(
        'chatkit_not_configured',
        'Hosted ChatKit is not configured: set CHATKIT_WORKFLOW_ID and OPENAI_API_KEY. Agent Builder workflows ' +
          'were retired on 2026-11-30; the self-hosted endpoint POST /chatkit needs neither.',
        { status: 503 },
      );
    }
    // A user id we vouch for: the principal of the bearer key, else this browser's own cookie.
    let user = principal;
    if (user === undefined) {
      user = cookieValue(request.headers.cookie, SESSION_COOKIE);
      if (user === undefined || !/^[A-Za-z0-9-]{1,64}$/.test(user)) {
        user = randomUUID();
        reply.header(
          'Set-Cookie',
          `${SESSION_COOKIE}=${user}; Path=${CHATKIT_SESSION_PATH}; Max-Age=${COOKIE_MAX_AGE_SECONDS}; HttpOnly; SameSite=Lax`,
        );
      }
    }
    const secret = await createChatKitSession({
      apiKey: config.openaiApiKey,
      workflowId: config.chatkitWorkflowId,
      user,
      baseUrl: config.openaiBaseUrl,
    });
    return reply.header('Cache-Control', 'no-store').send(secret);
  } catch (error) {
    const answer = errorReply(error, {}, 2);
    const code = isStreamwellError(error) ? error.code : 'internal_error';
    context.metrics.refused(code);
    // Messages of upstream failures never hold the key (createChatKitSession scrubs them).
    if (answer.status >= 500) log.warn({ code, message: (error as Error).message }, 'chatkit session request failed');
    return reply.code(answer.status).headers(answer.headers).send(answer.body);
  }
}

/**
 * Registers `/chatkit`, `/chatkit/*` and `POST /api/chatkit/session`, in a scope whose body
 * parsing is off (the ChatKit core reads bodies itself, with its own limits; the session
 * endpoint reads none).
 *
 * @param app - the Fastify instance
 * @param context - the app context
 */
export async function registerChatKitRoutes(app: FastifyInstance, context: AppContext): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const route = (request: FastifyRequest, reply: FastifyReply) => chatkitRoute(context, request, reply);
    scope.all(CHATKIT_PATH, route);
    scope.all(`${CHATKIT_PATH}/*`, route);
    scope.all(CHATKIT_SESSION_PATH, (request, reply) => sessionRoute(context, request, reply));
  });
}
