/**
 * Vite config of the reference web pages (`index.html`, and `ai-sdk.html`: the AI SDK `useChat`
 * example, served at `/ai-sdk`). The `streamwell/*` imports resolve to the library's sources, so
 * the pages build without building the library first.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const page = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

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
    // Two pages: the reference chat (`/`) and the AI SDK `useChat` example (`/ai-sdk`).
    rolldownOptions: {
      input: { main: page('./index.html'), aiSdk: page('./ai-sdk.html') },
    },
  },
});
