import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { chain, type TestServer, testServer } from '../../packages/server/test/helpers.js';
import { SOAK } from './helpers.js';

// Live events under load on one server over real sockets: many dashboard-style watchers on one run's WebSocket;
// each receives every event of the server's log, in order, and the end frame. CI: 20 watchers of a 40-task run;
// SOAK=1: 100 watchers of a 200-task run. (Collaboration clients under load: collab-load.test.ts.)

const WATCHERS = SOAK ? 100 : 20;
const RUN_TASKS = SOAK ? 200 : 40;

let s: TestServer;
let base: string;
beforeAll(async () => {
  // One token opens every socket here: the per-token rate limit (600/min, which upgrades count against) would
  // pace many watchers.
  s = await testServer({ rateLimit: 1_000_000 });
  await s.app.listen({ port: 0, host: '127.0.0.1' });
  base = `127.0.0.1:${(s.app.server.address() as { port: number }).port}`;
  const r = await fetch(`http://${base}/api/workflows`, {
    method: 'POST',
    headers: { ...s.auth(s.ada), 'content-type': 'application/json' },
    body: JSON.stringify({ definition: chain('load-run', RUN_TASKS, 'slow') }),
  });
  expect(r.status).toBe(201);
});
afterAll(() => s.close());

describe('load on one server', () => {
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
