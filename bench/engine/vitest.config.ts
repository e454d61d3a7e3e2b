// The bench harness's own tests (not part of the root suite): npx vitest run -c bench/engine/vitest.config.ts
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: { include: ['bench/engine/**/*.test.ts'], testTimeout: 60_000 },
});
