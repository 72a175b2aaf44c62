/**
 * The custom provider example of docs/providers.md, run for real: a plain-text streaming HTTP
 * API behind the Provider interface, inside a run, with cancel reaching the upstream.
 * Keep `createPlainTextProvider` identical to the docs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRunRegistry, createUpstreamError, type Provider, type ProviderEvent } from 'streamwell/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// --- docs/providers.md: "Writing your own provider" ---
function createPlainTextProvider(baseUrl: string): Provider {
  return {
    name: 'plain-text',
    model: 'my-model',
    async *stream({ messages, signal }): AsyncIterable<ProviderEvent> {
      const target = `POST ${baseUrl}/generate`;
      // Pass the run's signal: on cancel or timeout the socket closes and the model stops.
      const response = await fetch(`${baseUrl}/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages }),
        signal,
      });
      if (!response.ok || response.body === null) {
        // 401/403 become `upstream_auth`, anything else `upstream_error`.
        throw createUpstreamError({ target, status: response.status, upstreamMessage: await response.text() });
      }
      const decoder = new TextDecoder();
      for await (const chunk of response.body) {
        const text = decoder.decode(chunk, { stream: true });
        if (text !== '') yield { type: 'text', text };
      }
      yield { type: 'finish', finishReason: 'stop' };
    },
  };
}
// --- end of the docs example ---

let server: Server;
let baseUrl: string;
let aborted: Promise<boolean>;
let stall = false;

beforeEach(async () => {
  let resolveAborted!: (value: boolean) => void;
  aborted = new Promise((resolve) => {
    resolveAborted = resolve;
  });
  server = createServer((request, response) => {
    request.resume();
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.on('close', () => resolveAborted(!response.writableFinished));
    response.write('Hello');
    if (stall) return;
    response.end(', world');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  stall = false;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('custom provider example (docs/providers.md)', () => {
  it('streams through a run', async () => {
    const registry = createRunRegistry({ provider: createPlainTextProvider(baseUrl) });
    const { run } = registry.start({ message: 'hi' });
    expect((await run.finished).status).toBe('complete');
    expect(run.text).toBe('Hello, world');
    registry.close();
  });

  it('cancel reaches its upstream', async () => {
    stall = true;
    const registry = createRunRegistry({ provider: createPlainTextProvider(baseUrl) });
    const { run } = registry.start({ message: 'hi' });
    await new Promise<void>((resolve) => {
      registry.attach(run, undefined, { onEvent: (event) => event.event === 'token' && resolve() });
    });
    run.cancel();
    expect(await aborted).toBe(true);
    registry.close();
  });
});
