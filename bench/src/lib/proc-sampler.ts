/**
 * CPU time and memory of processes, read from /proc (Linux only).
 *
 * CPU time is the sum of `/proc/<pid>/task/<tid>/schedstat` (nanoseconds on CPU, every thread)
 * with `/proc/<pid>/stat` utime+stime (10 ms ticks) as the fallback; RSS is `VmRSS` and the
 * peak `VmHWM` from `/proc/<pid>/status`.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';

/** One reading of a process (or a process tree). */
export interface ProcReading {
  /** CPU time used so far, nanoseconds. */
  readonly cpuNs: number;
  /** Resident set size, bytes. */
  readonly rssBytes: number;
  /** Peak resident set size, bytes. */
  readonly hwmBytes: number;
}

const TICK_NS = 1e9 / 100;

function readCpuNs(pid: number): number {
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8');
      total += Number(text.slice(0, text.indexOf(' ')));
    }
    if (total > 0) return total;
  } catch {
    // fall through to /proc/<pid>/stat
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_NS;
}

function readStatusKb(pid: number, key: string, status: string): number {
  const start = status.indexOf(`${key}:`);
  if (start < 0) throw new Error(`no ${key} for pid ${pid}`);
  return Number.parseInt(status.slice(start + key.length + 1).trim(), 10) * 1024;
}

/** Reads one process. Throws when it is gone. */
export function readProc(pid: number): ProcReading {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    cpuNs: readCpuNs(pid),
    rssBytes: readStatusKb(pid, 'VmRSS', status),
    hwmBytes: readStatusKb(pid, 'VmHWM', status),
  };
}

/** Reads several processes and adds them up (nginx master + worker, for instance). */
export function readProcs(pids: readonly number[]): ProcReading {
  let cpuNs = 0;
  let rssBytes = 0;
  let hwmBytes = 0;
  for (const pid of pids) {
    const reading = readProc(pid);
    cpuNs += reading.cpuNs;
    rssBytes += reading.rssBytes;
    hwmBytes += reading.hwmBytes;
  }
  return { cpuNs, rssBytes, hwmBytes };
}

/** Direct children of a process (from /proc/<pid>/task/<pid>/children). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Samples RSS of a set of processes every `intervalMs` until stopped. */
export interface RssSampler {
  stop(): { readonly samples: readonly number[]; readonly median: number; readonly max: number };
}

/** Starts sampling the summed RSS of `pids`. */
export function startRssSampler(pids: readonly number[], intervalMs = 250): RssSampler {
  const samples: number[] = [];
  const take = (): void => {
    try {
      samples.push(readProcs(pids).rssBytes);
    } catch {
      // a process exited; the caller notices elsewhere
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      const sorted = [...samples].sort((a, b) => a - b);
      return {
        samples,
        median: sorted[Math.floor(sorted.length / 2)] ?? 0,
        max: sorted[sorted.length - 1] ?? 0,
      };
    },
  };
}
