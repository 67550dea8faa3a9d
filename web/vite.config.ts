// Builds the dashboard into web/dist (served by src/http/dashboard.ts at /). `vite --config
// web/vite.config.ts` serves it with hot reload and forwards /graphql (HTTP, SSE and WebSocket) to
// a server on PRISM_AMI_URL (default http://127.0.0.1:4000).
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

const api = new URL(process.env.PRISM_AMI_URL ?? 'http://127.0.0.1:4000').origin;

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [preact({ devToolsEnabled: false, prerender: { enabled: false } })],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    // Small enough to inline nothing: one JS and one CSS file, both hashed and cached for good.
    assetsInlineLimit: 0,
    // One entry chunk: the modulepreload polyfill would be dead weight.
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
  server: {
    proxy: { '/graphql': { target: api, ws: true } },
  },
});
