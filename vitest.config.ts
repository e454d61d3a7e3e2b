import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Inside the workspace the packages resolve to their TypeScript sources (the "@codexos/source" export condition),
// in tests and in every node process a test spawns; published tarballs resolve to the compiled dist/.
const root = fileURLToPath(new URL('.', import.meta.url));
const { workspaces } = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { workspaces: string[] };
const alias = workspaces.flatMap((ws) => {
  const file = `${root}${ws}/package.json`;
  if (!existsSync(file)) return [];
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  const source = pkg.exports?.['.']?.['@codexos/source'];
  return source ? [{ find: new RegExp(`^${pkg.name}$`), replacement: `${root}${ws}/${source.slice(2)}` }] : [];
});
const nodeOptions = [process.env.NODE_OPTIONS, '--conditions=@codexos/source'].filter(Boolean).join(' ');

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/src/**/*.test.{ts,tsx}', 'packages/*/test/**/*.test.{ts,tsx}', 'test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    env: { NODE_OPTIONS: nodeOptions },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // A 2-core box: keep workers few so timing-sensitive integration tests are not starved.
    maxWorkers: 2,
  },
});
