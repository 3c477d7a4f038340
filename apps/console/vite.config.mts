import { resolve } from 'node:path';
import { defineConfig } from 'vite';

/** The operator console, served by the api under /console (see apps/api/src/console). */
export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  // Preact's automatic JSX runtime through Vite's own transformer: no Babel, no extra plugin.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: resolve(import.meta.dirname, '../../dist/console'),
    emptyOutDir: true,
    // One small script and one stylesheet; no module-preload polyfill injected into the page.
    modulePreload: false,
    sourcemap: true,
    target: 'es2022',
  },
});
