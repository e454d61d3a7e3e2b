import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Browser tests run against the built bundle, as `codexos serve` serves it. Build when dist/ is missing (a clean
// clone: dist/ is not committed) or older than any source file.

export const DASHBOARD_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST_DIR = join(DASHBOARD_DIR, 'dist');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export function ensureDashboardBuilt(): void {
  const index = join(DIST_DIR, 'index.html');
  const sources = Math.max(
    newest(join(DASHBOARD_DIR, 'src')),
    ...['index.html', 'vite.config.ts'].map((f) => statSync(join(DASHBOARD_DIR, f)).mtimeMs),
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const vite = join(DASHBOARD_DIR, '..', '..', 'node_modules', 'vite', 'bin', 'vite.js');
  const r = spawnSync(
    process.execPath,
    [vite, 'build', '--config', join(DASHBOARD_DIR, 'vite.config.ts'), '--logLevel', 'warn'],
    {
      cwd: DASHBOARD_DIR,
      encoding: 'utf8',
      // Vitest sets NODE_ENV=test, which would make Vite bundle React's development build.
      env: { ...process.env, NODE_ENV: 'production' },
    },
  );
  if (r.status !== 0) throw new Error(`dashboard build failed:\n${r.stdout}\n${r.stderr}`);
}
