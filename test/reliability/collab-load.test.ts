import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { presenceDigest } from './fixtures/collab-digest.js';
import { SOAK } from './helpers.js';
import { here, type IpcProc, ipcProc, rssMb } from './procs.js';

// Many stock y-websocket clients on one workflow document of one collaboration server (the server's /collab
// socket), the server in its own process and the clients spread over several: each client announces presence
// and writes its own keys at a steady rate for the period. Afterwards every client's document digest (state
// vector and content, order-independent) equals the server's, every document holds exactly the edits sent (none
// dropped), and every client holds every client's last presence. Each process reports its peak RSS.
// CI: 50 clients over 2 processes for 3 s; SOAK=1: 1000 clients over 4 processes for 60 s.

const CLIENTS = SOAK ? 1000 : 50;
const PROCS = SOAK ? 4 : 2;
const PERIOD_MS = SOAK ? 60_000 : 3_000;
const EDIT_EVERY_MS = SOAK ? 10_000 : 500;
const PRESENCE_EVERY_MS = SOAK ? 5_000 : 250;
const SETTLE_MS = SOAK ? 1_200_000 : 60_000;
const DOC = 'load-doc';
/** LOAD_PROGRESS=<file>: a line per stage, and every 10 s each process's resident memory (the soak takes minutes). */
const progress = (line: string) =>
  process.env.LOAD_PROGRESS && appendFileSync(process.env.LOAD_PROGRESS, `${new Date().toISOString()} ${line}\n`);

interface Usage {
  peakRssMb: number;
  cpuMs: number;
  heapAfterGcMb?: number;
}
interface ServerState extends Usage {
  hash: string;
  edits: number;
}
interface ClientResult {
  hash: string;
  edits: number;
  presence: string;
  presenceEntries: number;
  updates: number;
  closes: Record<string, number>;
}

