/**
 * Peer wrapper: streamwell's reference server exactly as `npm start` runs it
 * (`node apps/server/dist/main.js`), with `WORKERS` from the environment (1: one process; 2: the
 * cluster's primary and two workers on one port) and the Redis store. The wrapper picks a free
 * port, starts the server on it, waits until every worker answers `/healthz` (each new connection
 * reaches the next worker), then reports the port to the orchestrator. SIGTERM drains the server
 * as an operator's would.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { announceReady, serveRequests } from '../lib/child-side.ts';

const workers = Number(process.env.WORKERS ?? '1');
const main = fileURLToPath(new URL('../../../apps/server/dist/main.js', import.meta.url));
const threadsFile = fileURLToPath(new URL(`../../results/tmp/threads-${process.pid}.db`, import.meta.url));
const attachments = fileURLToPath(new URL(`../../results/tmp/attachments-${process.pid}`, import.meta.url));

/** A port nothing listens on now (the server binds it a moment later; loopback, this run only). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** `/healthz` on a new connection: the worker that answered (0 without workers), or undefined. */
function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () => {
        try {
          resolve(response.statusCode === 200 ? ((JSON.parse(body) as { worker?: number }).worker ?? 0) : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    request.on('error', () => resolve(undefined));
  });
}

const port = await freePort();
const server = spawn(
  process.execPath,
  [...(process.env.BENCH_STREAMWELL_FLAGS?.split(' ').filter(Boolean) ?? []), main],
  {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LLM_BASE_URL: process.env.MOCK_URL,
      DATABASE_URL: `file:${threadsFile}`,
      CHATKIT_ATTACHMENTS_DIR: attachments,
      WORKERS: String(workers),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  },
);
const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
process.once('exit', () => {
  server.kill('SIGKILL');
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${threadsFile}${suffix}`, { force: true });
  rmSync(attachments, { recursive: true, force: true });
});
const seen = new Set<number>();
const deadline = Date.now() + 110_000;
while (seen.size < workers && Date.now() < deadline) {
  if (server.exitCode !== null) throw new Error(`the server exited (${server.exitCode}) before it answered`);
  const worker = await probe(port);
  if (worker === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
  else seen.add(worker);
}
if (seen.size < workers) throw new Error(`only workers ${[...seen].join(', ')} of ${workers} answered`);
announceReady({ port, pid: server.pid });
process.on('SIGTERM', () => {
  server.kill('SIGTERM');
  void exited.then(() => process.exit(0));
});
serveRequests(() => null);
