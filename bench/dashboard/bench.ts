// Dashboard benchmark, measured in Chromium (Debian's /usr/bin/chromium via playwright-core) against a real
// CodexOS server on port 0: first render of a 500-task workflow in the designer, frame times while dragging a
// node with a second client editing, event-to-paint lag of the live run view on a 1000-task run, bundle size.
// Writes bench/.out/dashboard.md.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { buildServer } from '@codexos/server';
import { chromium, type Page } from 'playwright-core';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { outPath } from '../out.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const { ensureDashboardBuilt, DIST_DIR } = await import(join(root, 'packages/dashboard/test/support/build.ts'));
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const pct = (v: number[], p: number) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
};
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');

/** A layered DAG: `width` tasks per layer, each depending on two tasks of the layer before. */
function layered(id: string, n: number, width: number) {
  return {
    id,
    name: `${n}-task benchmark`,
    tasks: Array.from({ length: n }, (_, i) => {
      const layer = Math.floor(i / width);
      const deps = layer === 0 ? [] : [...new Set([(layer - 1) * width + (i % width), (layer - 1) * width + ((i + 1) % width)])].map((d) => `t${d}`);
      return { id: `t${i}`, agentId: 'worker', input: { prompt: `step ${i}` }, ...(deps.length ? { dependencies: deps } : {}) };
    }),
  };
}

ensureDashboardBuilt();
const app = await buildServer({
  config: { store: { type: 'memory' }, workflow: { maxTasks: 5000, maxDepth: 5000, maxConcurrency: 64 } },
  orchestratorOptions: { collaboration: { storePath: ':memory:' } },
  agents: [{ id: 'worker', name: 'worker', handler: async (ctx) => ({ done: ctx.taskId }) }],
  dashboardDir: DIST_DIR,
  rateLimit: 1_000_000,
});
await app.listen({ port: 0, host: '127.0.0.1' });
const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
const token = (await app.codexos.tokens.create('bench', 'admin')).token;
const bob = (await app.codexos.tokens.create('bob', 'admin')).token;
const api = async (method: string, path: string, body?: unknown) => {
  const r = await fetch(url + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
};
await api('POST', '/api/workflows', { definition: layered('wf500', 500, 20) });
await api('POST', '/api/workflows', { definition: layered('wf1000', 1000, 25) });

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS });
async function page(path: string, init?: () => void): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await ctx.addInitScript((t) => localStorage.setItem('codexos.token', t), token);
  if (init) await ctx.addInitScript(init);
  const p = await ctx.newPage();
  await p.goto(`${url}/#${path}`);
  return p;
}
const waitNodes = (p: Page, n: number) =>
  p.waitForFunction((n) => document.querySelectorAll('.react-flow__node').length >= n && !document.querySelector('.react-flow__node[style*="hidden"]'), n, { polling: 'raf', timeout: 60_000 });

const log = (m: string) => console.error(`[dashboard bench ${new Date().toISOString().slice(11, 19)}] ${m}`);
log('server up; measuring first render');
// 1. First render. A first visit lays the 500 tasks out (positions go into the document); then fresh pages open it.
const warm = await page('/workflows/wf500');
await waitNodes(warm, 500);
await warm.context().close();
const renders: Array<{ total: number; afterSync: number }> = [];
for (let i = 0; i < 5; i++) {
  const p = await page('/workflows/wf500');
  await waitNodes(p, 500);
  renders.push(
    await p.evaluate(() => {
      const now = performance.now();
      const synced = performance.getEntriesByName('codexos:designer-synced')[0]?.startTime ?? Number.NaN;
      return { total: now, afterSync: now - synced };
    }),
  );
  await p.context().close();
}

log(`first render: ${renders.map((r) => Math.round(r.total)).join(', ')} ms`);
// 2. Drag a node for ~2 s while a second client renames tasks every 50 ms; frame intervals from rAF.
const designer = await page('/workflows/wf500');
await waitNodes(designer, 500);
const ydoc = new Y.Doc();
const provider = new WebsocketProvider(`${url.replace('http', 'ws')}/collab`, 'wf500', ydoc, { params: { token: bob }, WebSocketPolyfill: WebSocket as never, disableBc: true });
await new Promise<void>((r) => provider.once('sync', () => r()));
const box = await designer.evaluate(() => {
  const r = document.querySelector('.react-flow__node[data-id="t250"]')?.getBoundingClientRect();
  return r ? { x: r.x, y: r.y, width: r.width, height: r.height } : null;
});
if (!box) throw new Error('t250 not rendered');
// A string, not a function: tsx would wrap named inner functions in a helper the page does not have.
await designer.evaluate(`(() => {
  window.__frames = [];
  window.__stop = false;
  let last = performance.now();
  const tick = (t) => { window.__frames.push(t - last); last = t; if (!window.__stop) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
})()`);
let edits = 0;
const editor = setInterval(() => {
  const t = ydoc.getMap('tasks').get(`t${edits % 500}`) as Y.Map<unknown> | undefined;
  t?.set('name', `edited ${edits++}`);
}, 50);
await designer.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
await designer.mouse.down();
for (let i = 0; i < 120; i++) {
  await designer.mouse.move(box.x + box.width / 2 + i * 2, box.y + box.height / 2 + Math.sin(i / 10) * 40);
  await designer.waitForTimeout(16);
}
await designer.mouse.up();
const frames: number[] = await designer.evaluate(() => {
  const w = window as unknown as { __frames: number[]; __stop: boolean };
  w.__stop = true;
  return w.__frames.slice(1);
});
clearInterval(editor);
const remoteSeen = await designer.evaluate(() => [...document.querySelectorAll('.task-name')].filter((e) => e.textContent?.startsWith('edited')).length);
provider.destroy();
await designer.context().close();

