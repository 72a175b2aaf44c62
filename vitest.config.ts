import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (area: string): string =>
  fileURLToPath(new URL(`./packages/streamwell/src/${area}/index.ts`, import.meta.url));

// Tests import `streamwell/*` exactly as users do; the aliases point at the sources so that no
// build is needed first.
const alias = [
  { find: /^streamwell\/protocol$/, replacement: src('protocol') },
  { find: /^streamwell\/server$/, replacement: src('server') },
  { find: /^streamwell\/client$/, replacement: src('client') },
  { find: /^streamwell\/react$/, replacement: src('react') },
];

export default defineConfig({
  resolve: { alias },
  test: {
    // Integration suites bind loopback ports and spawn processes: keep them in separate forks
    // but do not oversubscribe the 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          include: ['packages/**/src/**/*.test.ts', 'apps/server/src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/node_modules/**', 'test/e2e/**', 'test/readme/fresh-clone.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'dom',
          environment: 'jsdom',
          include: ['packages/**/src/**/*.test.tsx', 'apps/web/src/**/*.test.tsx'],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.test.ts'],
          // One browser at a time on 2 cores.
          fileParallelism: false,
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          // A fresh clone, `npm install` and the README's commands: minutes of install and build.
          // CI runs it as its own step (`--project fresh-clone`) after the others.
          name: 'fresh-clone',
          environment: 'node',
          include: ['test/readme/fresh-clone.test.ts'],
        },
      },
    ],
  },
});
