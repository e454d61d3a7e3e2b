import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// A static bundle served by `codexos serve` at `/`: relative asset URLs, no CDN, everything bundled.
export default defineConfig(({ command, mode }) => {
  // A build is React's production bundle whatever NODE_ENV the caller has: `npm run build` run from a test (vitest
  // sets NODE_ENV=test) would otherwise ship React's development build, several times slower.
  if (command === 'build' && mode === 'production') process.env.NODE_ENV = 'production';
  return {
    root: import.meta.dirname,
    base: './',
    plugins: [react()],
    build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000, sourcemap: false },
    server: {
      proxy: {
        '/api': { target: process.env.CODEXOS_URL ?? 'http://127.0.0.1:4000', changeOrigin: true, ws: true },
        '/collab': { target: process.env.CODEXOS_URL ?? 'http://127.0.0.1:4000', ws: true },
      },
    },
  };
});
