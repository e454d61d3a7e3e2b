// `npm run bench`: runs every benchmark area that exists (engine, models, collab, monitor), each script in its
// own process, then assembles bench/RESULTS.md from bench/results/<area>.md in that fixed order.
// An area's entry is bench/<area>/bench.ts; without one, every top-level .ts file of the area that no other
// file of the area names (so helpers and spawned child scripts are skipped).
// Flags: --only engine,collab   run just these areas;   --assemble-only   rebuild RESULTS.md from results/*.md.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
const AREAS = ['engine', 'models', 'collab', 'monitor', 'server', 'dashboard'] as const;
const TITLES: Record<string, string> = {
  engine: 'Engine overhead',
  models: 'Model layer',
  collab: 'Collaboration',
  monitor: 'Monitoring overhead',
  server: 'Server',
  dashboard: 'Dashboard',
};
const SCRIPT_TIMEOUT_MS = 30 * 60_000;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (f === 'node_modules') return [];
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

export function entriesOf(areaDir: string): string[] {
  if (!existsSync(areaDir)) return [];
  const main = join(areaDir, 'bench.ts');
  if (existsSync(main)) return [main];
  const all = walk(areaDir).filter((f) => /\.(ts|mts)$/.test(f) && !f.endsWith('.d.ts'));
  const texts = new Map(all.map((f) => [f, readFileSync(f, 'utf8')]));
  return readdirSync(areaDir)
    .map((f) => join(areaDir, f))
    .filter((f) => texts.has(f) && !/\.test\.ts$/.test(f) && basename(f) !== 'types.ts')
    .filter((f) => {
      const stem = basename(f).replace(/\.(ts|mts)$/, '');
      const named = new RegExp(`['"/]${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\.m?[jt]s)?['"]`);
      return ![...texts].some(([other, text]) => other !== f && named.test(text));
    })
    .sort();
}

function runScript(file: string): Promise<{ file: string; code: number | null; seconds: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    console.log(`\n=== ${relative(benchDir, file)} ===`);
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: benchDir, stdio: 'inherit' });
    const timer = setTimeout(() => child.kill('SIGTERM'), SCRIPT_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ file: relative(benchDir, file), code, seconds: Math.round((Date.now() - t0) / 1000) });
    });
  });
}

/** Shifts an area's markdown headings so its top level is `##` under RESULTS.md's `#` (code fences untouched). */
export function nestHeadings(md: string): string {
  const lines = md.split('\n');
  let fence = false;
  let min = 7;
  for (const l of lines) {
    if (/^\s*(```|~~~)/.test(l)) fence = !fence;
    else if (!fence && /^#{1,6} /.test(l)) min = Math.min(min, l.indexOf(' '));
  }
  const shift = min <= 6 ? 2 - min : 0;
  if (shift <= 0) return md;
  fence = false;
  return lines
    .map((l) => {
      if (/^\s*(```|~~~)/.test(l)) fence = !fence;
      else if (!fence && /^#{1,5} /.test(l)) return '#'.repeat(shift) + l;
      return l;
    })
    .join('\n');
}

function assemble(ran: Array<{ file: string; code: number | null; seconds: number }>): void {
  const resultsDir = join(benchDir, 'results');
  const present = existsSync(resultsDir) ? readdirSync(resultsDir).filter((f) => f.endsWith('.md')) : [];
  const extra = present.map((f) => f.slice(0, -3)).filter((a) => !(AREAS as readonly string[]).includes(a)).sort();
  const L: string[] = [];
  L.push('# CodexOS benchmark results');
  L.push('');
  L.push("Reproduce: at the repository root, `npm run bench` (it builds the library with `npm run build`, then runs `cd bench && npm ci && node --import tsx run.ts`).");
  L.push('One area: `cd bench && node --import tsx run.ts --only engine`; rebuild this file from `bench/results/*.md`:');
  L.push('`cd bench && node --import tsx run.ts --assemble-only`. Each section below names its own command, run date and machine;');
  L.push('every peer number sits beside ours from the same run, and the ratios are what we track (absolute numbers move');
  L.push('between machines). Method and workloads: `bench/README.md`.');
  L.push('');
  L.push(`Assembled ${new Date().toISOString()} on Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${process.platform} ${release()}.`);
  if (ran.length) {
    L.push('');
    L.push('Scripts run for this assembly:');
    for (const r of ran) L.push(`- \`${r.file}\`: ${r.code === 0 ? 'ok' : `**exit ${r.code}**`} (${r.seconds} s)`);
  }
  for (const area of [...AREAS, ...extra]) {
    L.push('');
    L.push('---');
    L.push('');
    const f = join(resultsDir, `${area}.md`);
    if (existsSync(f)) L.push(nestHeadings(readFileSync(f, 'utf8').trimEnd()));
    else L.push(`## ${TITLES[area] ?? area}\n\nNo results yet (\`bench/results/${area}.md\` is missing).`);
  }
  writeFileSync(join(benchDir, 'RESULTS.md'), `${L.join('\n')}\n`);
  console.log(`\nwrote ${join(benchDir, 'RESULTS.md')}`);
}

async function main(): Promise<void> {
  const ran: Array<{ file: string; code: number | null; seconds: number }> = [];
  if (!process.argv.includes('--assemble-only')) {
    const only = arg('--only')?.split(',');
    for (const area of AREAS) {
      if (only && !only.includes(area)) continue;
      for (const file of entriesOf(join(benchDir, area))) ran.push(await runScript(file));
    }
  }
  assemble(ran);
  if (ran.some((r) => r.code !== 0)) process.exitCode = 1;
}

// Only when run directly, so tests can import entriesOf().
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
