/**
 * Real reference-server processes for multi-instance suites: `node --conditions=source --import
 * tsx apps/server/src/main.ts` with a clean environment, `PORT=0`, and the address read from the
 * `streamwell listening on …` log line. Every process started here is tracked, so a suite's
 * `afterAll(stopServerProcesses)` leaves none behind, also after a failed test (a stopped
 * process is continued first, then killed).
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../apps/server/src/main.ts', import.meta.url));

/** A spawned server process, ready or not. */
export interface SpawnedServer {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What it wrote to stdout so far (JSON log lines). */
  stdout(): string;
  /** What it wrote to stderr so far. */
  stderr(): string;
}

/** A listening server process. */
export interface ServerProcess extends SpawnedServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
}

const spawned = new Set<SpawnedServer>();

/**
 * Spawns the reference server; does not wait for it to listen.
 *
 * @param env - variables on top of `PATH`, `HOME`, `TMPDIR`, `PORT=0`, `HOST=127.0.0.1` and `LOG_LEVEL=info`
 * @returns the process
 */
export function spawnServer(env: Record<string, string>): SpawnedServer {
  const base: Record<string, string> = { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' };
  for (const name of ['PATH', 'HOME', 'TMPDIR']) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN], {
    cwd: REPO_ROOT,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const server: SpawnedServer = {
    child,
    pid: child.pid as number,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
  };
  spawned.add(server);
  void exited.then(() => spawned.delete(server));
  return server;
}

/** The address in a `streamwell listening on …` JSON log line, if `text` has one. */
function listeningAddress(text: string): string | undefined {
  for (const line of text.split('\n')) {
    if (!line.includes('streamwell listening on')) continue;
    try {
      const record = JSON.parse(line) as { address?: unknown };
      if (typeof record.address === 'string') return record.address;
    } catch {
      // a partial line: the next chunk completes it
    }
  }
  return undefined;
}

/**
 * Spawns the reference server and waits until it listens.
 *
 * @param env - as for {@link spawnServer}
 * @returns the listening process
 * @throws Error with its output when it exits first
 */
export async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const server = spawnServer(env);
  const url = await new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const address = listeningAddress(server.stdout());
      if (address !== undefined) {
        server.child.stdout?.off('data', check);
        resolve(address);
      }
    };
    server.child.stdout?.on('data', check);
    void server.exited.then(({ code, signal }) =>
      reject(new Error(`server exited (${code ?? signal}) before listening:\n${server.stdout()}\n${server.stderr()}`)),
    );
  });
  return { ...server, url, port: Number(new URL(url).port) };
}

/** Kills every server process still running (continuing stopped ones first) and waits for their exit. */
export async function stopServerProcesses(): Promise<void> {
  const running = [...spawned];
  for (const server of running) {
    try {
      process.kill(server.pid, 'SIGCONT');
      server.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  await Promise.all(running.map((server) => server.exited));
}
