/**
 * Vite config of the reference web page. The `streamwell/*` imports resolve to the library's
 * sources, so the page builds without building the library first.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const source = (area: string): string =>
  fileURLToPath(new URL(`../../packages/streamwell/src/${area}/index.ts`, import.meta.url));

/** The API the dev server proxies to (`npm run dev` at the root serves it on 8000). */
const api = process.env.STREAMWELL_API ?? 'http://127.0.0.1:8000';

export default defineConfig({
  base: '/',
  plugins: [react()],
  resolve: {
    alias: [
      { find: /^streamwell\/client$/, replacement: source('client') },
      { find: /^streamwell\/react$/, replacement: source('react') },
      { find: /^streamwell\/protocol$/, replacement: source('protocol') },
    ],
  },
  server: {
    proxy: {
      '/api': { target: api, changeOrigin: false },
      '/ws': { target: api.replace(/^http/, 'ws'), ws: true },
      '/healthz': { target: api },
      '/metrics': { target: api },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 600,
  },
});
