#!/usr/bin/env node
// `npm run build`: builds every workspace package that has a `build` script and sources, in the workspace
// order of the root package.json (the library first, so its declarations exist for the packages using it).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** True when `dir` holds at least one .ts/.tsx/.js/.jsx source (a package still being written may have none). */
function hasSources(dir) {
  if (!existsSync(dir)) return false;
  return readdirSync(dir, { withFileTypes: true, recursive: true }).some(
    (e) => e.isFile() && /\.(m?[jt]sx?)$/.test(e.name) && !/\.test\.[jt]sx?$/.test(e.name),
  );
}

let failed = false;
for (const ws of workspaces) {
  const dir = join(root, ws);
  const pkgFile = join(dir, 'package.json');
  if (!existsSync(pkgFile)) continue;
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  if (!pkg.scripts?.build) continue;
  if (!hasSources(join(dir, 'src'))) {
    console.log(`build: ${pkg.name} has no sources yet, skipped`);
    continue;
  }
  rmSync(join(dir, 'dist'), { recursive: true, force: true });
  const t0 = performance.now();
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: ${pkg.name} failed`);
    failed = true;
    break;
  }
  console.log(`build: ${pkg.name} → ${ws}/dist (${Math.round(performance.now() - t0)} ms)`);
}
process.exitCode = failed ? 1 : 0;
