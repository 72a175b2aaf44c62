/**
 * The `streamwell` bin as npm links it. npm links a package's bins only when their target file
 * exists, and in a workspace it links them before `prepare` builds `dist/`: a bin pointing into
 * `dist/` was never linked in a fresh clone. The target must be a committed file.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PACKAGE = fileURLToPath(new URL('../../packages/streamwell/', import.meta.url));
const manifest = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  files: string[];
};
const target = manifest.bin.streamwell as string;

describe('the streamwell bin', () => {
  it('points at a file committed to git (present in a fresh clone before any build) and published', () => {
    const tracked = execFileSync('git', ['ls-files', '--', target], { cwd: PACKAGE, encoding: 'utf8' });
    expect(tracked.trim(), `${target} is not a committed file`).not.toBe('');
    expect(manifest.files).toContain(target.replace(/^\.\//, '').split('/')[0]);
  });

  it('runs the built CLI', () => {
    const outcome = spawnSync(process.execPath, [join(PACKAGE, target), '--help'], { encoding: 'utf8' });
    expect(outcome.status, outcome.stderr).toBe(0);
    expect(outcome.stdout).toMatch(/^Usage: streamwell <command>/);
  });

  it('says how to build when dist/ is missing, instead of a module-not-found trace', () => {
    const folder = mkdtempSync(join(tmpdir(), 'streamwell-bin-'));
    try {
      mkdirSync(join(folder, 'bin'));
      writeFileSync(join(folder, 'package.json'), '{"type":"module"}');
      copyFileSync(join(PACKAGE, target), join(folder, 'bin', 'streamwell.js'));
      const outcome = spawnSync(process.execPath, [join(folder, 'bin', 'streamwell.js'), '--help'], {
        encoding: 'utf8',
      });
      expect(outcome.status).toBe(1);
      expect(outcome.stderr).toMatch(/not built yet.*npm run build:lib/);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
