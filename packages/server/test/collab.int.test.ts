import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { chain, type TestServer, testServer } from './helpers.js';

let s: TestServer;
let http: string;
let wsUrl: string;
const providers: WebsocketProvider[] = [];
beforeAll(async () => {
  s = await testServer();
  await s.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (s.app.server.address() as { port: number }).port;
  http = `http://127.0.0.1:${port}`;
  wsUrl = `ws://127.0.0.1:${port}/collab`;
  await api('POST', '/api/workflows', s.ada, { definition: chain('doc', 2) });
  await api('PUT', '/api/workflows/doc/roles/bob', s.ada, { role: 'viewer' });
});
afterAll(async () => {
  for (const p of providers) p.destroy();
  await s.close();
});

async function api(method: string, path: string, token: string, body?: unknown) {
  const r = await fetch(`${http}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: (r.status === 204 ? null : await r.json()) as any };
}

function provider(workflowId: string, token: string) {
  const doc = new Y.Doc();
  const p = new WebsocketProvider(wsUrl, workflowId, doc, {
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
    params: { token },
    maxBackoffTime: 200,
  });
  providers.push(p);
  return { doc, p };
}

const waitFor = async (cond: () => boolean, what: string, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** Upgrade status for a raw socket (401/404 are refused before the upgrade). */
const upgradeStatus = (url: string) =>
  new Promise<number>((resolve) => {
    const ws = new WebSocket(url);
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => {});
  });

describe('collaboration endpoint on the server', () => {
  it('same tokens and roles: 401 without a token, 404 without a role', async () => {
    expect(await upgradeStatus(`${wsUrl}/doc`)).toBe(401);
    expect(await upgradeStatus(`${wsUrl}/doc?token=${s.eve}`)).toBe(404);
    expect(await upgradeStatus(`${wsUrl}/doc?token=${s.bob}`)).toBe(101);
  });

  it('a stock y-websocket client syncs the seeded document; edits reach others; a viewer write is rejected', async () => {
    const ada = provider('doc', s.ada);
    const bob = provider('doc', s.bob);
    await waitFor(() => ada.doc.getMap('tasks').size === 2 && bob.doc.getMap('tasks').size === 2, 'seeded sync');
    ada.doc.transact(() => {
      const t = ada.doc.getMap('tasks').get('t1') as Y.Map<unknown>;
      t.set('name', 'Renamed by Ada');
    });
    await waitFor(
      () => ((bob.doc.getMap('tasks').get('t1') as Y.Map<unknown>)?.get('name') as string) === 'Renamed by Ada',
      'edit to reach bob',
    );
    // The viewer's local change is not applied on the server nor sent to others.
    (bob.doc.getMap('tasks').get('t0') as Y.Map<unknown>).set('name', 'viewer was here');
    await new Promise((r) => setTimeout(r, 200));
    const server = (await api('GET', '/api/workflows/doc/document', s.ada)).body;
    expect(server.tasks.t1.name).toBe('Renamed by Ada');
    expect(server.tasks.t0.name).toBeUndefined();
    expect((ada.doc.getMap('tasks').get('t0') as Y.Map<unknown>).get('name')).toBeUndefined();
    const session = (await api('GET', '/api/workflows/doc/collab', s.bob)).body.session;
    expect(session.participants.map((p: { userId: string; role: string }) => [p.userId, p.role]).sort()).toEqual([
      ['ada', 'owner'],
      ['bob', 'viewer'],
    ]);
    const audit = (await api('GET', '/api/workflows/doc/audit?limit=100', s.bob)).body.items as Array<{
      userId: string;
      action: string;
      path?: string;
    }>;
    expect(audit.some((e) => e.userId === 'ada' && e.action === 'set' && e.path?.startsWith('tasks.t1'))).toBe(true);
    expect(audit.some((e) => e.userId === 'bob' && e.action === 'set')).toBe(false);

    // "Save version" snapshots the live document into a new stored version.
    expect((await api('POST', '/api/workflows/doc/snapshot', s.bob, {})).status).toBe(403);
    const snap = await api('POST', '/api/workflows/doc/snapshot', s.ada, { message: 'from the designer' });
    expect(snap.status).toBe(200);
    expect(snap.body.version).toMatchObject({ version: 2, author: 'ada', message: 'from the designer' });
    const v2 = (await api('GET', '/api/workflows/doc/versions/2', s.ada)).body.definition;
    expect(v2.tasks.map((t: { id: string; name?: string }) => [t.id, t.name])).toEqual([
      ['t0', undefined],
      ['t1', 'Renamed by Ada'],
    ]);
    const diff = (await api('GET', '/api/workflows/doc/diff?from=1&to=2', s.ada)).body;
    expect(diff.changed).toEqual([
      { taskId: 't1', fields: [{ field: 'name', from: undefined, to: 'Renamed by Ada' }] },
    ]);
  });

  it('a role granted while connected applies to the open socket', async () => {
    const bob = provider('doc', s.bob);
    await waitFor(() => bob.doc.getMap('tasks').size === 2, 'bob sync');
    expect((await api('PUT', '/api/workflows/doc/roles/bob', s.ada, { role: 'editor' })).status).toBe(200);
    (bob.doc.getMap('tasks').get('t0') as Y.Map<unknown>).set('description', 'edited by bob');
    let server: { tasks: Record<string, { description?: string }> } = { tasks: {} };
    for (let i = 0; i < 200 && server.tasks.t0?.description !== 'edited by bob'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      server = (await api('GET', '/api/workflows/doc/document', s.ada)).body;
    }
    expect(server.tasks.t0.description).toBe('edited by bob');
    await api('PUT', '/api/workflows/doc/roles/bob', s.ada, { role: 'viewer' });
  });

  it('locks: editors lock, viewers cannot; the holder unlocks', async () => {
    expect((await api('POST', '/api/workflows/doc/locks/t0', s.bob, {})).status).toBe(403);
    const lock = await api('POST', '/api/workflows/doc/locks/t0', s.ada, { ttlMs: 5000 });
    expect(lock.status).toBe(200);
    expect(lock.body).toMatchObject({ taskId: 't0', holder: 'ada' });
    expect((await api('GET', '/api/workflows/doc/collab', s.bob)).body.locks).toHaveLength(1);
    expect((await api('DELETE', '/api/workflows/doc/locks/t0', s.ada)).status).toBe(204);
    expect((await api('GET', '/api/workflows/doc/collab', s.bob)).body.locks).toHaveLength(0);
  });
});
