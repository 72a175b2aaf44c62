// app/api/[...path]/route.ts (Next.js App Router): one route file serves every stream endpoint.
import {
  createCorsPolicy,
  createProviderFromConfig,
  createRunRegistry,
  createStreamHandler,
  handleWebRequest,
  type StreamHandler,
} from 'streamwell/server';

// Runs must outlive requests: a Node.js runtime with a long-lived process, never the Edge runtime.
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

// One registry per process. Kept on globalThis so that dev-mode hot reloads do not lose runs.
const shared = globalThis as typeof globalThis & { streamwell?: StreamHandler };
shared.streamwell ??= createStreamHandler({
  registry: createRunRegistry({
    provider: createProviderFromConfig({
      llmBaseUrl: process.env.LLM_BASE_URL,
      llmApiKey: process.env.LLM_API_KEY,
      llmModel: process.env.LLM_MODEL,
    }),
  }),
  cors: createCorsPolicy({ origins: (process.env.CORS_ORIGINS ?? '').split(',').filter(Boolean) }),
});
const streams = shared.streamwell;

async function handle(request: Request): Promise<Response> {
  return (
    (await handleWebRequest(streams, request)) ??
    Response.json({ error: { code: 'not_found', message: 'Not found' } }, { status: 404 })
  );
}

export { handle as GET, handle as OPTIONS, handle as POST };
