/**
 * Loads an optional database driver (a peer dependency), or says which package to install.
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';

/** The drivers, with the versions that work on Node 20. */
const DRIVERS = {
  'better-sqlite3': { database: 'SQLite', install: 'better-sqlite3@12' },
  pg: { database: 'PostgreSQL', install: 'pg@8' },
} as const;

/**
 * Runs `load` (the driver's dynamic import).
 *
 * @param name - the driver package
 * @param load - `() => import(name)`
 * @returns what `load` returned
 * @throws StreamwellError `invalid_config` naming the package to install when it (or a package
 *   it needs) cannot be found; any other failure unchanged
 */
export async function importDriver<T>(name: keyof typeof DRIVERS, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error;
    const driver = DRIVERS[name];
    throw new StreamwellError(
      'invalid_config',
      `DATABASE_URL selects ${driver.database}, which needs the package "${name}": run npm install ${driver.install}`,
      { cause: error },
    );
  }
}
