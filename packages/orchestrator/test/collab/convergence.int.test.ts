import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { applyToDoc } from '../../src/collab/paths.js';
import type { StrategyName, UpdateInput } from '../../src/collab/types.js';
import { canonical, type RawClient, rawClient, rng, server, waitFor } from './helpers.js';

// Seeded simulations: several real WebSocket clients (plus a stock provider watching) fire random concurrent
// path operations; after everything settles every participant must hold the server's document.

type Srv = Awaited<ReturnType<typeof server>>;
let srv: Srv;
beforeAll(async () => {
  srv = await server({
    config: { maxParticipants: 50 },
    managerOptions: { resolver: (op) => (op.path.includes('locked') ? null : op) },
  });
});
afterAll(async () => srv?.close());

const TASKS = ['a', 'b', 'c'];
const FIELDS = ['name', 'agentId', 'locked'];

function randomOp(r: () => number, version: number, user: string): UpdateInput {
  const task = TASKS[Math.floor(r() * TASKS.length)];
  const k = r();
  const baseVersion = Math.max(0, version - Math.floor(r() * 4));
  if (k < 0.4)
    return {
      operation: { type: 'set' },
      path: ['tasks', task, FIELDS[Math.floor(r() * 3)]],
      value: `${user}-${Math.floor(r() * 100)}`,
      baseVersion,
    };
  if (k < 0.6)
    return {
      operation: { type: 'insert' },
      path: ['tasks', task, 'dependencies', Math.floor(r() * 3)],
      value: `${user}${Math.floor(r() * 10)}`,
      baseVersion,
    };
  if (k < 0.75)
    return { operation: { type: 'delete' }, path: ['tasks', task, 'dependencies', Math.floor(r() * 3)], baseVersion };
  if (k < 0.85)
    return {
      operation: { type: 'move', to: Math.floor(r() * 3) },
      path: ['tasks', task, 'dependencies', Math.floor(r() * 3)],
      baseVersion,
    };
  if (k < 0.93)
    return {
      operation: { type: 'set' },
      path: ['positions', task],
      value: { x: Math.floor(r() * 500), y: Math.floor(r() * 500) },
      baseVersion,
    };
  return { operation: { type: 'delete' }, path: ['tasks', task, FIELDS[Math.floor(r() * 3)]], baseVersion };
}

async function simulate(strategy: StrategyName, seed: number): Promise<void> {
  const wf = `conv-${strategy}-${seed}`;
  const owner = 'u0';
  const session = await srv.manager.createSession(wf, owner, { conflictResolution: strategy });
  await srv.manager.applyUpdate(session.id, owner, [
    ...TASKS.map((t) => ({
      operation: { type: 'set' as const },
      path: ['tasks', t],
      value: { name: t, dependencies: ['x', 'y'] },
    })),
  ]);
  const r = rng(seed);
  const clients: RawClient[] = [];
  for (let i = 1; i <= 3; i++) clients.push(await rawClient(srv.url, wf, `u${i}`));
  const watcher = new WebsocketProvider(srv.url, wf, new Y.Doc(), {
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
    params: { token: 'watcher' },
  });
  await waitFor(() => watcher.synced, 'watcher sync');
  let version = srv.manager.getSession(session.id)?.version ?? 0;
  const pending: Array<Promise<unknown>> = [];
  for (let step = 0; step < 30; step++) {
    const c = clients[Math.floor(r() * clients.length)];
    const op = randomOp(r, version, `u${clients.indexOf(c) + 1}`);
    if (strategy === 'crdt' && r() < 0.5) {
      // CRDT: half the edits are local Yjs edits that sync as Yjs updates
      c.doc.transact(() => applyToDoc(c.doc, op));
    } else pending.push(c.op(op).then((res) => (version = Math.max(version, Number(res.version ?? 0)))));
    if (r() < 0.3) await new Promise((res) => setImmediate(res));
  }
  await Promise.all(pending);
  const expected = async () => canonical(await srv.manager.getDocument(wf));
  await waitFor(() => clients.every((c) => c.synced), 'synced');
  let target = '';
  await waitFor(() => {
    void expected().then((e) => (target = e));
    const docs = [
      ...clients.map((c) => canonical(c.json())),
      canonical({
        tasks: watcher.doc.getMap('tasks').toJSON(),
        positions: watcher.doc.getMap('positions').toJSON(),
        meta: watcher.doc.getMap('meta').toJSON(),
      }),
    ];
    return target !== '' && docs.every((d) => d === target);
  }, `convergence ${strategy} seed ${seed}`).catch((e) => {
    console.log('SERVER', target);
    for (const c of clients) console.log('CLIENT', canonical(c.json()), c.closed); // diagnostics on failure
    throw e;
  });
  for (const c of clients) c.close();
  watcher.destroy();
  await srv.manager.endSession(session.id);
}

describe.each(['crdt', 'operational-transform', 'last-write-wins', 'custom'] as StrategyName[])(
  '%s converges',
  (strategy) => {
    it('for 25 seeds of random concurrent edits', async () => {
      for (let seed = 1; seed <= 25; seed++) await simulate(strategy, seed);
      // the simulations really edited something: the audit trail holds the applied ops
      expect(
        srv.manager
          .queryAudit({ workflowId: `conv-${strategy}-1` })
          .filter((e) => ['set', 'insert', 'delete', 'move'].includes(e.action)).length,
      ).toBeGreaterThan(5);
    });
  },
);
