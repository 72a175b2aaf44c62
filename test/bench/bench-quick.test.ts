/**
 * Keeps the benchmark harness working: runs a subset of `npm run bench -- --quick` (single
 * stream, resume with random drops, 1-byte fragmentation; peers direct, naive relay and the
 * streamwell reference server) and checks that it completes, writes a valid results file, and
 * that the sequence checks found no lost or duplicated token and no stream error. Then the same
 * for the Redis store's peer (single stream, resume on another instance), against the Redis on
 * 127.0.0.1:6379, and that the run leaves none of its keys behind.
 * It never asserts a timing: performance is what the benchmark reports, not what a test checks.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { canRun, requireSystemPart } from '../helpers/system-part.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'streamwell-bench-test-'));
const out = join(dir, 'results.json');
const redisOut = join(dir, 'results-redis.json');
const REDIS_URL = 'redis://127.0.0.1:6379';

const redis = requireSystemPart(
  `Redis at ${REDIS_URL}`,
  () =>
    canRun(process.execPath, [
      '--input-type=module',
      '-e',
      `import { createClient } from 'redis'; const client = createClient({ url: '${REDIS_URL}', socket: { reconnectStrategy: false } }); await client.connect(); await client.close();`,
    ]),
  'sudo apt-get install -y redis-server (then: redis-server --daemonize yes --save "")',
);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runBench(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'bench/src/main.ts', ...args], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

interface ResumeSummary {
  drops: number;
  lost: number;
  duplicated: number;
  idRegressions: number;
  replayedToFirstByte: { count: number };
  floorToFirstByte: { count: number };
}

interface Results {
  integrity: { lost: number; duplicated: number; errors: number; tokens: number; notes: string[] };
  environment: { clock: { ok: boolean }; redis?: { prefix: string } | 'absent' };
  scenarios: {
    ttft?: { rows: Record<string, { ttftP50: number; storeCpuPerStreamMs?: number }> };
    resume?: ResumeSummary;
    'cross-resume'?: ResumeSummary;
    fragmentation?: { variants: Record<string, Record<string, { tokensPerSecond: number; lost: number }>> };
  };
}

describe('npm run bench -- --quick (subset)', () => {
  it('completes with every token delivered once, and writes valid JSON', { timeout: 120_000 }, async () => {
    const { code, stderr } = await runBench([
      '--quick',
      '--only',
      'ttft,resume,fragmentation',
      '--peers',
      'direct,naive,streamwell',
      '--out',
      out,
    ]);
    expect(code, stderr.slice(-2000)).toBe(0);
    const results = JSON.parse(readFileSync(out, 'utf8')) as Results;
    expect(results.environment.clock.ok).toBe(true);
    expect(results.integrity.notes).toEqual([]);
    expect(results.integrity.lost).toBe(0);
    expect(results.integrity.duplicated).toBe(0);
    expect(results.integrity.errors).toBe(0);
    expect(results.integrity.tokens).toBeGreaterThan(1000);
    expect(Object.keys(results.scenarios.ttft?.rows ?? {}).sort()).toEqual(['direct', 'naive', 'streamwell']);
    expect(results.scenarios.resume?.drops).toBe(300);
    expect(results.scenarios.resume?.lost).toBe(0);
    expect(results.scenarios.resume?.duplicated).toBe(0);
    expect(results.scenarios.resume?.idRegressions).toBe(0);
    // The reconnect pause leaves something to replay, and the floor server was probed.
    expect(results.scenarios.resume?.replayedToFirstByte.count).toBeGreaterThan(150);
    expect(results.scenarios.resume?.floorToFirstByte.count).toBeGreaterThan(10);
    const fragmented = results.scenarios.fragmentation?.variants['1-byte'] ?? {};
    for (const id of ['direct', 'naive', 'streamwell']) {
      expect(fragmented[id]?.tokensPerSecond, id).toBeGreaterThan(0);
      expect(fragmented[id]?.lost, id).toBe(0);
    }
  });
});

describe.skipIf(!redis.available)('npm run bench -- --quick (the Redis store)', () => {
  it('measures the Redis peer and resume on another instance, and deletes its keys', { timeout: 120_000 }, async () => {
    const { code, stderr } = await runBench([
      '--quick',
      '--only',
      'ttft,cross-resume',
      '--peers',
      'direct,streamwell,streamwell-redis',
      '--out',
      redisOut,
    ]);
    expect(code, stderr.slice(-2000)).toBe(0);
    const results = JSON.parse(readFileSync(redisOut, 'utf8')) as Results;
    expect(results.integrity.notes).toEqual([]);
    const row = results.scenarios.ttft?.rows['streamwell-redis'];
    expect(row?.ttftP50).toBeGreaterThan(0);
    // The Redis server's CPU is its own figure, next to the gateway's.
    expect(Number.isFinite(row?.storeCpuPerStreamMs)).toBe(true);
    expect(results.scenarios.ttft?.rows.streamwell?.storeCpuPerStreamMs).toBeUndefined();
    const cross = results.scenarios['cross-resume'];
    expect(cross?.drops).toBe(300);
    expect(cross?.lost).toBe(0);
    expect(cross?.duplicated).toBe(0);
    expect(cross?.idRegressions).toBe(0);
    expect(cross?.replayedToFirstByte.count).toBeGreaterThan(150);
    const environment = results.environment.redis;
    if (environment === undefined || environment === 'absent') throw new Error('no Redis in the results');
    expect(environment.prefix).toMatch(/^streamwell-bench-\d+-[a-z0-9]+-$/);
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    try {
      const left: string[] = [];
      for await (const keys of client.scanIterator({ MATCH: `${environment.prefix}*`, COUNT: 1000 }))
        left.push(...keys);
      expect(left).toEqual([]);
    } finally {
      await client.close();
    }
  });
});