describe('collaboration load, clients in several processes', () => {
  it(`${CLIENTS} clients in ${PROCS} processes with presence for ${PERIOD_MS / 1000} s: no dropped update, all converge`, async () => {
    const tsx = ['--expose-gc', '--import', 'tsx'];
    const server = ipcProc([...tsx, join(here, 'fixtures', 'collab-server.ts'), DOC]);
    const procs: IpcProc[] = [];
    const sampler = setInterval(() => {
      const rss = [server, ...procs].map((p) => rssMb(p.child.pid) ?? '-').join(' / ');
      progress(`rss MB (server / clients…): ${rss}`);
    }, 10_000);
    try {
      const { url, token } = await server.next<{ url: string; token: string }>('ready', 120_000);
      const t0 = Date.now();
      const per = Math.ceil(CLIENTS / PROCS);
      for (let i = 0; i < PROCS; i++) {
        const config = {
          url,
          token,
          doc: DOC,
          first: i * per,
          count: Math.min(per, CLIENTS - i * per),
          periodMs: PERIOD_MS,
          editEveryMs: EDIT_EVERY_MS,
          presenceEveryMs: PRESENCE_EVERY_MS,
          settleMs: SETTLE_MS,
        };
        procs.push(ipcProc([...tsx, join(here, 'fixtures', 'collab-clients.ts')], { CDX_LOAD_CLIENTS: JSON.stringify(config) }));
      }
      await Promise.all(procs.map((p) => p.next('joined', SOAK ? 1_200_000 : 120_000)));
      const joinedS = (Date.now() - t0) / 1000;
      progress(`${CLIENTS} clients synced in ${joinedS.toFixed(0)} s`);

      const ask = async () => (server.send({ type: 'state' }), server.next<ServerState>('state', 120_000));
      const before = await ask();
      const started = Date.now();
      for (const p of procs) p.send({ type: 'go' });
      const done = await Promise.all(
        procs.map((p) => p.next<{ edits: number; cursors: Array<[number, number]>; periodMs: number }>('done', PERIOD_MS + 600_000)),
      );
      const sent = done.reduce((a, d) => a + d.edits, 0);
      const cursors = done.flatMap((d) => d.cursors);
      const presenceSet = cursors.reduce((a, [, n]) => a + n, 0);
      const presence = presenceDigest(cursors);
      const periodS = Math.max(...done.map((d) => d.periodMs)) / 1000;
      progress(`period over: ${sent} edits, ${presenceSet} presence updates sent`);

      for (const p of procs) p.send({ type: 'settle', total: sent, presence });
      const results = await Promise.all(
        procs.map((p) => p.next<{ results: ClientResult[] } & Usage>('result', SETTLE_MS + 120_000)),
      );
      const settledS = (Date.now() - started) / 1000;
      const after = await ask();
      progress(`settled ${settledS.toFixed(0)} s after the period began`);

      // Every client announced itself under its own awareness id and wrote at least once.
      expect(new Set(cursors.map(([id]) => id)).size).toBe(CLIENTS);
      expect(sent).toBeGreaterThanOrEqual(CLIENTS);
      // The server holds exactly the edits sent; every client holds the server's document and everyone's last
      // presence. Mismatches are collected so a failure names them all at once.
      expect(after.edits).toBe(sent);
      const all = results.flatMap((r) => r.results);
      expect(all).toHaveLength(CLIENTS);
      const off = all.flatMap((r, i) =>
        r.hash === after.hash && r.edits === sent && r.presence === presence
          ? []
          : [`client ${i}: ${r.edits}/${sent} edits, presence ${r.presenceEntries}/${CLIENTS} entries${r.presence === presence ? '' : ' (stale)'}`],
      );
      expect(off, `${off.length} clients did not converge`).toEqual([]);
      // Each client received the others' edits from the server (its own are not echoed back).
      const updates = all.map((r) => r.updates);
      expect(Math.min(...updates)).toBeGreaterThan(0);

      const closes: Record<string, number> = {};
      for (const r of all) for (const [code, n] of Object.entries(r.closes)) closes[code] = (closes[code] ?? 0) + n;
      const cpuS = (after.cpuMs - before.cpuMs) / 1000;
      const mb = (u: Usage) => `${u.peakRssMb}${u.heapAfterGcMb === undefined ? '' : ` (heap after GC ${u.heapAfterGcMb})`}`;
      console.info(
        `load (collaboration): ${CLIENTS} clients in ${PROCS} processes for ${PERIOD_MS / 1000} s ` +
          `(${periodS.toFixed(0)} s in the slowest process): ${sent} edits ` +
          `(${(CLIENTS * PERIOD_MS) / EDIT_EVERY_MS} at the nominal rate) and ${presenceSet} presence updates sent; ` +
          `updates received per client ${Math.min(...updates)}–${Math.max(...updates)} (${updates.reduce((a, b) => a + b, 0)} in all); ` +
          `socket closes by code ${JSON.stringify(closes)}; converged: all ${CLIENTS} digests equal the server's, ` +
          `${sent}/${sent} edits and every presence held; joined in ${joinedS.toFixed(0)} s, settled ${settledS.toFixed(0)} s ` +
          `after the period began; peak RSS MB server ${mb(after)}, clients ${results.map(mb).join(' / ')}; ` +
          `server CPU ${cpuS.toFixed(1)} s over those ${settledS.toFixed(0)} s, client processes ${results.map((r) => (r.cpuMs / 1000).toFixed(1)).join(' / ')} s in all`,
      );
    } finally {
      clearInterval(sampler);
      for (const p of procs) p.send({ type: 'stop' });
      server.send({ type: 'stop' });
      await Promise.all([server, ...procs].map((p) => Promise.race([p.exit, new Promise((r) => setTimeout(r, 5000))])));
      await Promise.all([server, ...procs].map((p) => p.stop('SIGKILL')));
    }
  }, 3_600_000);
});
