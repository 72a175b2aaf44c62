/**
 * Waiting on a condition instead of sleeping: a test that sleeps a fixed time and then asserts
 * fails on a loaded machine, where the awaited work simply took longer.
 *
 * @module
 */

/** Options of {@link until}. */
export interface UntilOptions {
  /**
   * Gives up after this long, naming the condition. Not a performance budget: it only turns a hang
   * into a message before the test's own timeout would. @defaultValue 10000
   */
  readonly timeoutMs?: number;
  /** Time between two checks. @defaultValue 5 */
  readonly intervalMs?: number;
}

/**
 * Resolves as soon as `check` returns (or resolves to) true, checking it every few milliseconds.
 *
 * @param check - the condition; an async check is awaited before the next one starts
 * @param what - the condition in words, for the error
 * @param options - the give-up time
 * @throws Error naming `what` when the condition does not hold within `timeoutMs`
 * @example
 * await until(() => registry.get(streamId, undefined)?.subscriberCount === 0, 'the subscriber detached');
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  options: UntilOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`until: ${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 5));
  }
}
