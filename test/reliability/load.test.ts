import { appendFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { chain, type TestServer, testServer } from '../../packages/server/test/helpers.js';
import { SOAK } from './helpers.js';
import { until } from './procs.js';

// Load on one server over real sockets. Collaboration: many stock y-websocket clients on one workflow document,
// each announcing presence and writing its own keys for the whole period; afterwards every client holds every
// write (none dropped) and all documents are identical (same state vector, same content). Live events: many
// dashboard-style watchers on one run's WebSocket; each receives every event of the server's log, in order.
// CI: 50 clients for a few seconds, 20 watchers; SOAK=1: 1000 clients with presence for 60 s, 100 watchers.

const CLIENTS = SOAK ? 1000 : 50;
const PERIOD_MS = SOAK ? 60_000 : 3_000;
const EDITS = SOAK ? 2 : 5;
const PRESENCE_EVERY_MS = SOAK ? 15_000 : 500;
const WATCHERS = SOAK ? 100 : 20;
const RUN_TASKS = SOAK ? 200 : 40;
/** LOAD_PROGRESS=<file>: a line per stage of the collaboration run (the soak run takes minutes). */
const progress = (line: string) =>
  process.env.LOAD_PROGRESS && appendFileSync(process.env.LOAD_PROGRESS, `${new Date().toISOString()} ${line}\n`);

let s: TestServer;
let base: string;
beforeAll(async () => {
  // One token opens every socket here: the per-token rate limit (600/min, which upgrades count against) would
  // pace 1000 connections over two minutes.
  s = await testServer({ rateLimit: 1_000_000 });
  await s.app.listen({ port: 0, host: '127.0.0.1' });
  base = `127.0.0.1:${(s.app.server.address() as { port: number }).port}`;
  for (const [id, n, agent] of [
    ['load-doc', 4, 'worker'],
    ['load-run', RUN_TASKS, 'slow'],
  ] as const) {
    const r = await fetch(`http://${base}/api/workflows`, {
      method: 'POST',
      headers: { ...s.auth(s.ada), 'content-type': 'application/json' },
      body: JSON.stringify({ definition: chain(id, n, agent) }),
    });
    expect(r.status).toBe(201);
  }
});
afterAll(() => s.close());

describe('load on one server', () => {
  it(`${CLIENTS} collaboration clients with presence for ${PERIOD_MS / 1000} s: no dropped update, all converge`, async () => {
    const clients: Array<{ doc: Y.Doc; p: WebsocketProvider; presence: number }> = [];
    const t0 = Date.now();
    try {
      // Clients join in waves of 100 (a thousand simultaneous connects overflow the listen backlog and are reset,
      // then retried: slower, not a different outcome). Each joiner receives every presence entry so far.
      for (let i = 0; i < CLIENTS; i++) {
        const doc = new Y.Doc();
        const p = new WebsocketProvider(`ws://${base}/collab`, 'load-doc', doc, {
          WebSocketPolyfill: WebSocket as never,
          disableBc: true,
          params: { token: s.ada },
          maxBackoffTime: 500,
        });
        clients.push({ doc, p, presence: 0 });
        if (clients.length % 100 === 0 || i === CLIENTS - 1) {
          await until('clients synced', () => clients.every((c) => c.p.synced), SOAK ? 600_000 : 120_000, 50);
          progress(`${clients.length} clients synced`);
        }
      }
      const joinedMs = Date.now();
      // Each client spreads its writes (own keys: a lost one cannot hide behind another's) and presence over the
      // period.
      const started = Date.now();
      const writes = clients.map(async (c, i) => {
        for (let k = 0; k < EDITS; k++) {
          await new Promise((r) => setTimeout(r, (PERIOD_MS / EDITS) * Math.random()));
          c.doc.getMap('positions').set(`c${i}-e${k}`, { x: k, y: i });
        }
      });
      const presence = clients.map(async (c, i) => {
        while (Date.now() - started < PERIOD_MS) {
          c.p.awareness.setLocalStateField('cursor', { client: i, n: ++c.presence });
          await new Promise((r) => setTimeout(r, PRESENCE_EVERY_MS * (0.5 + Math.random())));
        }
      });
      await Promise.all([...writes, ...presence]);
      progress('period over');
      const total = CLIENTS * EDITS;
      await until(
        'every write everywhere',
        () => clients.every((c) => c.doc.getMap('positions').size >= total),
        SOAK ? 1_200_000 : 180_000,
        100,
      );
      const settledMs = Date.now() - started;
      const first = clients[0].doc;
      const sv = Buffer.from(Y.encodeStateVector(first)).toString('base64');
      // Key order in a Y.Map follows each replica's integration order: compare the entries sorted.
      const contentOf = (d: Y.Doc) => JSON.stringify(Object.entries(d.getMap('positions').toJSON()).sort(([a], [b]) => (a < b ? -1 : 1)));
      const content = contentOf(first);
      for (const [i, c] of clients.entries()) {
        expect(Buffer.from(Y.encodeStateVector(c.doc)).toString('base64'), `client ${i}`).toBe(sv);
        expect(contentOf(c.doc), `client ${i}`).toBe(content);
      }
      const positions = first.getMap('positions').toJSON() as Record<string, { x: number; y: number }>;
      for (let i = 0; i < CLIENTS; i++)
        for (let k = 0; k < EDITS; k++) expect(positions[`c${i}-e${k}`], `c${i}-e${k}`).toEqual({ x: k, y: i });
      // Presence: each client sees the others' latest cursors.
      const seen = clients[0].p.awareness.getStates();
      const others = [...seen.values()].filter((st) => (st as { cursor?: unknown }).cursor).length;
      expect(others).toBe(CLIENTS);
      const presenceUpdates = clients.reduce((a, c) => a + c.presence, 0);
      console.info(
        `load (collaboration): ${CLIENTS} clients for ${PERIOD_MS / 1000} s, ${total} writes and ${presenceUpdates} presence updates; ` +
          `every client holds all ${total} writes, state vectors and contents identical ` +
          `(joined in ${((joinedMs - t0) / 1000).toFixed(0)} s, settled ${(settledMs / 1000).toFixed(0)} s after the period began)`,
      );
    } finally {
      for (const c of clients) c.p.destroy();
    }
  }, 3_600_000);

  it(`${WATCHERS} watchers of one run's live events: each gets every event, in order`, async () => {
    const r = await fetch(`http://${base}/api/executions`, {
      method: 'POST',
      headers: { ...s.auth(s.ada), 'content-type': 'application/json' },
      body: JSON.stringify({ workflowId: 'load-run' }),
    });
    expect(r.status).toBe(202);
    const id = ((await r.json()) as { executionId: string }).executionId;
    const watchers = Array.from(
      { length: WATCHERS },
      () =>
        new Promise<{ seqs: number[]; types: string[]; end?: { status: string; lastSeq: number } }>((resolve, reject) => {
          const got = { seqs: [] as number[], types: [] as string[], end: undefined as { status: string; lastSeq: number } | undefined };
          const ws = new WebSocket(`ws://${base}/api/executions/${id}/live?token=${s.ada}`);
          ws.on('message', (data) => {
            const m = JSON.parse(String(data)) as { type: string; events?: Array<{ seq: number; type: string }>; status?: string; lastSeq?: number };
            if (m.type === 'events') for (const e of m.events ?? []) (got.seqs.push(e.seq), got.types.push(e.type));
            if (m.type === 'end') got.end = { status: m.status as string, lastSeq: m.lastSeq as number };
          });
          ws.on('close', () => resolve(got));
          ws.on('error', reject);
        }),
    );
    const results = await Promise.all(watchers);
    const log = await fetch(`http://${base}/api/executions/${id}/events?limit=5000`, { headers: s.auth(s.ada) });
    const items = ((await log.json()) as { items: Array<{ seq: number; type: string }> }).items;
    expect(items.at(-1)?.type).toBe('workflow:completed');
    expect(items.filter((e) => e.type === 'task:completed')).toHaveLength(RUN_TASKS);
    for (const [i, w] of results.entries()) {
      expect(w.end, `watcher ${i}`).toEqual({ status: 'completed', lastSeq: items.length });
      expect(w.seqs, `watcher ${i}`).toEqual(items.map((e) => e.seq));
      expect(w.types, `watcher ${i}`).toEqual(items.map((e) => e.type));
    }
    console.info(`load (live events): ${WATCHERS} watchers of a ${RUN_TASKS}-task run, each received all ${items.length} events in order`);
  }, 600_000);
});
