/**
 * Runs a real nginx (Debian's `/usr/sbin/nginx`) in front of a loopback upstream, with a config
 * snippet for the proxied location, in its own temporary prefix. Used to build a deliberately
 * buffering, compressing proxy for the doctor tests.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A running nginx. */
export interface RunningNginx {
  /** e.g. http://127.0.0.1:PORT */
  readonly origin: string;
  stop(): Promise<void>;
}

/** nginx cannot report an ephemeral port, so take a free one from the kernel and hand it over. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null) {
        reject(new Error(`nginx exited with code ${child.exitCode}`));
        return;
      }
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nginx did not listen on ${port} within ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/**
 * Starts nginx proxying everything to `upstream` with `locationDirectives` in the location.
 *
 * @param upstream - e.g. http://127.0.0.1:PORT
 * @param locationDirectives - nginx directives for `location /`, e.g. `proxy_buffering on; gzip on;`
 * @returns the running proxy
 */
export async function startNginx(upstream: string, locationDirectives: string): Promise<RunningNginx> {
  const prefix = mkdtempSync(path.join(tmpdir(), 'streamwell-doctor-nginx-'));
  const port = await freePort();
  const config = `
worker_processes 1;
daemon off;
master_process off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass ${upstream};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      ${locationDirectives}
    }
  }
}
`;
  writeFileSync(path.join(prefix, 'nginx.conf'), config);
  const child = spawn('/usr/sbin/nginx', ['-p', prefix, '-c', path.join(prefix, 'nginx.conf')], { stdio: 'ignore' });
  try {
    await waitForPort(port, child, 10_000);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(prefix, { recursive: true, force: true });
    throw error;
  }
  return {
    origin: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
