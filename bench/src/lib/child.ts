/**
 * Starting and talking to the harness's child processes: the mock upstream, the gateways and
 * the load generator, each a Node process pinned to one core with `taskset`, talking to the
 * orchestrator over the IPC channel of `child_process.fork`.
 *
 * @module
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childPids } from './proc-sampler.ts';

/** The repository root (children run from there so `--import tsx` resolves). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Node flags every TypeScript child needs. */
const TS_FLAGS = ['--import', 'tsx'];
/**
 * Resolves the workspace packages to their TypeScript sources. Not for a child that measures
 * streamwell: that one runs the built package, as `npm start` does.
 */
const SOURCE_CONDITION = '--conditions=source';

let tasksetChecked: boolean | undefined;

/** True when `taskset` exists and the machine has at least two cores to pin to. */
export function canPin(): boolean {
  if (tasksetChecked === undefined) {
    try {
      execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
      tasksetChecked = true;
    } catch {
      tasksetChecked = false;
    }
  }
  return tasksetChecked;
}

/** A running child. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  /** What the child announced when it was ready (its port, for instance). */
  readonly info: Record<string, unknown>;
  /** Sends a request and resolves with the child's answer to it. */
  request<T = unknown>(message: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** Messages the child sends without being asked (progress marks). */
  onMessage(listener: (message: Record<string, unknown>) => void): void;
  /** Kills the child (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
  readonly process: ChildProcess;
}

/** How to start a child. */
export interface ChildOptions {
  readonly name: string;
  /** Script path relative to the repository root. */
  readonly script: string;
  readonly args?: readonly string[];
  readonly env?: Record<string, string>;
  /** Core (or `taskset -c` list, e.g. `0-1`) to pin to; undefined leaves it unpinned. */
  readonly core?: number | string | undefined;
  /** Extra Node flags (for instance `--cpu-prof`). */
  readonly nodeFlags?: readonly string[];
  /** How long to wait for the child's `ready` message. */
  readonly readyTimeoutMs?: number;
  /**
   * Resolve workspace packages to their built `dist` (what `npm start` runs) instead of their
   * TypeScript sources. @defaultValue false
   */
  readonly built?: boolean;
}

const live = new Set<ChildProcess>();

/** Registers a process started outside {@link startChild} (nginx) so that it is killed on exit. */
export function trackProcess(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** Kills every child still alive, and their own children (nginx workers), on exit or fatal errors. */
export function killAllChildren(): void {
  for (const child of live) {
    const pids = [child.pid, ...childPids(child.pid ?? 0)];
    for (const pid of pids) {
      try {
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  live.clear();
}

/**
 * Forks a TypeScript child and waits until it sends `{type: 'ready', ...info}`.
 *
 * @param options - script, pinning and environment
 * @returns the ready child
 */
export async function startChild(options: ChildOptions): Promise<Child> {
  const nodeArgs = [...(options.built ? [] : [SOURCE_CONDITION]), ...TS_FLAGS, ...(options.nodeFlags ?? [])];
  const pinned = options.core !== undefined && canPin();
  const child = fork(options.script, options.args ?? [], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
    ...(pinned
      ? { execPath: 'taskset', execArgv: ['-c', String(options.core), process.execPath, ...nodeArgs] }
      : { execArgv: nodeArgs }),
  });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const listeners: ((message: Record<string, unknown>) => void)[] = [];
  child.on('message', (raw) => {
    const message = raw as Record<string, unknown>;
    if (message.type === 'reply') {
      const entry = pending.get(message.id as number);
      pending.delete(message.id as number);
      if (message.error) entry?.reject(new Error(`${options.name}: ${String(message.error)}`));
      else entry?.resolve(message.value);
      return;
    }
    for (const listener of listeners) listener(message);
  });
  void exited.then(() => {
    for (const entry of pending.values()) entry.reject(new Error(`${options.name} exited (code ${child.exitCode})`));
    pending.clear();
  });
  const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${options.name} was not ready within ${options.readyTimeoutMs ?? 30_000} ms`)),
      options.readyTimeoutMs ?? 30_000,
    );
    const onReady = (message: Record<string, unknown>): void => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      resolve(message);
    };
    listeners.push(onReady);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited before it was ready (code ${code})`));
    });
  });
  return {
    name: options.name,
    pid: child.pid as number,
    info,
    process: child,
    request<T>(message: Record<string, unknown>, timeoutMs = 600_000): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${options.name}: no answer to ${String(message.type)} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as T);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.send({ ...message, id });
      });
    },
    onMessage(listener) {
      listeners.push(listener);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
