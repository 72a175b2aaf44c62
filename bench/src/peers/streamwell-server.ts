/**
 * Peer: streamwell's reference server, the product path a user runs with `npm start`: the
 * environment goes through `loadConfig`, `createApp` builds the Fastify app (CORS, auth, the
 * stream routes, the run registry with ids, checkpoints and the resume log, metrics, logs), and
 * the OpenAI-compatible provider talks to the mock through `LLM_BASE_URL`. Only the listening
 * address differs from `apps/server/src/main.ts`: port 0 on loopback, reported to the
 * orchestrator. The `streamwell-redis` peer is this same server with `REDIS_URL` and
 * `REDIS_PREFIX` set (the Redis run store, as on several instances).
 *
 * @module
 */
// The built server and package (`npm run bench` builds first), as `npm start` runs them: the
// orchestrator starts this child without the `source` export condition.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createApp } from '../../../apps/server/dist/app.js';
import { loadConfig } from '../../../apps/server/dist/config.js';
import { announceReady, servePeer } from '../lib/child-side.ts';

// The default thread store, SQLite, as `npm start` opens it, but in a file of this run's own
// (removed at exit) rather than ./data/streamwell.db of the working directory.
const threadsFile = fileURLToPath(new URL(`../../results/tmp/threads-${process.pid}.db`, import.meta.url));
process.once('exit', () => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${threadsFile}${suffix}`, { force: true });
});
const config = loadConfig({
  ...process.env,
  PORT: '0',
  HOST: '127.0.0.1',
  LLM_BASE_URL: process.env.MOCK_URL,
  DATABASE_URL: process.env.DATABASE_URL ?? `file:${threadsFile}`,
});
const app = await createApp(config);
await app.fastify.listen({ port: 0, host: '127.0.0.1' });
const address = app.fastify.server.address();
announceReady({ port: typeof address === 'object' && address ? address.port : 0 });
servePeer();
