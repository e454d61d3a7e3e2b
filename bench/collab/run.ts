// Collaboration benchmark: our server beside y-websocket's server (@y/websocket-server 0.1.1) and Hocuspocus 3,
// same wire clients, same run, loopback only. Each server runs in a fresh child process per scenario group.
// Usage (from the repo root): node --import tsx bench/collab/run.ts [--quick]
// Diagnosis: [--only=fanout|awareness|join|thousand] [--kinds=ours,y-websocket] [--cpu-prof=<dir>] (profiles the server child)
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as Y from 'yjs';
import { BenchClient, type Framing } from './client.ts';
import { outPath } from '../out.ts';

const here = dirname(fileURLToPath(import.meta.url));
const QUICK = process.argv.includes('--quick');
const ALL_KINDS = ['ours', 'y-websocket', 'hocuspocus'] as const;
type Kind = (typeof ALL_KINDS)[number];
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const KINDS = (arg('kinds')?.split(',') as Kind[] | undefined) ?? ALL_KINDS;
const PROF_DIR = arg('cpu-prof');
const framing = (k: Kind): Framing => (k === 'hocuspocus' ? 'hp' : 'yws');

interface ServerProc {
  url: string;
  stats(): Promise<{ cpu: number; rss: number; heap: number }>;
  stop(): void;
}

async function startServer(kind: Kind): Promise<ServerProc> {
  const prof = PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`] : [];
  const child: ChildProcess = spawn(process.execPath, ['--expose-gc', ...prof, '--import', 'tsx', join(here, 'server.ts'), kind], {
    cwd: join(here, '..'),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const queue: Array<(l: string) => void> = [];
  let portResolve: (p: number) => void;
  const port = new Promise<number>((r) => (portResolve = r));
  lines.on('line', (l) => {
    if (l.startsWith('PORT ')) portResolve(Number(l.slice(5)));
    else if (l.startsWith('{')) queue.shift()?.(l);
  });
  const p = await port;
  return {
    url: `ws://127.0.0.1:${p}`,
    stats: () =>
      new Promise((resolve) => {
        queue.push((l) => resolve(JSON.parse(l)));
        child.stdin!.write('stats\n');
      }),
    // SIGINT lets a profiled child write its profile (server.ts exits on it)
    stop: () => child.kill(PROF_DIR ? 'SIGINT' : 'SIGKILL'),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) return false;
    await sleep(1);
  }
  return true;
}
const pct = (xs: number[], p: number) => {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function connectMany(kind: Kind, url: string, doc: string, n: number, withDocs: number, opts: Partial<ConstructorParameters<typeof BenchClient>[0]> = {}) {
  const out: BenchClient[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 50); j++) {
      const c = new BenchClient({ url, doc, framing: framing(kind), token: `u${j}`, withDoc: j < withDocs, ...opts });
      out.push(c);
      batch.push(c.ready);
    }
    await Promise.all(batch);
  }
  return out;
}

/** Sequential edits by client 0; latency until every other client has observed each. */
async function editLatencies(clients: BenchClient[], edits: number): Promise<number[]> {
  const editor = clients[0];
  const others = clients.slice(1);
  const lat: number[] = [];
  const tasks = editor.doc!.getMap('tasks');
  for (let i = 0; i < edits; i++) {
    const before = others.map((c) => c.updates);
    const t0 = performance.now();
    tasks.set(`t${i % 50}`, `v${i}`);
    const ok = await until(() => others.every((c, k) => c.updates > before[k]), 5000);
    // a server that cannot deliver within 5 s is recorded at 5000 ms (a floor, shown as ≥ 5000)
    lat.push(ok ? Math.max(...others.map((c) => c.lastUpdateAt)) - t0 : 5000);
  }
  return lat;
}

async function fanout(kind: Kind) {
  const srv = await startServer(kind);
  try {
    const clients = await connectMany(kind, srv.url, 'fanout', 200, 10);
    await editLatencies(clients, 20);
    const lat = await editLatencies(clients, QUICK ? 50 : 200);
    clients.forEach((c) => c.close());
    return { p50: pct(lat, 50), p99: pct(lat, 99) };
  } finally {
    srv.stop();
  }
}

