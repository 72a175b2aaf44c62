/**
 * Peer: nginx (Debian package) as a plain SSE proxy in front of the mock, the "one C hop"
 * floor: HTTP/1.1 to an upstream keep-alive pool, `proxy_buffering off`, one worker pinned to the
 * gateway core.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canPin, trackProcess } from '../lib/child.ts';
import { sleep } from '../lib/clock.ts';
import { childPids } from '../lib/proc-sampler.ts';

/** Where Debian installs nginx. */
export const NGINX_BINARY = '/usr/sbin/nginx';

/** The nginx version, or undefined when nginx is not installed. */
export function nginxVersion(): string | undefined {
  if (!existsSync(NGINX_BINARY)) return undefined;
  try {
    const output = execFileSync(NGINX_BINARY, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return output.trim() || 'nginx';
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr;
    return stderr?.trim() || undefined;
  }
}

/** Asks the kernel for a free ephemeral port (nginx cannot listen on port 0 and report it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function config(dir: string, port: number, upstreamPort: number): string {
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 19000; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_timeout 60s;
  upstream mock { server 127.0.0.1:${upstreamPort}; keepalive 2048; }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_cache off;
      proxy_read_timeout 3600s;
      gzip off;
    }
  }
}
`;
}

/** A running nginx. */
export interface NginxPeer {
  readonly port: number;
  readonly pid: number;
  /** Master and worker pids (for CPU and RSS). */
  pids(): number[];
  stop(): Promise<void>;
}

/** Starts nginx in front of the mock, pinned to `core`. */
export async function startNginx(upstreamPort: number, core: number | undefined): Promise<NginxPeer> {
  const dir = mkdtempSync(join(tmpdir(), 'streamwell-bench-nginx-'));
  mkdirSync(join(dir, 'body'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), config(dir, port, upstreamPort));
    const args = ['-p', dir, '-c', join(dir, 'nginx.conf')];
    const child: ChildProcess =
      core !== undefined && canPin()
        ? spawn('taskset', ['-c', String(core), NGINX_BINARY, ...args], { stdio: 'ignore' })
        : spawn(NGINX_BINARY, args, { stdio: 'ignore' });
    trackProcess(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    for (let i = 0; i < 50 && child.exitCode === null; i++) {
      await sleep(20);
      if (childPids(child.pid as number).length > 0) break;
    }
    if (child.exitCode === null && childPids(child.pid as number).length > 0) {
      return {
        port,
        pid: child.pid as number,
        pids: () => [child.pid as number, ...childPids(child.pid as number)],
        async stop() {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    child.kill('SIGKILL');
    await exited;
    if (attempt >= 3) {
      const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`nginx did not start: ${log.trim().split('\n').slice(-3).join(' | ')}`);
    }
  }
}
