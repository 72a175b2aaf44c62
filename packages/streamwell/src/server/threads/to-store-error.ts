/**
 * Turns a database driver's "cannot reach the database right now" failures into one stable error,
 * `store_unavailable` (503, retryable), so that callers and HTTP clients see a clear, retryable
 * condition instead of a driver message. Everything else (a bug, a constraint) passes unchanged.
 *
 * @module
 */
import { isStreamwellError, StreamwellError } from '../../errors/index.ts';

/** Socket-level failures (node and pg use the system error codes). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * PostgreSQL SQLSTATEs that mean "not now": class 08 (connection exception), admin or crash
 * shutdown, "the database system is starting up", too many connections, out of resources.
 */
const POSTGRES_UNAVAILABLE = /^(08|57P0[1-3]|53[0-9]{3})/;

/** SQLite result codes that mean "not now" (a lock held too long, disk trouble). */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL)/;

/** pg and pg-pool say these in words, without a code. */
const POSTGRES_MESSAGES =
  /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Connection ended unexpectedly/i;

/**
 * Whether a driver error means the database cannot be reached right now.
 *
 * @param error - what a query threw
 * @returns true for connection, shutdown, lock-timeout and disk failures
 */
export function isStoreUnavailableError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if (isStreamwellError(error)) return error.code === 'store_unavailable';
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    (NETWORK_CODES.has(code) || POSTGRES_UNAVAILABLE.test(code) || SQLITE_UNAVAILABLE.test(code))
  ) {
    return true;
  }
  const message = (error as { message?: unknown }).message;
  if (typeof message === 'string' && POSTGRES_MESSAGES.test(message)) return true;
  // An AggregateError (happy eyeballs: every address refused) carries the codes in its parts.
  const errors = (error as { errors?: unknown }).errors;
  return Array.isArray(errors) && errors.some(isStoreUnavailableError);
}

/**
 * Maps an error thrown by a store query.
 *
 * @param error - what the query threw
 * @returns `StreamwellError` `store_unavailable` (503, retryable, the driver error as `cause`)
 *   when the database cannot be reached, otherwise `error` itself
 */
export function toStoreError(error: unknown): unknown {
  if (isStreamwellError(error) || !isStoreUnavailableError(error)) return error;
  // The message goes to HTTP clients: no host, database or driver text in it (the cause has them).
  return new StreamwellError('store_unavailable', 'The conversation store is unavailable right now; retry shortly.', {
    status: 503,
    retryable: true,
    cause: error,
  });
}