async function awareness(kind: Kind) {
  const srv = await startServer(kind);
  try {
    const lat: number[] = [];
    const clients = await connectMany(kind, srv.url, 'aw', 50, 0, {
      echo: true,
      onAwareness: (_id, _clock, state) => {
        const t = (JSON.parse(state) as { t?: number }).t;
        if (t) lat.push(performance.now() - t);
      },
    });
    await sleep(300);
    lat.length = 0;
    const seconds = QUICK ? 2 : 5;
    const s0 = await srv.stats();
    const w0 = performance.now();
    const timers = clients.map((c, i) => {
      const start = setTimeout(() => {
        const iv = setInterval(() => c.setAwareness({ cursor: { x: Math.random() * 1000, y: 1 }, t: performance.now() }), 100);
        timers2.push(iv);
      }, (i * 100) / clients.length);
      return start;
    });
    const timers2: NodeJS.Timeout[] = [];
    await sleep(seconds * 1000);
    timers.forEach(clearTimeout);
    timers2.forEach(clearInterval);
    const s1 = await srv.stats();
    const cpu = ((s1.cpu - s0.cpu) / 1000 / (performance.now() - w0)) * 100;
    await sleep(200);
    clients.forEach((c) => c.close());
    return { p99: pct(lat, 99), p50: pct(lat, 50), cpu, deliveries: lat.length };
  } finally {
    srv.stop();
  }
}

async function joinSync(kind: Kind) {
  const srv = await startServer(kind);
  try {
    const [writer] = await connectMany(kind, srv.url, 'big', 1, 1);
    const tasks = writer.doc!.getMap('tasks');
    writer.doc!.transact(() => {
      for (let i = 0; i < 500; i++) {
        const t = new Y.Map<unknown>();
        t.set('name', `Task ${i}`);
        t.set('agentId', `agent-${i % 7}`);
        t.set('dependencies', Y.Array.from(i ? [`t${i - 1}`] : []));
        tasks.set(`t${i}`, t as never);
      }
    });
    const edits = QUICK ? 2000 : 10_000;
    for (let i = 0; i < edits; i++) {
      (tasks.get(`t${i % 500}`) as Y.Map<unknown>).set('name', `Task ${i % 500} v${i}`);
      if (i % 500 === 0) await sleep(0);
    }
    // a reader proves the server holds everything before joins are timed
    const [probe] = await connectMany(kind, srv.url, 'big', 1, 1);
    await until(() => (probe.doc!.getMap('tasks').get('t0') as Y.Map<unknown> | undefined)?.get('name') === writer.doc!.getMap('tasks').get('t0') && false, 0);
    const want = JSON.stringify(tasks.toJSON());
    await until(() => JSON.stringify(probe.doc!.getMap('tasks').toJSON()) === want, 10_000);
    probe.close();
    const times: number[] = [];
    for (let i = 0; i < (QUICK ? 10 : 30); i++) {
      const t0 = performance.now();
      const c = new BenchClient({ url: srv.url, doc: 'big', framing: framing(kind), token: `j${i}`, withDoc: true });
      await c.ready;
      times.push(performance.now() - t0);
      if (c.doc!.getMap('tasks').size !== 500) throw new Error('joiner did not get the full document');
      c.close();
    }
    writer.close();
    return { p50: pct(times.slice(3), 50) };
  } finally {
    srv.stop();
  }
}

