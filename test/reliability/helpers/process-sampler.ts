/**
 * Samples a server process from outside: resident memory and open file descriptors from
 * `/proc/PID` (what the kernel counts, whatever the process believes), heap and active handles
 * from its `/metrics` (prom-client's default metrics), and the streamwell gauges (running runs,
 * open stream responses, retained bytes). The soak asserts on these series.
 *
 * @module
 */
import { readdir, readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';

/** One sample of a server process. */
export interface ProcessSample {
  /** Milliseconds since the sampler started. */
  readonly atMs: number;
  /** `VmRSS` of `/proc/PID/status`. */
  readonly rssBytes: number;
  /** Entries of `/proc/PID/fd`. */
  readonly fds: number;
  /** `nodejs_heap_size_used_bytes`. */
  readonly heapUsedBytes: number;
  /** `nodejs_active_handles_total`: sockets, servers, timers that keep the loop alive. */
  readonly activeHandles: number;
  /** `streamwell_active_streams`: runs generating now. */
  readonly activeStreams: number;
  /** `streamwell_open_stream_responses`: connections following a run. */
  readonly openResponses: number;
  /** `streamwell_retained_bytes`: events kept for replay. */
  readonly retainedBytes: number;
  /**
   * The server's TCP connections the test knows of (its clients' sockets to it and the upstream's
   * sockets from it), counted as the descriptors are listed: `fds - knownConnections` is what
   * the server holds besides them, which must not grow with the load.
   */
  readonly knownConnections: number;
}

/** The numeric figures of a {@link ProcessSample}. */
export type SampleFigure = Exclude<keyof ProcessSample, 'atMs' | 'knownConnections'>;

/**
 * Reads the unlabelled samples of a Prometheus text exposition (labelled series are summed under
 * their metric name, which is what a total needs).
 *
 * @param text - the `/metrics` body
 * @returns metric name to value
 */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const name = match[1] as string;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    values.set(name, (values.get(name) ?? 0) + value);
  }
  return values;
}

/** Samples one server process; {@link ProcessSampler.close} frees its one keep-alive socket. */
export interface ProcessSampler {
  /** Takes one sample now. */
  sample(): Promise<ProcessSample>;
  /** Every sample taken so far, in order. */
  readonly samples: readonly ProcessSample[];
  /** Closes the socket used for `/metrics`. */
  close(): void;
}

/**
 * Creates a sampler of a server process.
 *
 * @param pid - the process
 * @param baseUrl - its `http://127.0.0.1:PORT`
 * @param knownConnections - counts the server's connections the test knows of (0 when omitted)
 * @returns the sampler
 */
export function createProcessSampler(
  pid: number,
  baseUrl: string,
  knownConnections: () => number = () => 0,
): ProcessSampler {
  // One kept-alive socket: the sampler adds one constant descriptor to the server, not a new
  // (and lingering) connection per sample.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const startedAt = performance.now();
  const samples: ProcessSample[] = [];

  const metrics = (): Promise<Map<string, number>> =>
    new Promise((resolve, reject) => {
      const req = request(`${baseUrl}/metrics`, { agent }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => {
          if (response.statusCode === 200) resolve(parseMetrics(body));
          else reject(new Error(`GET /metrics answered ${response.statusCode}`));
        });
        response.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });

  return {
    samples,
    async sample() {
      const fdList = readdir(`/proc/${pid}/fd`);
      const connections = knownConnections();
      const [status, fds, values] = await Promise.all([readFile(`/proc/${pid}/status`, 'utf8'), fdList, metrics()]);
      const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN);
      const value = (name: string): number => values.get(name) ?? Number.NaN;
      const taken: ProcessSample = {
        atMs: Math.round(performance.now() - startedAt),
        rssBytes: rssKb * 1024,
        fds: fds.length,
        heapUsedBytes: value('nodejs_heap_size_used_bytes'),
        activeHandles: value('nodejs_active_handles_total'),
        activeStreams: value('streamwell_active_streams'),
        openResponses: value('streamwell_open_stream_responses'),
        retainedBytes: value('streamwell_retained_bytes'),
        knownConnections: connections,
      };
      samples.push(taken);
      return taken;
    },
    close() {
      agent.destroy();
    },
  };
}

/** Min, max, median and last of one figure over samples. */
export interface FigureRange {
  readonly min: number;
  readonly max: number;
  readonly median: number;
  readonly final: number;
}

/**
 * Summarizes one figure of a series.
 *
 * @param samples - at least one sample
 * @param figure - which figure
 * @returns its range
 */
export function rangeOf(samples: readonly ProcessSample[], figure: SampleFigure): FigureRange {
  const values = samples.map((sample) => sample[figure]);
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
    median: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    final: values.at(-1) ?? Number.NaN,
  };
}

/**
 * The inspector address a process started with `--inspect=127.0.0.1:0` printed on stderr.
 *
 * @param stderr - what the process wrote to stderr so far
 * @returns its `ws://` URL, if printed yet
 */
export function inspectorUrlOf(stderr: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1];
}

/**
 * Makes a process run a full garbage collection now, through its inspector
 * (`HeapProfiler.collectGarbage`), so that its heap after a load is compared with its heap before
 * it, not with whatever garbage V8 has not yet collected.
 *
 * @param inspectorUrl - from {@link inspectorUrlOf}
 */
export async function collectGarbage(inspectorUrl: string): Promise<void> {
  const { WebSocket } = await import('ws');
  const socket = new WebSocket(inspectorUrl);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    await new Promise<void>((resolve, reject) => {
      socket.on('message', (data: Buffer) => {
        const reply = JSON.parse(data.toString()) as { id?: number; error?: { message: string } };
        if (reply.id !== 1) return;
        if (reply.error !== undefined) reject(new Error(`collectGarbage: ${reply.error.message}`));
        else resolve();
      });
      socket.once('error', reject);
      socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
    });
  } finally {
    socket.close();
  }
}
