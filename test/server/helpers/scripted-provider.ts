/**
 * A provider driven by the test: it yields what `push` gives it, ends on `end()`, fails on
 * `fail()`, and records every call and whether its signal was aborted (a cancel or timeout must
 * reach the model call).
 *
 * @module
 */
import type { Provider, ProviderEvent, ProviderRequest } from 'streamwell/server';
import { StreamwellError } from 'streamwell/server';

/** One call of the scripted provider. */
export interface ScriptedCall {
  readonly request: ProviderRequest;
  aborted: boolean;
  push(...events: ProviderEvent[]): void;
  tokens(...texts: string[]): void;
  end(): void;
  fail(error?: unknown): void;
}

/** The provider and its calls. */
export interface ScriptedProvider {
  readonly provider: Provider;
  readonly calls: ScriptedCall[];
  /** Resolves with call `index` once the run has called the provider that many times. */
  call(index: number): Promise<ScriptedCall>;
}

/**
 * Creates a scripted provider. With `autoReply`, every call streams those tokens at once and ends.
 *
 * @param options - `autoReply` tokens
 * @returns the provider
 */
export function createScriptedProvider(options: { autoReply?: readonly string[] } = {}): ScriptedProvider {
  const calls: ScriptedCall[] = [];
  const waiters = new Map<number, (call: ScriptedCall) => void>();
  const provider: Provider = {
    name: 'scripted',
    model: 'scripted-model',
    async *stream(request) {
      const queue: ProviderEvent[] = [];
      let ended = false;
      let failure: unknown;
      let wake: (() => void) | undefined;
      const call: ScriptedCall = {
        request,
        aborted: false,
        push(...events) {
          queue.push(...events);
          wake?.();
        },
        tokens(...texts) {
          call.push(...texts.map((text) => ({ type: 'text' as const, text })));
        },
        end() {
          ended = true;
          wake?.();
        },
        fail(error = new StreamwellError('upstream_error', 'scripted failure')) {
          failure = error;
          wake?.();
        },
      };
      calls.push(call);
      waiters.get(calls.length - 1)?.(call);
      request.signal.addEventListener('abort', () => {
        call.aborted = true;
        wake?.();
      });
      if (options.autoReply !== undefined) {
        call.tokens(...options.autoReply);
        call.end();
      }
      while (true) {
        if (request.signal.aborted) throw request.signal.reason;
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (failure !== undefined) throw failure;
        if (ended) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
  return {
    provider,
    calls,
    call(index) {
      const existing = calls[index];
      if (existing !== undefined) return Promise.resolve(existing);
      return new Promise((resolve) => waiters.set(index, resolve));
    },
  };
}
