import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openServerDb } from '../src/db.js';
import { buildServer, type CodexServer } from '../src/index.js';
import { chain, echoAgent, slowAgent } from './helpers.js';

// Two servers on one Redis: which stored version a run is pinned to is in Redis, so the other server shows it,
// reruns from it, and resumes a run the first one interrupted at shutdown.

describe.skipIf(!process.env.REDIS_URL)('run pins on the Redis store', () => {
  it('a second server sees the pin: shows the version, reruns and resumes on it', async () => {
    const prefix = `cdx-pins-${randomUUID()}`;
    const make = () =>
      buildServer({
        config: { store: { type: 'redis' }, redis: { url: process.env.REDIS_URL, keyPrefix: prefix } },
        orchestratorOptions: { collaboration: { storePath: ':memory:' } },
        agents: [echoAgent, slowAgent(30)],
      });
    const a = await make();
    const b = await make();
    const root = (await a.codexos.tokens.create('root', 'admin')).token;
    const req = async (app: CodexServer, method: string, url: string, payload?: unknown) => {
      const r = await app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${root}` },
        payload: payload as object,
      });
      return { status: r.statusCode, body: r.json() as Record<string, any> };
    };
    const poll = async (app: CodexServer, id: string, done: (d: Record<string, any>) => boolean) => {
      let d = (await req(app, 'GET', `/api/executions/${id}`)).body;
      for (let i = 0; i < 400 && !done(d); i++) {
        await new Promise((r) => setTimeout(r, 25));
        d = (await req(app, 'GET', `/api/executions/${id}`)).body;
      }
      return d;
    };
    try {
      await req(a, 'POST', '/api/workflows', { definition: chain('pin', 1) });
      await req(a, 'PUT', '/api/workflows/pin', { definition: chain('pin', 2), message: 'two tasks' });
      const run = (await req(a, 'POST', '/api/executions?wait=true', { workflowId: 'pin' })).body;
      expect([run.status, run.version]).toEqual(['completed', 2]);
      await req(a, 'PUT', '/api/workflows/pin', { definition: chain('pin', 3), message: 'three tasks' });

      // The other server shows the pinned version, on the run and in the list.
      const onB = await req(b, 'GET', `/api/executions/${run.executionId}`);
      expect([onB.status, onB.body.version, onB.body.startedBy]).toEqual([200, 2, 'root']);
      const list = (await req(b, 'GET', '/api/executions?workflowId=pin')).body.items;
      expect(list.map((e: { version: number }) => e.version)).toEqual([2]);
      // A rerun from the other server is pinned to the parent's version, not the current one.
      const rerun = await req(b, 'POST', `/api/executions/${run.executionId}/rerun`, { fromTaskId: 't1' });
      expect([rerun.status, rerun.body.version]).toEqual([202, 2]);
      const rerunDone = await poll(b, rerun.body.executionId, (d) => d.status === 'completed');
      expect([rerunDone.status, rerunDone.version]).toEqual(['completed', 2]);
      expect((await req(a, 'GET', `/api/executions/${rerun.body.executionId}`)).body.version).toBe(2);

      // A run the first server interrupts at shutdown is resumed by the second, on its pinned version.
      await req(a, 'POST', '/api/workflows', { definition: chain('long', 10, 'slow') });
      const long = (await req(a, 'POST', '/api/executions', { workflowId: 'long' })).body;
      await poll(a, long.executionId, (d) => d.tasks.some((t: { status: string }) => t.status === 'completed'));
      await req(a, 'PUT', '/api/workflows/long', { definition: chain('long', 2, 'slow'), message: 'shorter' });
      a.codexos.state.draining = true;
      expect(await a.codexos.runner.drain(0)).toEqual([long.executionId]);
      expect((await b.codexos.runner.meta(long.executionId))?.interrupted).toBe(true);
      expect(await b.codexos.runner.resumeInterrupted()).toEqual([long.executionId]);
      const resumed = await poll(b, long.executionId, (d) => d.status === 'completed');
      expect([resumed.status, resumed.version, resumed.tasks.length]).toEqual(['completed', 1, 10]);
      expect((await b.codexos.runner.meta(long.executionId))?.interrupted).toBe(false);
      expect(await b.codexos.store.runs.interrupted()).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("pins an earlier server kept in its own file move to Redis on start, the store's own pin winning", async () => {
    const prefix = `cdx-pins-move-${randomUUID()}`;
    const dir = mkdtempSync(join(tmpdir(), 'cdx-pins-move-'));
    const file = join(dir, 'server.db');
    const old = openServerDb({ kind: 'none' } as never, file).db;
    const ins = old.prepare(
      'INSERT INTO srv_executions (execution_id, workflow_id, version, started_by, started_at, interrupted, models) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    ins.run('old-1', 'wf', 3, 'ada', 10, 1, JSON.stringify({ t0: 'local-offline' }));
    ins.run('old-2', 'wf', 2, 'bob', 11, 0, null);
    ins.run('both', 'wf', 1, 'eve', 12, 0, null);
    old.close();
    const make = () =>
      buildServer({
        config: { store: { type: 'redis' }, redis: { url: process.env.REDIS_URL, keyPrefix: prefix } },
        orchestratorOptions: { collaboration: { storePath: ':memory:' } },
        agents: [echoAgent],
        dbPath: file,
      });
    const first = await make();
    await first.codexos.store.runs.pin({
      executionId: 'both',
      workflowId: 'wf',
      version: 7,
      startedBy: 'root',
      startedAt: 13,
    });
    await first.close();
    // `first` moved the three; put one back as a second old server would have left it.
    const again = openServerDb({ kind: 'none' } as never, file).db;
    again
      .prepare(
        'INSERT INTO srv_executions (execution_id, workflow_id, version, started_by, started_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run('both', 'wf', 1, 'eve', 12);
    again.close();
    const a = await make();
    try {
      const runs = a.codexos.store.runs;
      expect(await runs.get('old-1')).toEqual({
        executionId: 'old-1',
        workflowId: 'wf',
        version: 3,
        startedBy: 'ada',
        startedAt: 10,
        interrupted: true,
        models: { t0: 'local-offline' },
      });
      expect(await runs.get('old-2')).toMatchObject({ version: 2, startedBy: 'bob', interrupted: false });
      expect(await runs.get('both')).toMatchObject({ version: 7, startedBy: 'root' });
      expect(await runs.interrupted()).toEqual(['old-1']);
      expect(a.codexos.db.prepare('SELECT COUNT(*) AS n FROM srv_executions').get()).toEqual({ n: 0 });
    } finally {
      await a.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
