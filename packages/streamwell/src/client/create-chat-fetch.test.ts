import { describe, expect, it } from 'vitest';
import { createChatFetch } from './create-chat-fetch.ts';

interface Call {
  readonly url: string;
  readonly init: RequestInit | undefined;
}

function recordingFetch() {
  const calls: Call[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    calls.push({ url: String(input), init });
    return new Response(null, { status: 204 });
  };
  return { calls, fetch: fetch as typeof globalThis.fetch };
}

/** Resolves once `calls` has `count` entries (the cancel is sent from the abort listener). */
async function waitForCalls(calls: readonly Call[], count: number): Promise<void> {
  while (calls.length < count) await new Promise((resolve) => setImmediate(resolve));
}

const chatBody = JSON.stringify({ id: 'chat/1', messages: [], trigger: 'submit-message' });

describe('createChatFetch', () => {
  it('cancels the chat on the server when the POST of a chat is aborted, with its headers and credentials', async () => {
    const recorder = recordingFetch();
    const chatFetch = createChatFetch({ fetch: recorder.fetch });
    const controller = new AbortController();
    await chatFetch('/api/chat?x=1', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
      body: chatBody,
      credentials: 'include',
      signal: controller.signal,
    });
    expect(recorder.calls).toHaveLength(1);
    controller.abort();
    await waitForCalls(recorder.calls, 2);
    const cancel = recorder.calls[1] as Call;
    // The SDK's own URL rule ({api}/{chatId}/stream): the path goes before the query.
    expect(cancel.url).toBe('/api/chat/chat%2F1/cancel?x=1');
    expect(cancel.init?.method).toBe('POST');
    expect(cancel.init?.credentials).toBe('include');
    const headers = new Headers(cancel.init?.headers);
    expect(headers.get('authorization')).toBe('Bearer k');
    expect(headers.get('content-type')).toBeNull();
  });

  it('leaves an aborted resume GET alone (the SDK aborts one when it starts a newer one)', async () => {
    const recorder = recordingFetch();
    const chatFetch = createChatFetch({ fetch: recorder.fetch });
    const controller = new AbortController();
    await chatFetch('/api/chat/c1/stream', { method: 'GET', signal: controller.signal });
    controller.abort();
    // A POST aborted after it: its cancel is the only one, and comes after the GET's abort.
    const post = new AbortController();
    await chatFetch('/api/chat', { method: 'POST', body: chatBody, signal: post.signal });
    post.abort();
    await waitForCalls(recorder.calls, 3);
    expect(recorder.calls.map((call) => `${call.init?.method} ${call.url}`)).toEqual([
      'GET /api/chat/c1/stream',
      'POST /api/chat',
      'POST /api/chat/chat%2F1/cancel',
    ]);
  });

  it('passes other requests through untouched, and cancels explicitly through cancel(chatId)', async () => {
    const recorder = recordingFetch();
    const chatFetch = createChatFetch({ fetch: recorder.fetch, api: 'https://example.test/api/chat' });
    const controller = new AbortController();
    await chatFetch('/other', { method: 'POST', body: 'not json', signal: controller.signal });
    controller.abort();
    await chatFetch.cancel('c 2', { headers: { authorization: 'Bearer k' } });
    expect(recorder.calls.map((call) => call.url)).toEqual(['/other', 'https://example.test/api/chat/c%202/cancel']);
  });

  it('never rejects from cancel, also when the network fails', async () => {
    const failing = (async () => {
      throw new TypeError('fetch failed');
    }) as typeof globalThis.fetch;
    await expect(createChatFetch({ fetch: failing }).cancel('c')).resolves.toBeUndefined();
  });
});
