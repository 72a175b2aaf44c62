import { describe, expect, it } from 'vitest';
import { StreamwellError } from '../../errors/index.ts';
import { isStoreUnavailableError, toStoreError } from './to-store-error.ts';

const withCode = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });

describe('toStoreError', () => {
  it('maps "cannot reach the database" failures of pg, pg-pool and better-sqlite3 to store_unavailable', () => {
    const unavailable = [
      withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
      withCode('ECONNRESET'),
      withCode('57P01', 'terminating connection due to administrator command'),
      withCode('57P03', 'the database system is starting up'),
      withCode('08006'),
      withCode('53300', 'sorry, too many clients already'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      withCode('SQLITE_BUSY', 'database is locked'),
      withCode('SQLITE_IOERR_WRITE'),
      Object.assign(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')]), { code: undefined }),
    ];
    for (const error of unavailable) {
      expect(isStoreUnavailableError(error), String(error)).toBe(true);
      const mapped = toStoreError(error);
      expect(mapped).toMatchObject({ code: 'store_unavailable', status: 503, retryable: true, cause: error });
      // Clients see no driver text, host or database name.
      expect((mapped as Error).message).toBe('The conversation store is unavailable right now; retry shortly.');
    }
  });

  it('passes everything else through unchanged', () => {
    const others = [
      withCode('23505', 'duplicate key'),
      withCode('42P01', 'relation does not exist'),
      withCode('SQLITE_CONSTRAINT_PRIMARYKEY'),
      new TypeError('bug'),
      new StreamwellError('not_found', 'Unknown thread t.'),
      'text',
    ];
    for (const error of others) {
      expect(isStoreUnavailableError(error)).toBe(false);
      expect(toStoreError(error)).toBe(error);
    }
  });
});
