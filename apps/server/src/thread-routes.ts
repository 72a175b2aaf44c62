/**
 * The conversation endpoints: `GET /api/threads` (`?limit=`, `?cursor=`), `GET /api/threads/:id`
 * and `DELETE /api/threads/:id`, over the app's thread store.
 *
 * Same rules as the stream endpoints: the `onRequest` hook of app.ts has already refused a
 * foreign `Origin` and added the CORS headers; the caller is the principal of its bearer key
 * (`API_KEYS`), and another principal's thread is `404` for every method, exactly like a thread
 * that does not exist. Errors are the JSON shape of the stream core (`errorReply`: the same
 * `Retry-After` on 503 and `WWW-Authenticate` on 401).
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  errorReply,
  isStreamwellError,
  readBearerToken,
  StreamwellError,
  type ThreadItem,
  type ThreadWithMessages,
} from 'streamwell/server';
import type { AppContext } from './app-context.ts';

/** Longest thread id accepted in a path (the stream endpoint's own limit). */
const MAX_THREAD_ID_CHARS = 200;

/** The methods of each path, for `Allow` and preflights. */
const ALLOW_LIST = 'GET, HEAD, OPTIONS';
const ALLOW_ONE = 'GET, HEAD, DELETE, OPTIONS';

const badRequest = (message: string): StreamwellError => new StreamwellError('bad_request', message, { status: 400 });

/** `?limit=`: a whole number from 1 to 100 when present. */
function readLimit(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > 100) {
    throw badRequest('"limit" must be a whole number from 1 to 100.');
  }
  return Number(value);
}

function readCursor(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || value.length > 1000) {
    throw new StreamwellError('invalid_cursor', 'The cursor is not one this server gave out.', { status: 400 });
  }
  return value;
}

function readThreadId(value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.length > MAX_THREAD_ID_CHARS) {
    throw badRequest(`A thread id is 1 to ${MAX_THREAD_ID_CHARS} characters.`);
  }
  return value;
}

/** A message as the page and API clients see it (no kind, data or thread id). */
function toApiMessage(message: ThreadItem) {
  return {
    id: message.id,
    role: message.role,
    content: message.content,
    status: message.status,
    streamId: message.streamId,
    createdAt: message.createdAt,
  };
}

function toApiThread(thread: ThreadWithMessages) {
  return {
    id: thread.id,
    title: thread.title,
    createdAt: thread.createdAt,
    updatedAt: thread.updatedAt,
    messages: thread.messages.map(toApiMessage),
    hasMore: thread.hasMore,
  };
}

const unknownThread = (): StreamwellError => new StreamwellError('not_found', 'No such thread.', { status: 404 });

/**
 * Registers the thread endpoints.
 *
 * @param app - the Fastify instance
 * @param context - the app context (`threads`, auth, log, metrics)
 */
export function registerThreadRoutes(app: FastifyInstance, context: AppContext): void {
  const cors = context.streams.cors;

  function fail(request: FastifyRequest, reply: FastifyReply, error: unknown, allow: string): FastifyReply {
    const answer = errorReply(error, {}, 1);
    const code = isStreamwellError(error) ? error.code : 'internal_error';
    context.metrics.refused(code);
    if (code === 'store_unavailable') context.log.warn({ err: error, url: request.url }, 'thread store unavailable');
    else if (answer.status >= 500) context.log.error({ err: error, url: request.url }, 'thread request failed');
    if (answer.status === 405) reply.header('Allow', allow);
    return reply.code(answer.status).headers(answer.headers).send(answer.body);
  }

  function preflight(request: FastifyRequest, reply: FastifyReply, allow: string): FastifyReply {
    const origin = request.headers.origin;
    if (origin !== undefined) {
      reply.headers({ ...cors.preflightHeaders(origin, request.headers.host), 'Access-Control-Allow-Methods': allow });
    }
    return reply.code(204).header('Allow', allow).send();
  }

  function principalOf(request: FastifyRequest): string | undefined {
    return context.authenticate(readBearerToken(request.headers.authorization), request.raw);
  }

  function notAllowed(method: string, allow: string): StreamwellError {
    return new StreamwellError('method_not_allowed', `${method} is not allowed here; use ${allow}.`, { status: 405 });
  }

  app.all('/api/threads', async (request, reply) => {
    if (request.method === 'OPTIONS') return preflight(request, reply, ALLOW_LIST);
    try {
      if (request.method !== 'GET' && request.method !== 'HEAD') throw notAllowed(request.method, ALLOW_LIST);
      const principal = principalOf(request);
      const query = request.query as Record<string, unknown>;
      const limit = readLimit(query.limit);
      const cursor = readCursor(query.cursor);
      const page = await context.threads.listThreads(principal, {
        ...(limit === undefined ? {} : { limit }),
        ...(cursor === undefined ? {} : { cursor }),
      });
      return reply.header('Cache-Control', 'no-store').send({ threads: page.threads, nextCursor: page.nextCursor });
    } catch (error) {
      return fail(request, reply, error, ALLOW_LIST);
    }
  });

  app.all('/api/threads/:threadId', async (request, reply) => {
    if (request.method === 'OPTIONS') return preflight(request, reply, ALLOW_ONE);
    try {
      if (!['GET', 'HEAD', 'DELETE'].includes(request.method)) throw notAllowed(request.method, ALLOW_ONE);
      const principal = principalOf(request);
      const threadId = readThreadId((request.params as { threadId?: unknown }).threadId);
      if (request.method === 'DELETE') {
        if (!(await context.threads.deleteThread(threadId, principal))) throw unknownThread();
        return reply.code(204).header('Cache-Control', 'no-store').send();
      }
      const thread = await context.threads.getThread(threadId, principal);
      if (thread === undefined) throw unknownThread();
      return reply.header('Cache-Control', 'no-store').send(toApiThread(thread));
    } catch (error) {
      return fail(request, reply, error, ALLOW_ONE);
    }
  });
}
