/**
 * The server's conversation endpoints, as the page uses them: `GET /api/threads`,
 * `GET /api/threads/{id}`, `DELETE /api/threads/{id}` (same origin). Responses are checked
 * before use: a proxy's HTML error page or an older server must not break the page.
 *
 * @module
 */

/** A thread in the server's list. */
export interface ServerThreadSummary {
  readonly id: string;
  readonly title: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A stored message. */
export interface ServerMessage {
  readonly id: string;
  readonly role: 'user' | 'assistant';
  readonly content: string;
  readonly status: 'complete' | 'streaming' | 'cancelled' | 'error' | 'interrupted';
  readonly streamId: string | null;
  readonly createdAt: string;
}

/** A thread with its messages, oldest first. */
export interface ServerThread extends ServerThreadSummary {
  readonly messages: readonly ServerMessage[];
}

/** Threads the page lists (the server's page size limit is 100). */
export const THREAD_LIST_LIMIT = 50;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

function isSummary(value: unknown): value is ServerThreadSummary {
  return (
    isRecord(value) &&
    typeof value.id === 'string' &&
    (value.title === null || typeof value.title === 'string') &&
    typeof value.updatedAt === 'string'
  );
}

function isMessage(value: unknown): value is ServerMessage {
  return (
    isRecord(value) &&
    typeof value.id === 'string' &&
    (value.role === 'user' || value.role === 'assistant') &&
    typeof value.content === 'string' &&
    typeof value.status === 'string'
  );
}

async function readJson(response: Response): Promise<unknown> {
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

/**
 * The newest threads of the caller.
 *
 * @param signal - aborts the request
 * @returns the threads, newest first
 * @throws Error when the server answers anything else
 */
export async function listServerThreads(signal?: AbortSignal): Promise<ServerThreadSummary[]> {
  const body = await readJson(await fetch(`/api/threads?limit=${THREAD_LIST_LIMIT}`, signal ? { signal } : {}));
  if (!isRecord(body) || !Array.isArray(body.threads)) throw new Error('unexpected thread list');
  return body.threads.filter(isSummary);
}

/**
 * One thread with its messages.
 *
 * @param threadId - the server's thread id
 * @param signal - aborts the request
 * @returns the thread, or undefined when the server has no such thread (404)
 * @throws Error on any other failure
 */
export async function getServerThread(threadId: string, signal?: AbortSignal): Promise<ServerThread | undefined> {
  const response = await fetch(`/api/threads/${encodeURIComponent(threadId)}`, signal ? { signal } : {});
  if (response.status === 404) return undefined;
  const body = await readJson(response);
  const messages: unknown = isRecord(body) ? body.messages : undefined;
  if (!isSummary(body) || !Array.isArray(messages)) throw new Error('unexpected thread');
  return { ...body, messages: messages.filter(isMessage) };
}

/**
 * Deletes a thread on the server.
 *
 * @param threadId - the server's thread id
 * @returns true when it was deleted, false when the server had no such thread
 * @throws Error on any other failure
 */
export async function deleteServerThread(threadId: string): Promise<boolean> {
  const response = await fetch(`/api/threads/${encodeURIComponent(threadId)}`, { method: 'DELETE' });
  if (response.status === 404) return false;
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return true;
}
