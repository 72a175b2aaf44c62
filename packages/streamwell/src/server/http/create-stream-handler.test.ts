import { afterEach, describe, expect, it } from 'vitest';
import { createDemoProvider } from '../providers/create-demo-provider.ts';
import { createRunRegistry, type RunRegistry } from '../run-registry.ts';
import { createStreamHandler } from './create-stream-handler.ts';
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
});
