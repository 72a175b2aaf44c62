import { describe, expect, it } from 'vitest';
import { isStreamwellError } from '../../errors/index.ts';
import { createConnectionLimiter } from './create-connection-limiter.ts';

function refusal(action: () => unknown): { code: string; status: number | undefined; retryable: boolean } {
  try {
    action();
  } catch (error) {
    if (isStreamwellError(error)) return { code: error.code, status: error.status, retryable: error.retryable };
    throw error;
  }
  throw new Error('not refused');
}

describe('createConnectionLimiter', () => {
  it('caps each kind server-wide and gives a slot back exactly once', () => {
    const refused: string[] = [];
    const limiter = createConnectionLimiter({
      maxEventStreams: 2,
      maxWebSockets: 1,
      onRefused: (kind, code) => refused.push(`${kind}:${code}`),
    });
    const first = limiter.acquire('sse', undefined);
    limiter.acquire('sse', undefined);
    expect(refusal(() => limiter.acquire('sse', undefined))).toEqual({
      code: 'too_many_connections',
      status: 503,
      retryable: true,
    });
    // The kinds are counted apart.
    limiter.acquire('websocket', undefined);
    expect(refusal(() => limiter.acquire('websocket', undefined)).code).toBe('too_many_connections');
    first.release();
    first.release();
    expect(limiter.open('sse')).toBe(1);
    limiter.acquire('sse', undefined);
    expect(limiter.open('sse')).toBe(2);
    expect(refused).toEqual(['sse:too_many_connections', 'websocket:too_many_connections']);
  });

  it('caps each principal over both kinds; connections without a principal are not counted', () => {
    const limiter = createConnectionLimiter({ maxConnectionsPerPrincipal: 2 });
    const stream = limiter.acquire('sse', 'alice');
    limiter.acquire('websocket', 'alice');
    expect(refusal(() => limiter.acquire('sse', 'alice'))).toEqual({
      code: 'too_many_principal_connections',
      status: 429,
      retryable: true,
    });
    limiter.acquire('sse', 'bob');
    for (let index = 0; index < 5; index += 1) limiter.acquire('sse', undefined);
    stream.release();
    expect(limiter.openOf('alice')).toBe(1);
    limiter.acquire('sse', 'alice');
    expect(limiter.open('sse')).toBe(7);
  });
});
