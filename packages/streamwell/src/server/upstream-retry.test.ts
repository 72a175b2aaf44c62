import { afterEach, describe, expect, it, vi } from 'vitest';
import { StreamwellError } from '../errors/index.ts';
import type { Provider, ProviderEvent } from './provider.ts';
import { createRunRegistry, type LocalRunRegistry } from './run-registry.ts';
import {
  backoffDelayMs,
  DEFAULT_UPSTREAM_RETRY_POLICY,
  markUpstreamRetryable,
  parseRetryAfter,
  retryHintForNetworkError,
  retryHintForStatus,
  type UpstreamRetry,
  type UpstreamRetryHint,
  upstreamRetryHintOf,
} from './upstream-retry.ts';

const FAKE: Parameters<typeof vi.useFakeTimers>[0] = {
  toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance', 'Date'],
};

/** The message of the run's terminal `error` event. */
function errorMessage(run: { eventsAfter(after: undefined): readonly { event: string; json: string }[] }): string {
  const last = run.eventsAfter(undefined).at(-1);
  return last?.event === 'error' ? (JSON.parse(last.json) as { error: string }).error : '';
}

/** One scripted attempt: fail with a hint (before any event), or emit events (then maybe fail). */
type Attempt =
  | { readonly fail: UpstreamRetryHint | 'plain' }
  | { readonly events: readonly ProviderEvent[]; readonly failAfter?: UpstreamRetryHint };

/** A provider that plays one script entry per call and counts the calls. */
function scriptedProvider(script: readonly Attempt[]) {
  const calls: number[] = [];
  const provider: Provider = {
    name: 'scripted',
    model: 'test',
    async *stream() {
      calls.push(performance.now());
      const attempt = script[calls.length - 1] ?? { events: [{ type: 'text', text: 'late' }] };
      if ('fail' in attempt) {
        const error = new StreamwellError('upstream_error', `attempt ${calls.length} failed.`);
        throw attempt.fail === 'plain' ? error : markUpstreamRetryable(error, attempt.fail);
      }
      yield* attempt.events;
      if (attempt.failAfter !== undefined) {
        throw markUpstreamRetryable(new StreamwellError('upstream_error', 'dropped mid-reply.'), attempt.failAfter);
      }
    },
  };
  return { provider, calls };
}