log(`drag: ${frames.length} frames, ${edits} remote edits`);
// 3. Live run of 1000 tasks: time from each frame's newest event to the paint that shows it.
const started = await api('POST', '/api/executions', { workflowId: 'wf1000', input: {} }) as { executionId: string };
const live = await page(`/runs/${started.executionId}`, () => {
  (window as unknown as { __codexosLiveLag: unknown[] }).__codexosLiveLag = [];
});
await live.waitForFunction(() => document.querySelector('[data-testid=live-state]')?.textContent === 'finished', undefined, { timeout: 120_000, polling: 200 });
await live.waitForTimeout(500);
const lagPairs: Array<[number, number]> = await live.evaluate(() => (window as unknown as { __codexosLiveLag: Array<[number, number]> }).__codexosLiveLag);
const changes = Number(await live.getAttribute('[data-testid=live-state]', 'data-changes'));
const completedShown = await live.locator('[data-testid=run-graph] [data-status=completed]').count();
const lags = lagPairs.map(([at, painted]) => painted - at);
log(`live: ${lags.length} frames, ${changes} changes`);
await browser.close();
await app.close();

// 4. Bundle size.
const files = readdirSync(join(DIST_DIR, 'assets'));
const size = (f: string) => {
  const b = readFileSync(join(DIST_DIR, 'assets', f));
  return { raw: b.length, gz: gzipSync(b).length };
};
const rows = files.map((f) => ({ f, ...size(f) }));
const first = rows.filter((r) => r.f.startsWith('index-'));
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

const totals = renders.map((r) => r.total);
const md = `## Dashboard: designer render, drag, live run view, bundle (Chromium)

Debian Chromium headless (\`--disable-gpu\`, software rendering), 1280×800, against a real CodexOS server on port 0 on
this machine; \`node --import tsx bench/dashboard/bench.ts\`. Load while measuring: ${process.env.LOADAVG ?? (await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' / ')} (1/5/15 min).

| measure | result | target |
|---|---|---|
| open a 500-task workflow (20 wide × 25 deep): navigation start → all 500 nodes rendered, median of 5 (min–max) | ${f1(pct(totals, 50))} ms (${f1(Math.min(...totals))}–${f1(Math.max(...totals))}) | ≤ 1000 ms |
| … of which after the document synced (projection, layout-free render of 500 nodes) | ${f1(pct(renders.map((r) => r.afterSync), 50))} ms | |
| drag a node on the 500-task graph for 2 s while a second client renames a task every 50 ms: rAF frame interval p50 / p95 / p99 (${frames.length} frames) | ${f1(pct(frames, 50))} / ${f1(pct(frames, 95))} / ${f1(pct(frames, 99))} ms | p95 ≤ 16 ms |
| remote renames applied during the drag / visible on the canvas at the end | ${edits} / ${remoteSeen} nodes showing an edited name | |
| live view of a 1000-task run: status changes applied / expected (queued + started + completed per task) | ${changes} / 3000 | all |
| … tasks shown completed on the graph at the end | ${completedShown} / 1000 | 1000 |
| … event → paint lag per socket frame, p50 / p99 / max (${lags.length} frames) | ${f1(pct(lags, 50))} / ${f1(pct(lags, 99))} / ${f1(Math.max(...lags))} ms | p99 ≤ 100 ms |
| bundle: first load (index JS + CSS), gzip | ${kb(first.reduce((n, r) => n + r.gz, 0))} (raw ${kb(first.reduce((n, r) => n + r.raw, 0))}) | reported |
| bundle: everything incl. lazily loaded Analytics (charts), gzip | ${kb(rows.reduce((n, r) => n + r.gz, 0))} (raw ${kb(rows.reduce((n, r) => n + r.raw, 0))}) | reported |

Frame intervals are measured with requestAnimationFrame in the page: a 60 Hz frame is 16.7 ms, so "p95 ≤ 16 ms"
reads as "no dropped frames at the 95th percentile". The live-view lag is the browser's paint time minus the
server's timestamp of the newest event in each socket frame (same machine, same clock); it includes the server's
per-tick batching, the socket, React's render of the 1000-node graph and the paint.
`;
writeFileSync(outPath('dashboard.md'), md);
console.log(md);
process.exit(0);
