/**
 * Key names of the Redis run store. A run's keys share the hash tag `{<streamId>}`, so the
 * scripts that touch several of them stay in one Redis Cluster slot.
 *
 * @module
 * @internal
 */

/** The keys of one run. */
export interface RunKeys {
  /** The Redis stream of the run's events, entry ids `0-<eventId>`. */
  readonly events: string;
  /** Hash: status, producing instance, owner, thread, and the summary once ended. */
  readonly meta: string;
  /** The producer's lease: its instance id, with a TTL it refreshes. */
  readonly lease: string;
  /** Present (with a TTL) while a reader on some instance follows the run. */
  readonly readers: string;
}

/**
 * @param prefix - `REDIS_PREFIX`
 * @param streamId - the run's id
 * @returns the run's keys
 */
export function runKeys(prefix: string, streamId: string): RunKeys {
  const base = `${prefix}run:{${streamId}}`;
  return { events: `${base}:events`, meta: `${base}:meta`, lease: `${base}:lease`, readers: `${base}:readers` };
}

/**
 * @param prefix - `REDIS_PREFIX`
 * @param instanceId - an instance's id
 * @returns the instance's control stream (cancel requests for the runs it produces)
 */
export function controlKey(prefix: string, instanceId: string): string {
  return `${prefix}ctl:{${instanceId}}`;
}

/**
 * @param prefix - `REDIS_PREFIX`
 * @param scope - hash of the principal and the key
 * @returns the key that maps an `Idempotency-Key` to its stream
 */
export function idempotencyKey(prefix: string, scope: string): string {
  return `${prefix}idem:${scope}`;
}
