/**
 * The base of a registry decorator (the Redis registry, the conversations layer): a registry
 * that answers like another one, except for the calls it overrides.
 *
 * @module
 * @internal
 */
import type { RunRegistry } from './run-registry.ts';

/** The calls a decorator may replace. @internal */
export type RegistryOverrides = Partial<Pick<RunRegistry, 'start' | 'get' | 'attach' | 'cancel'>>;

/**
 * @param inner - the registry that answers everything not overridden (counts, drain, close)
 * @param overrides - the replaced calls
 * @returns the decorated registry (its counters read `inner` live)
 * @internal
 */
export function decorateRegistry(inner: RunRegistry, overrides: RegistryOverrides): RunRegistry {
  return {
    start: overrides.start ?? ((request) => inner.start(request)),
    get: overrides.get ?? ((streamId, owner) => inner.get(streamId, owner)),
    attach: overrides.attach ?? ((run, after, subscriber) => inner.attach(run, after, subscriber)),
    cancel: overrides.cancel ?? ((streamId, owner) => inner.cancel(streamId, owner)),
    get activeCount() {
      return inner.activeCount;
    },
    get retainedCount() {
      return inner.retainedCount;
    },
    get retainedBytes() {
      return inner.retainedBytes;
    },
    get draining() {
      return inner.draining;
    },
    get threads() {
      return inner.threads;
    },
    shutdown: (deadlineMs) => inner.shutdown(deadlineMs),
    close: () => inner.close(),
  };
}
