import { describe, expect, it } from 'vitest';
import { importDriver } from './import-driver.ts';

describe('importDriver', () => {
  it('names the package to install when the import finds no package', async () => {
    // A real loader failure: a package that is not installed.
    const missing = (): Promise<unknown> => import('streamwell-test-missing-driver' as string);
    await expect(importDriver('pg', missing)).rejects.toMatchObject({
      code: 'invalid_config',
      message: 'DATABASE_URL selects PostgreSQL, which needs the package "pg": run npm install pg@8',
      cause: expect.objectContaining({ code: 'ERR_MODULE_NOT_FOUND' }),
    });
    await expect(importDriver('better-sqlite3', missing)).rejects.toMatchObject({
      message:
        'DATABASE_URL selects SQLite, which needs the package "better-sqlite3": run npm install better-sqlite3@12',
    });
  });

  it('returns the module, and lets any other failure through', async () => {
    expect(await importDriver('pg', async () => 'module')).toBe('module');
    const broken = new Error('native addon built for another Node');
    await expect(importDriver('better-sqlite3', () => Promise.reject(broken))).rejects.toBe(broken);
  });
});
