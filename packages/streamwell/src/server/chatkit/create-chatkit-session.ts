/**
 * Hosted ChatKit: mints a short-lived client secret for an Agent Builder workflow through
 * OpenAI's `POST /v1/chatkit/sessions` (header `OpenAI-Beta: chatkit_beta=v1`), for a page whose
 * ChatKit uses `api.getClientSecret`. Only `{client_secret, expires_at}` goes back to the page;
 * the API key stays on the server and out of every message. Agent Builder, which runs hosted
 * workflows, shut down on 2026-11-30: the self-hosted endpoint (`createChatKitHandler`) is the
 * durable path.
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';
import { scrubSecret } from '../providers/create-upstream-error.ts';

/** Options of {@link createChatKitSession}. */
export interface ChatKitSessionOptions {
  /** The OpenAI API key (of the workflow's project). */
  readonly apiKey: string;
  /** The workflow (`wf_...`). */
  readonly workflowId: string;
  /** A stable id of the end user, verified by you: scopes the hosted threads and files. */
  readonly user: string;
  /** The API base, with its version path. @defaultValue `https://api.openai.com/v1` */
  readonly baseUrl?: string | undefined;
  /** @defaultValue the global `fetch` */
  readonly fetch?: typeof fetch;
  /** @defaultValue 10000 */
  readonly timeoutMs?: number;
}

/** What the page gets. */
export interface ChatKitClientSecret {
  readonly client_secret: string;
  /** Unix seconds. */
  readonly expires_at: number;
}

/** Key-like strings (`sk-...`, also masked as OpenAI's 401 message masks them) are never repeated. */
function scrub(text: string, apiKey: string): string {
  return scrubSecret(text, apiKey).replace(/\bsk-[A-Za-z0-9_*.-]+/g, '[redacted]');
}

function upstreamFailure(status: number | undefined, detail: string, apiKey: string, cause?: unknown): StreamwellError {
  const auth = status === 401 || status === 403;
  const head =
    status === undefined
      ? 'OpenAI could not be reached to create a ChatKit session'
      : `OpenAI answered HTTP ${status} to the ChatKit session request`;
  const text = detail.trim().slice(0, 300);
  return new StreamwellError(
    auth ? 'upstream_auth' : 'upstream_error',
    scrub(text === '' ? `${head}.` : `${head}: ${text}`, apiKey),
    {
      // The upstream's own status when it refused the request; a failure to reach it is a 502.
      status: status !== undefined && status >= 400 && status < 600 ? status : 502,
      retryable: status === undefined || status === 429 || status >= 500,
      cause,
    },
  );
}

/**
 * Creates a ChatKit session and returns its client secret.
 *
 * @param options - key, workflow, user and where OpenAI is
 * @returns `{client_secret, expires_at}` only
 * @throws StreamwellError `upstream_auth` (the upstream's 401/403), `upstream_error` (its other
 *   statuses, or 502 when it cannot be reached or answers something else); messages never hold the key
 * @example
 * const secret = await createChatKitSession({ apiKey, workflowId: 'wf_123', user: 'user-42' });
 */
export async function createChatKitSession(options: ChatKitSessionOptions): Promise<ChatKitClientSecret> {
  const base = (options.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
  const request = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await request(`${base}/chatkit/sessions`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${options.apiKey}`,
        'Content-Type': 'application/json',
        'OpenAI-Beta': 'chatkit_beta=v1',
      },
      body: JSON.stringify({ user: options.user, workflow: { id: options.workflowId } }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (error) {
    throw upstreamFailure(undefined, error instanceof Error ? error.message : '', options.apiKey, error);
  }
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
    throw upstreamFailure(response.status, typeof message === 'string' ? message : '', options.apiKey);
  }
  const session = body as { client_secret?: unknown; expires_at?: unknown } | undefined;
  if (typeof session?.client_secret !== 'string' || typeof session.expires_at !== 'number') {
    throw upstreamFailure(undefined, 'the answer has no client_secret and expires_at', options.apiKey);
  }
  return { client_secret: session.client_secret, expires_at: session.expires_at };
}
