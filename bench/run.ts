// `npm run bench`: runs every benchmark area that exists (engine, models, collab, monitor, server, dashboard,
// distributed), each script in its own process, then assembles bench/RESULTS.md. Scripts write their per-area output
// to bench/.out/<area>.md (untracked); RESULTS.md is the only tracked result. Each area's section sits between
// `<!-- area:NAME -->` markers, so an area that did not run this time keeps its last section as it was.
// An area's entry is bench/<area>/bench.ts; without one, every top-level .ts file of the area that no other
// file of the area names (so helpers and spawned child scripts are skipped).
// Flags: --only engine,collab   run just these areas;   --assemble-only   rebuild RESULTS.md from bench/.out/*.md.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUT_DIR, outPath } from './out.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const AREAS = ['engine', 'models', 'collab', 'monitor', 'server', 'dashboard', 'distributed'] as const;
const TITLES: Record<string, string> = {
  engine: 'Engine overhead',
  models: 'Model layer',
  collab: 'Collaboration',
  monitor: 'Monitoring overhead',
  server: 'Server',
  dashboard: 'Dashboard',
  distributed: 'Distributed',
};
/** Arguments an entry needs to write its output (the others write to bench/.out by themselves). */
const ENTRY_ARGS: Record<string, string[]> = { 'monitor/overhead.ts': ['--out', outPath('monitor.md')] };
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
    const args = ENTRY_ARGS[relative(benchDir, file).split('\\').join('/')] ?? [];
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: benchDir, stdio: 'inherit' });
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

const MARK = /^<!-- area:([\w-]+) -->$/;
const END = (area: string) => `<!-- /area:${area} -->`;

/** The sections of an assembled RESULTS.md, by area: the text between `<!-- area:X -->` and `<!-- /area:X -->`. */
export function sectionsOf(results: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = results.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = MARK.exec(lines[i]);
    if (!m) continue;
    const end = lines.indexOf(END(m[1]), i + 1);
    if (end < 0) break;
    out.set(m[1], lines.slice(i + 1, end).join('\n').trim());
    i = end;
  }
  return out;
}

/**
 * RESULTS.md from its header lines, the fresh outputs of this run (area → markdown) and the previous RESULTS.md:
 * a fresh area replaces its section, every other area keeps its previous section unchanged.
 */
export function assembleResults(header: string[], fresh: Map<string, string>, previous: string, areas: readonly string[]): string {
  const kept = sectionsOf(previous);
  const extra = [...new Set([...fresh.keys(), ...kept.keys()])].filter((a) => !areas.includes(a)).sort();
  const L = [...header];
  for (const area of [...areas, ...extra]) {
    const now = fresh.get(area);
    const text = now !== undefined ? nestHeadings(now.trim()) : kept.get(area);
    L.push('', '---', '', `<!-- area:${area} -->`);
    L.push(text ?? `## ${TITLES[area] ?? area}\n\nNo results yet: \`cd bench && node --import tsx run.ts --only ${area}\`.`);
    L.push(END(area));
  }
  return `${L.join('\n')}\n`;
}

function assemble(ran: Array<{ file: string; code: number | null; seconds: number }>, areasRun: string[] | 'all', since: number): void {
  const present = existsSync(OUT_DIR) ? readdirSync(OUT_DIR).filter((f) => f.endsWith('.md')).map((f) => f.slice(0, -3)) : [];
  const fresh = new Map<string, string>();
  // Only outputs written by the areas run now (all of .out with --assemble-only): an area whose script failed
  // before writing, or that did not run, keeps its previous section rather than an older file's.
  for (const area of present) {
    const f = join(OUT_DIR, `${area}.md`);
    if (areasRun === 'all' || (areasRun.includes(area) && statSync(f).mtimeMs >= since)) fresh.set(area, readFileSync(f, 'utf8'));
  }
  const L: string[] = [];
  L.push('# CodexOS benchmark results');
  L.push('');
  L.push("Reproduce: at the repository root, `npm run bench` (it builds the library with `npm run build`, then runs `cd bench && npm ci && node --import tsx run.ts`).");
  L.push('One area: `cd bench && node --import tsx run.ts --only engine` (the other sections stay as they are); rebuild this file from');
  L.push('the outputs of the last runs on this machine (`bench/.out/*.md`): `cd bench && node --import tsx run.ts --assemble-only`.');
  L.push('Each section below names its own command, run date and machine; every peer number sits beside ours from the same run,');
  L.push('and the ratios are what we track (absolute numbers move between machines). Method and workloads: `bench/README.md`.');
  L.push('');
  L.push(`Assembled ${new Date().toISOString()} on Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${process.platform} ${release()}.`);
  L.push(`Sections written by this assembly: ${[...fresh.keys()].join(', ') || 'none'}.`);
  if (ran.length) {
    L.push('');
    L.push('Scripts run for this assembly:');
    for (const r of ran) L.push(`- \`${r.file}\`: ${r.code === 0 ? 'ok' : `**exit ${r.code}**`} (${r.seconds} s)`);
  }
  const file = join(benchDir, 'RESULTS.md');
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : '';
  writeFileSync(file, assembleResults(L, fresh, previous, AREAS));
  console.log(`\nwrote ${file}`);
}

async function main(): Promise<void> {
  const ran: Array<{ file: string; code: number | null; seconds: number }> = [];
  const since = Date.now();
  if (!process.argv.includes('--assemble-only')) {
    const only = arg('--only')?.split(',');
    for (const area of AREAS) {
      if (only && !only.includes(area)) continue;
      for (const file of entriesOf(join(benchDir, area))) ran.push(await runScript(file));
    }
  }
  assemble(ran, process.argv.includes('--assemble-only') ? 'all' : (arg('--only')?.split(',') ?? [...AREAS]), since);
  if (ran.some((r) => r.code !== 0)) process.exitCode = 1;
}

// Only when run directly, so tests can import entriesOf() and assembleResults().
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
