import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { DASHBOARD_DIR } from './support/build.ts';

// `npm run build` run from a test inherits vitest's NODE_ENV=test; the bundle must still be React's production
// build (the development build is several times slower, and the benchmarks and browser tests use this bundle).
it('builds React’s production bundle even when NODE_ENV is test', () => {
  const out = mkdtempSync(join(tmpdir(), 'codexos-dashboard-build-'));
  try {
    const vite = join(DASHBOARD_DIR, '..', '..', 'node_modules', 'vite', 'bin', 'vite.js');
    const r = spawnSync(
      process.execPath,
      [vite, 'build', '--config', join(DASHBOARD_DIR, 'vite.config.ts'), '--logLevel', 'warn', '--outDir', out],
      { cwd: DASHBOARD_DIR, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'test' } },
    );
    expect(r.status, r.stderr).toBe(0);
    const js = readdirSync(join(out, 'assets')).filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(1);
    const code = js.map((f) => readFileSync(join(out, 'assets', f), 'utf8')).join('\n');
    expect(code).not.toMatch(/jsxDEV|react-dom\.development/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 300_000);