async function thousand(kind: Kind) {
  const srv = await startServer(kind);
  try {
    const n = QUICK ? 300 : 1000;
    const base = await srv.stats();
    const clients = await connectMany(kind, srv.url, 'crowd', n, 2);
    await sleep(500);
    const after = await srv.stats();
    const kbPerClient = (after.rss - base.rss) / 1024 / n;
    const heapKbPerClient = (after.heap - base.heap) / 1024 / n;
    // presence: everyone sets a state once (spread over 1 s), then edits are timed while it settles
    const s0 = await srv.stats();
    const w0 = performance.now();
    clients.forEach((c, i) => setTimeout(() => c.setAwareness({ user: { name: `User ${i}` }, cursor: { x: i, y: i } }), (i * 1000) / n));
    await sleep(1000);
    const lat = await editLatencies(clients, 30);
    if (process.env.COLLAB_BENCH_DEBUG) console.error('thousand edit latencies', lat.map((x) => x.toFixed(1)).join(' '));
    const s1 = await srv.stats();
    const cpu = ((s1.cpu - s0.cpu) / 1000 / (performance.now() - w0)) * 100;
    clients.forEach((c) => c.close());
    return { kbPerClient, heapKbPerClient, cpu, p99: pct(lat, 99) };
  } finally {
    srv.stop();
  }
}

