// Where the API's time goes: the server target runs under --cpu-prof while autocannon drives
// `POST /api/executions?wait=true` (1-task workflow, SQLite); prints the top self-time functions of the server.
// Usage (from bench/): node --import tsx server/profile.ts [seconds]
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const seconds = Number(process.argv[2] ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'cdx-server-prof-'));
const proc = spawn(
  process.execPath,
  ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', 'tsx', join(here, 'target.ts'), 'api'],
  { cwd: here, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
);
const info = await new Promise<{ port: number; token: string }>((resolve) => {
  let buf = '';
  proc.stdout?.on('data', (d) => {
    buf += d;
    const nl = buf.indexOf('\n');
    if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
  });
});
const r = await autocannon({
  url: `http://127.0.0.1:${info.port}/api/executions?wait=true`,
  method: 'POST',
  headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
  body: JSON.stringify({ workflowId: 'one', input: { n: 1 } }),
  connections: 8,
  duration: seconds,
});
proc.send('exit');
await new Promise((res) => proc.on('exit', res));
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error('no profile written');
const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
};
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let total = 0;
p.samples.forEach((id, i) => {
  const cf = byId.get(id)?.callFrame;
  if (!cf || cf.functionName === '(idle)' || cf.functionName === '(program)') return;
  const file = cf.url.startsWith('file://') ? relative(root, new URL(cf.url).pathname) : cf.url || '(native)';
  const key = `${cf.functionName || '(anonymous)'} ${file}:${cf.lineNumber + 1}`;
  const dt = p.timeDeltas[i] ?? 0;
  self.set(key, (self.get(key) ?? 0) + dt);
  total += dt;
});
console.log(`${r.requests.total} requests in ${seconds} s; busy CPU ${(total / 1000).toFixed(0)} ms (${((total / r.requests.total) | 0)} µs per request)`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROFILE_TOP ?? 40))) console.log(`${((100 * v) / total).toFixed(1).padStart(5)} % ${k}`);
// Inclusive time of the server's and the orchestrator's own functions (a function counted once per stack).
const parent = new Map<number, number>();
for (const n of p.nodes as Array<{ id: number; children?: number[] }>) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map<string, number>();
p.samples.forEach((id, i) => {
  const dt = p.timeDeltas[i] ?? 0;
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const cf = byId.get(cur)?.callFrame;
    if (!cf || !(cf.url.includes('/packages/') || (process.env.PROFILE_INCL === 'all' && cf.url.startsWith('file:')))) continue;
    const key = `${cf.functionName || '(anonymous)'} ${relative(root, new URL(cf.url).pathname)}:${cf.lineNumber + 1}`;
    if (seen.has(key)) continue;
    seen.add(key);
    incl.set(key, (incl.get(key) ?? 0) + dt);
  }
});
// `PROFILE_CALLERS=<function name>`: who that function's self time is spent for (nearest caller in packages/).
const target = process.env.PROFILE_CALLERS;
if (target) {
  const callers = new Map<string, number>();
  p.samples.forEach((id, i) => {
    if (byId.get(id)?.callFrame.functionName !== target) return;
    let cur = parent.get(id);
    while (cur !== undefined && !byId.get(cur)?.callFrame.url.includes('/packages/')) cur = parent.get(cur);
    const cf = cur === undefined ? undefined : byId.get(cur)?.callFrame;
    const key = cf ? `${cf.functionName || '(anonymous)'} ${relative(root, new URL(cf.url).pathname)}` : '(none)';
    callers.set(key, (callers.get(key) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  console.log(`callers of ${target}:`);
  for (const [k, v] of [...callers].sort((a, b) => b[1] - a[1]).slice(0, 15))
    console.log(`${((100 * v) / total).toFixed(1).padStart(5)} % ${k}`);
}
console.log('inclusive:');
for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROFILE_TOP ?? 40))) console.log(`${((100 * v) / total).toFixed(1).padStart(5)} % ${k}`);
process.exit(0);
