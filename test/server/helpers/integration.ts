/**
 * The reference server with its provider chosen from configuration (no injection), as
 * `npm start` runs it.
 *
 * @module
 */
import type { ServerConfig } from '../../../apps/server/src/config.ts';
import { startTestServer, type TestServer } from './test-server.ts';

/**
 * Starts the reference server with these configuration fields and no injected provider.
 *
 * @param config - configuration overrides (provider settings)
 * @returns the server
 */
export function createDefaultedTestServer(config: Partial<ServerConfig>): Promise<TestServer> {
  return startTestServer({ config });
}