const ONLY = arg('only');
if (ONLY) {
  const fns = { fanout, awareness, join: joinSync, thousand } as Record<string, (k: Kind) => Promise<unknown>>;
  for (const kind of KINDS) console.log(kind, JSON.stringify(await fns[ONLY](kind)));
  process.exit(0);
}
const results: Record<string, Record<Kind, Record<string, number>>> = { fanout: {} as never, awareness: {} as never, join: {} as never, thousand: {} as never };
const started = performance.now();
// Other processes share this machine: the 1-minute load average is sampled through the run and reported.
const loads: number[] = [];
const loadSampler = setInterval(() => loads.push(loadavg()[0]), 1000);
const loadAt: Record<string, number> = {};
for (const kind of KINDS) {
  loadAt[kind] = loadavg()[0];
  console.error(`[collab bench] ${kind}: fan-out`);
  results.fanout[kind] = await fanout(kind);
  console.error(`[collab bench] ${kind}: awareness`);
  results.awareness[kind] = await awareness(kind);
  console.error(`[collab bench] ${kind}: join + sync`);
  results.join[kind] = await joinSync(kind);
  console.error(`[collab bench] ${kind}: 1000 clients`);
  results.thousand[kind] = await thousand(kind);
}
clearInterval(loadSampler);
const loadLine = `Load average (1 min, ${cpus().length} cores) sampled each second: min ${Math.min(...loads).toFixed(2)}, mean ${(loads.reduce((a, b) => a + b, 0) / loads.length).toFixed(2)}, max ${Math.max(...loads).toFixed(2)}; at the start of each server's scenarios: ${KINDS.map((k) => `${k} ${loadAt[k].toFixed(2)}`).join(', ')}.`;
const f = (x: number, d = 1) => (Number.isFinite(x) ? (x >= 5000 ? '≥ 5000' : x.toFixed(d)) : 'n/a');
const ratio = (ours: number, peer: number) => (Number.isFinite(ours) && Number.isFinite(peer) && ours > 0 ? `${(peer / ours).toFixed(2)}×` : 'n/a');
const r = results;
const rows = [
  ['edit fan-out, 200 clients: all-observed p50 / p99 ms', (k: Kind) => `${f(r.fanout[k].p50)} / ${f(r.fanout[k].p99)}`, '≤ 4 / ≤ 7', ratio(r.fanout.ours.p99, r.fanout['y-websocket'].p99)],
  ['awareness, 50 clients × 10 Hz (echoing clients): per-delivery p99 ms / server CPU %', (k: Kind) => `${f(r.awareness[k].p99)} / ${f(r.awareness[k].cpu, 0)}`, '≤ 4 / ≤ 20', ratio(r.awareness.ours.cpu, r.awareness['y-websocket'].cpu)],
  ['join + full sync, 500 tasks after 10 000 edits: p50 ms', (k: Kind) => f(r.join[k].p50), '≤ 25', ratio(r.join.ours.p50, r.join['y-websocket'].p50)],
  [`${QUICK ? 300 : 1000} clients, no presence: server KB per client (RSS; heap+buffers)`, (k: Kind) => `${f(r.thousand[k].kbPerClient)} (${f(r.thousand[k].heapKbPerClient)})`, '≤ 20', ratio(r.thousand.ours.kbPerClient, r.thousand['y-websocket'].kbPerClient)],
  [`${QUICK ? 300 : 1000} clients with presence: server CPU % / edit all-observed p99 ms`, (k: Kind) => `${f(r.thousand[k].cpu, 0)} / ${f(r.thousand[k].p99)}`, '≤ 35 / ≤ 30', ratio(r.thousand.ours.p99, r.thousand['y-websocket'].p99)],
] as const;
// Verdict per target from this run's own numbers; the reasons are what profiling the server showed.
const checks: Array<[string, (k: Kind) => number, number, string, string]> = [
  ['fan-out p50 ms', (k) => r.fanout[k].p50, 4, 'ms', 'per edit the server encodes one frame and writes it to every socket; most of that is the kernel\'s socket write'],
  ['fan-out p99 ms', (k) => r.fanout[k].p99, 7, 'ms', 'the tail is scheduling: 200 client sockets and the server share two cores'],
  ['awareness p99 ms', (k) => r.awareness[k].p99, 4, 'ms', 'echoing clients send every remote change back (O(N²) inbound); the server drops echoes but must still read and decode them'],
  ['awareness server CPU %', (k) => r.awareness[k].cpu, 20, ' %', 'decoding the echoed awareness updates of 50 clients at 10 Hz'],
  ['join + sync p50 ms', (k) => r.join[k].p50, 25, 'ms', 'the document state is encoded once per version and cached for joiners'],
  ['KB per client', (k) => r.thousand[k].kbPerClient, 20, ' KB', 'one state object per socket, shared listeners'],
  ['presence CPU %', (k) => r.thousand[k].cpu, 35, ' %', 'coalesced awareness broadcasts: one frame per event-loop turn written to every socket'],
  ['presence edit p99 ms', (k) => r.thousand[k].p99, 30, 'ms', 'the slowest of 30 edits is one timed while the clients still process the burst of presence updates'],
];
const verdicts = checks.map(([name, get, max, unit, why]) => {
  const v = get('ours');
  const peers = `${f(get('y-websocket'))} / ${f(get('hocuspocus'))}`;
  const verdict = Number.isFinite(v) && v <= max ? 'met' : `**missed** by ${f(v - max)}${unit}`;
  return `| ${name} ≤ ${max} | ${f(v)} | ${peers} | ${verdict} | ${why} |`;
});
const md = [
  '# Collaboration: CodexOS vs y-websocket server vs Hocuspocus 3',
  '',
  `Command: \`node --import tsx bench/collab/run.ts${QUICK ? ' --quick' : ''}\` (from the repo root). Node ${process.version}, ${new Date().toISOString()}, whole run ${((performance.now() - started) / 1000).toFixed(0)} s.`,
  'Each server runs alone in a fresh child process per scenario; all use the same wire clients (bench/collab/client.ts) over loopback.',
  loadLine,
  'Peers: @y/websocket-server 0.1.1, @hocuspocus/server 3.4.x (no extensions). Ours: `startCollabServer` with an in-memory SQLite store, audit trail on.',
  '',
  '| test | CodexOS | y-websocket | Hocuspocus 3 | target | y-websocket ÷ ours |',
  '|---|---:|---:|---:|---:|---:|',
  ...rows.map(([name, cell, target, rt]) => `| ${name} | ${cell('ours')} | ${cell('y-websocket')} | ${cell('hocuspocus')} | ${target} | ${rt} |`),
  '',
  '### Targets: met or missed in this run, and why',
  '',
  '| target | CodexOS | y-websocket / Hocuspocus 3 | verdict | why |',
  '|---|---:|---:|---|---|',
  ...verdicts,
  '',
  'Notes: the awareness clients re-send remote changes the way stock y-websocket providers do (the O(N²) echo); the',
  '1000-client presence phase sets each client\'s state once (spread over 1 s) without echo, then times 30 edits.',
  'CPU % is server process user+system time over wall time of the phase (100 % = one core).',
  '',
  '```json',
  JSON.stringify(results, null, 1),
  '```',
  '',
].join('\n');
writeFileSync(outPath('collab.md'), md);
console.log(md);
process.exit(0);
