import { afterEach, describe, expect, it } from 'vitest';
import { createDemoProvider } from '../providers/create-demo-provider.ts';
import { createRunRegistry, type RunRegistry } from '../run-registry.ts';
import { createStreamHandler, readJsonRequestBody } from './create-stream-handler.ts';
import type { HttpRequestLike } from './http-types.ts';

function request(method: string, url: string): HttpRequestLike {
  return { method, url, header: () => undefined, readBody: async () => new Uint8Array(0) };
}

let registry: RunRegistry | undefined;
afterEach(() => {
  registry?.close();
  registry = undefined;
});

describe('stream handler routing', () => {
  it('leaves a request target that does not parse as a URL to the framework instead of rejecting', async () => {
    registry = createRunRegistry({ provider: createDemoProvider() });
    const handler = createStreamHandler({ registry });
    // Node's HTTP parser accepts `//`; `new URL('//', base)` throws on it.
    await expect(handler.handle(request('GET', '//'))).resolves.toBeUndefined();
    await expect(handler.handle(request('GET', '/elsewhere'))).resolves.toBeUndefined();
    const unknown = await handler.handle(request('GET', '/api/streams/nope'));
    expect(unknown).toMatchObject({ type: 'body', status: 404 });
  });

  it('routes the start target without a URL parse only when the parser would read it back unchanged', async () => {
    registry = createRunRegistry({ provider: createDemoProvider() });
    // No leading slash: `new URL` reads `api/stream/message` as `/api/stream/message`, which is
    // not under the base `api`, so this target is no endpoint (as before the fast path).
    const relative = createStreamHandler({ registry, basePath: 'api' });
    await expect(relative.handle(request('POST', 'api/stream/message'))).resolves.toBeUndefined();
    // The canonical target and spellings the URL parser normalizes reach the same endpoint.
    const handler = createStreamHandler({ registry });
    for (const target of ['/api/stream/message', '/api/./stream/message', '/api/stream/message?x=1']) {
      const reply = await handler.handle(request('GET', target));
      expect(reply, target).toMatchObject({ type: 'body', status: 405, headers: { Allow: 'POST, OPTIONS' } });
    }
  });

  it('reports a refused body as a rejection, never a synchronous throw', async () => {
    const headers: Record<string, string> = { 'content-type': 'text/html', 'content-length': '5' };
    const refused: HttpRequestLike = { ...request('POST', '/api/stream/message'), header: (name) => headers[name] };
    const typeRefused = readJsonRequestBody(refused, 100);
    await expect(typeRefused).rejects.toMatchObject({ code: 'unsupported_media_type', status: 415 });
    headers['content-type'] = 'application/json';
    headers['content-length'] = '101';
    await expect(readJsonRequestBody(refused, 100)).rejects.toMatchObject({ code: 'body_too_large', status: 413 });
  });
});