let registry: LocalRunRegistry | undefined;
afterEach(() => {
  registry?.close();
  registry = undefined;
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('backoff and headers', () => {
  it('doubles from the base up to the cap, with equal jitter', () => {
    const policy = DEFAULT_UPSTREAM_RETRY_POLICY;
    expect([1, 2, 3, 4, 5, 6].map((retry) => backoffDelayMs(retry, policy, 0))).toEqual([
      125, 250, 500, 1000, 2000, 2000,
    ]);
    expect([1, 2, 3, 4, 5, 6].map((retry) => backoffDelayMs(retry, policy, 0.999_999))).toEqual([
      250, 500, 1000, 2000, 4000, 4000,
    ]);
  });

  it('reads Retry-After as seconds, as an HTTP date, and retry-after-ms first', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter(undefined, '2', now)).toBe(2000);
    expect(parseRetryAfter(undefined, ' 0.5 ', now)).toBe(500);
    expect(parseRetryAfter(undefined, 'Thu, 01 Jan 2026 00:00:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter(undefined, 'Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('150', '9', now)).toBe(150);
    expect(parseRetryAfter(undefined, 'soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, undefined, now)).toBeUndefined();
  });

  it('retries 408, 429, 502 and 503 only', () => {
    const none = () => undefined;
    expect(retryHintForStatus(429, (name) => (name === 'retry-after' ? '1' : undefined))).toEqual({
      reason: 'rate_limited',
      retryAfterMs: 1000,
    });
    expect(retryHintForStatus(408, none)).toEqual({ reason: 'request_timeout' });
    expect(retryHintForStatus(502, none)).toEqual({ reason: 'bad_gateway' });
    expect(retryHintForStatus(503, none)).toEqual({ reason: 'unavailable' });
    for (const status of [400, 401, 403, 404, 409, 500, 501, 504]) {
      expect(retryHintForStatus(status, none)).toBeUndefined();
    }
  });

  it('classifies network errors by code, also on a cause', () => {
    const coded = (code: string) => Object.assign(new Error(code), { code });
    expect(retryHintForNetworkError(coded('ECONNREFUSED'))).toEqual({ reason: 'refused' });
    expect(retryHintForNetworkError(new TypeError('fetch failed', { cause: coded('ECONNRESET') }))).toEqual({
      reason: 'reset',
    });
    expect(retryHintForNetworkError(coded('UND_ERR_SOCKET'))).toEqual({ reason: 'reset' });
    expect(retryHintForNetworkError(coded('UND_ERR_CONNECT_TIMEOUT'))).toEqual({ reason: 'connect_timeout' });
    expect(retryHintForNetworkError(coded('UND_ERR_HEADERS_TIMEOUT'))).toBeUndefined();
    expect(retryHintForNetworkError(coded('ENOTFOUND'))).toBeUndefined();
    expect(retryHintForNetworkError(new Error('no code'))).toBeUndefined();
  });

  it('marks an error without changing it', () => {
    const error = new StreamwellError('upstream_error', 'x');
    expect(markUpstreamRetryable(error, { reason: 'reset' })).toBe(error);
    expect(upstreamRetryHintOf(error)).toEqual({ reason: 'reset' });
    expect(upstreamRetryHintOf(new Error('y'))).toBeUndefined();
    expect(upstreamRetryHintOf(undefined)).toBeUndefined();
  });
});

describe('the run retries a failure before the answer', () => {
  function start(
    script: readonly Attempt[],
    options: { firstTokenTimeoutMs?: number; maxUpstreamAttempts?: number },
    onRetry?: () => void,
  ) {
    vi.useFakeTimers(FAKE);
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const scripted = scriptedProvider(script);
    const retries: UpstreamRetry[] = [];
    registry = createRunRegistry({
      provider: scripted.provider,
      streamTimeoutMs: 0,
      ...options,
      observer: {
        onUpstreamRetry: (_run, retry) => {
          retries.push(retry);
          onRetry?.();
        },
      },
    });
    const { run } = registry.start({ message: 'hi' });
    return { run, calls: scripted.calls, retries };
  }

  it('backs off 188, 375, 750 ms (jitter 0.5) and succeeds on the fourth attempt', async () => {
    const refused = { fail: { reason: 'refused' } } as const;
    const { run, calls, retries } = start([refused, refused, refused, { events: [{ type: 'text', text: 'ok' }] }], {
      firstTokenTimeoutMs: 10_000,
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(187);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(375);
    expect(calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(750);
    expect(calls).toHaveLength(4);
    await run.finished;
    expect(run.status).toBe('complete');
    expect(run.text).toBe('ok');
    expect(retries.map(({ attempt, reason, delayMs }) => [attempt, reason, delayMs])).toEqual([
      [2, 'refused', 188],
      [3, 'refused', 375],
      [4, 'refused', 750],
    ]);
  });

  it('an observer that throws on a retry neither stops the retry nor escapes the run', async () => {
    const { run, calls } = start(
      [{ fail: { reason: 'refused' } }, { events: [{ type: 'text', text: 'ok' }] }],
      { firstTokenTimeoutMs: 10_000 },
      () => {
        throw new Error('metrics backend down');
      },
    );
    await vi.advanceTimersByTimeAsync(1_000);
    await run.finished;
    expect(calls).toHaveLength(2);
    expect(run.status).toBe('complete');
    expect(run.text).toBe('ok');
  });

  it('gives up after maxUpstreamAttempts with the last error and the count', async () => {
    const busy = { fail: { reason: 'unavailable' } } as const;
    const { run, calls } = start([busy, busy, busy, busy], { firstTokenTimeoutMs: 10_000, maxUpstreamAttempts: 3 });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls).toHaveLength(3);
    expect(run.status).toBe('error');
    expect(run.outcome).toBe('upstream_error');
    expect(errorMessage(run)).toBe('attempt 3 failed. Gave up after 3 attempts.');
  });

  it('honours Retry-After when it fits in the first-token budget', async () => {
    const { run, calls, retries } = start(
      [{ fail: { reason: 'rate_limited', retryAfterMs: 2_000 } }, { events: [{ type: 'text', text: 'ok' }] }],
      { firstTokenTimeoutMs: 5_000 },
    );
    await vi.advanceTimersByTimeAsync(1_999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    await run.finished;
    expect(run.status).toBe('complete');
    expect(retries[0]).toMatchObject({ reason: 'rate_limited', delayMs: 2_000, retryAfter: true });
  });

  it('fails at once when Retry-After is longer than what is left of the budget', async () => {
    const { run, calls, retries } = start([{ fail: { reason: 'rate_limited', retryAfterMs: 30_000 } }], {
      firstTokenTimeoutMs: 10_000,
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(run.status).toBe('error');
    expect(run.outcome).toBe('upstream_error');
    expect(calls).toHaveLength(1);
    expect(retries).toHaveLength(0);
    const message = errorMessage(run);
    expect(message).toContain('asked to retry after 30000 ms (Retry-After), longer than the 10000 ms left');
  });

  it('stops retrying when the backoff would pass the first-token deadline', async () => {
    const reset = { fail: { reason: 'reset' } } as const;
    // 188 + 375 = 563 ms of waits fit in 700 ms; the third wait (750 ms) does not.
    const { run, calls } = start([reset, reset, reset, reset], { firstTokenTimeoutMs: 700 });
    await vi.advanceTimersByTimeAsync(600);
    expect(calls).toHaveLength(3);
    expect(run.outcome).toBe('upstream_error');
    expect(errorMessage(run)).toContain('No first-token budget left for another attempt; gave up after 3 attempts.');
  });

  it('never retries once a token was relayed', async () => {
    const { run, calls, retries } = start(
      [{ events: [{ type: 'text', text: 'partial' }], failAfter: { reason: 'reset' } }],
      { firstTokenTimeoutMs: 10_000 },
    );
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls).toHaveLength(1);
    expect(retries).toHaveLength(0);
    expect(run.outcome).toBe('upstream_error');
    expect(run.text).toBe('partial');
  });

  it('never retries an unmarked failure (500, 504, auth, a parse error)', async () => {
    const { run, calls } = start([{ fail: 'plain' }], { firstTokenTimeoutMs: 10_000 });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls).toHaveLength(1);
    expect(run.outcome).toBe('upstream_error');
  });

  it('a cancel during the backoff ends the run and makes no further attempt', async () => {
    const { run, calls } = start([{ fail: { reason: 'refused' } }], { firstTokenTimeoutMs: 10_000 });
    await vi.advanceTimersByTimeAsync(100);
    run.cancel();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls).toHaveLength(1);
    expect(run.status).toBe('cancelled');
  });

  it('maxUpstreamAttempts 1 disables retries', async () => {
    const { run, calls } = start([{ fail: { reason: 'refused' } }], {
      firstTokenTimeoutMs: 10_000,
      maxUpstreamAttempts: 1,
    });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls).toHaveLength(1);
    expect(errorMessage(run)).toBe('attempt 1 failed.');
  });
});
