import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chain, seededServer, type TestServer, until } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await seededServer([chain('fast', 3), chain('slow', 6, 'slow')], { bob: 'viewer' });
});
afterAll(() => s.close());

const req: TestServer['req'] = (...a) => s.req(...a);

describe('executions', () => {
  it('wait=true returns the finished run with per-task state, pinned to the version', async () => {
    const r = await req('POST', '/api/executions?wait=true', s.ada, { workflowId: 'fast', input: { region: 'EMEA' } });
    expect(r.statusCode).toBe(200);
    const d = r.json();
    expect(d).toMatchObject({
      workflowId: 'fast',
      version: 1,
      status: 'completed',
      startedBy: 'ada',
      input: { region: 'EMEA' },
    });
    expect(
      d.tasks.map((t: { taskId: string; status: string; attempts: number }) => [t.taskId, t.status, t.attempts]),
    ).toEqual([
      ['t0', 'completed', 1],
      ['t1', 'completed', 1],
      ['t2', 'completed', 1],
    ]);
    expect(d.lastSeq).toBeGreaterThanOrEqual(8);
    const read = (await req('GET', `/api/executions/${d.executionId}`, s.bob)).json();
    expect(read.status).toBe('completed');
    expect(read.tasks.find((t: { taskId: string }) => t.taskId === 't2').output).toEqual({
      done: 't2',
      prompt: 'step 2',
    });
    expect(read.tasks[0].durationMs).toBeGreaterThanOrEqual(0);
  });

  it('a workflow deleted and created again runs its new definition, not the one cached for its old version 1', async () => {
    expect((await req('POST', '/api/workflows', s.ada, { definition: chain('again', 1) })).statusCode).toBe(201);
    const first = (await req('POST', '/api/executions?wait=true', s.ada, { workflowId: 'again' })).json();
    expect([first.version, first.tasks.length]).toEqual([1, 1]);
    expect((await req('DELETE', '/api/workflows/again', s.ada)).statusCode).toBe(204);
    expect((await req('POST', '/api/workflows', s.ada, { definition: chain('again', 4) })).statusCode).toBe(201);
    const second = (await req('POST', '/api/executions?wait=true', s.ada, { workflowId: 'again' })).json();
    expect([second.version, second.status, second.tasks.length]).toEqual([1, 'completed', 4]);
  });

  it('a rerun of a model-backed task keeps the model it used, however fast it ends', async () => {
    const def = { id: 'modelled', name: 'm', tasks: [{ id: 'ask', agentId: 'auto-writer', input: { prompt: 'hi' } }] };
    expect((await req('POST', '/api/workflows', s.ada, { definition: def })).statusCode).toBe(201);
    const first = (await req('POST', '/api/executions?wait=true', s.ada, { workflowId: 'modelled' })).json();
    expect(first.status).toBe('completed');
    const model = first.tasks[0].model as string;
    expect(model).toBeTruthy();
    for (let i = 0; i < 5; i++) {
      const rerun = await req('POST', `/api/executions/${first.executionId}/rerun`, s.ada, { fromTaskId: 'ask' });
      expect(rerun.statusCode).toBe(202);
      const id = rerun.json().executionId as string;
      let d = (await req('GET', `/api/executions/${id}`, s.ada)).json();
      for (let n = 0; n < 400 && d.status !== 'completed'; n++) {
        await new Promise((r) => setTimeout(r, 10));
        d = (await req('GET', `/api/executions/${id}`, s.ada)).json();
      }
      expect([d.status, d.version, d.tasks[0].model]).toEqual(['completed', 1, model]);
    }
  });

  it('a running execution keeps the version it started with', async () => {
    const start = await req('POST', '/api/executions', s.ada, { workflowId: 'slow' });
    expect(start.statusCode).toBe(202);
    const { executionId, version } = start.json();
    expect(version).toBe(1);
    const v2 = chain('slow', 2, 'slow');
    expect((await req('PUT', '/api/workflows/slow', s.ada, { definition: v2 })).json().version.version).toBe(2);
    const done = await until(
      () => req('GET', `/api/executions/${executionId}`, s.ada).then((r) => r.json()),
      (d) => d.status === 'completed',
    );
    expect(done.version).toBe(1);
    expect(done.tasks).toHaveLength(6);
    await req('POST', '/api/workflows/slow/versions/1/restore', s.ada, {});
    const pinned = await req('POST', '/api/executions?wait=true', s.ada, { workflowId: 'slow', version: 2 });
    expect(pinned.json()).toMatchObject({ version: 2, status: 'completed' });
    expect(pinned.json().tasks).toHaveLength(2);
  });

  it('cancel, then resume runs only what did not complete; events so far are numbered without gaps', async () => {
    const { executionId } = (await req('POST', '/api/executions', s.ada, { workflowId: 'slow' })).json();
    await until(
      () => req('GET', `/api/executions/${executionId}`, s.ada).then((r) => r.json()),
      (d) => d.tasks.filter((t: { status: string }) => t.status === 'completed').length >= 2,
    );
    expect((await req('POST', `/api/executions/${executionId}/cancel`, s.bob, {})).statusCode).toBe(403);
    const c = await req('POST', `/api/executions/${executionId}/cancel`, s.ada, { reason: 'test' });
    expect(c.json()).toEqual({ executionId, cancelled: true });
    const cancelled = await until(
      () => req('GET', `/api/executions/${executionId}`, s.ada).then((r) => r.json()),
      (d) => d.status === 'cancelled',
    );
    const completedBefore = cancelled.tasks.filter((t: { status: string }) => t.status === 'completed').length;
    expect(completedBefore).toBeGreaterThanOrEqual(2);
    expect(completedBefore).toBeLessThan(6);
    expect((await req('POST', `/api/executions/${executionId}/resume`, s.ada)).statusCode).toBe(202);
    const resumed = await until(
      () => req('GET', `/api/executions/${executionId}`, s.ada).then((r) => r.json()),
      (d) => d.status === 'completed',
    );
    expect(resumed.tasks.every((t: { status: string; attempts: number }) => t.status === 'completed')).toBe(true);
    const history = (await req('GET', `/api/executions/${executionId}/history?limit=200`, s.ada)).json().items;
    const startsOfT0 = history.filter(
      (h: { taskKey: string; status: string }) => h.taskKey === 't0' && h.status === 'running',
    );
    expect(startsOfT0).toHaveLength(1);
    const ev = (await req('GET', `/api/executions/${executionId}/events`, s.bob)).json();
    const seqs = ev.items.map((e: { seq: number }) => e.seq);
    expect(seqs).toEqual(seqs.map((_: number, i: number) => i + 1));
    expect(ev.items.filter((e: { type: string }) => e.type === 'workflow:started')).toHaveLength(2);
    const after = (await req('GET', `/api/executions/${executionId}/events?after=3&limit=2`, s.bob)).json();
    expect(after.items.map((e: { seq: number }) => e.seq)).toEqual([4, 5]);
    expect(after.nextCursor).toBe('5');
    const profile = await req('GET', `/api/executions/${executionId}/profile`, s.bob);
    expect(profile.statusCode).toBe(200);
    expect(profile.json().executionId).toBe(executionId);
  });

  it('lists with filters and cursor pagination; no role, no executions', async () => {
    for (let i = 0; i < 3; i++) await req('POST', '/api/executions?wait=true', s.ada, { workflowId: 'fast' });
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const body: { items: Array<{ workflowId: string }>; nextCursor: string | null } = (
        await req('GET', `/api/executions?workflowId=fast&limit=2${cursor ? `&cursor=${cursor}` : ''}`, s.bob)
      ).json();
      all.push(...body.items.map((e) => e.workflowId));
      cursor = body.nextCursor;
    } while (cursor);
    expect(all.length).toBe(4);
    expect(new Set(all)).toEqual(new Set(['fast']));
    const failed = (await req('GET', '/api/executions?status=failed', s.ada)).json();
    expect(failed.items).toEqual([]);
    expect((await req('GET', '/api/executions', s.eve)).json().items).toEqual([]);
    const any = (await req('GET', '/api/executions?limit=1', s.ada)).json().items[0].executionId;
    expect((await req('GET', `/api/executions/${any}`, s.eve)).statusCode).toBe(404);
    expect((await req('GET', '/api/executions/nope', s.ada)).statusCode).toBe(404);
    expect((await req('GET', '/api/executions?status=bogus', s.ada)).json().error.path).toBe('query.status');
    expect((await req('POST', '/api/executions', s.ada, { workflowId: 'fast', version: 99 })).statusCode).toBe(404);
  });

  it('agents, models, analytics, metrics answer without secrets', async () => {
    const agents = (await req('GET', '/api/agents', s.eve)).json();
    expect(agents.items.map((a: { id: string }) => a.id)).toEqual(expect.arrayContaining(['slow', 'worker']));
    expect(agents.items.find((a: { id: string }) => a.id === 'worker').pool.capacity).toBeGreaterThan(0);
    const models = (await req('GET', '/api/models?limit=5', s.eve)).json();
    expect(models.items.length).toBe(5);
    expect(models.nextCursor).toBeTruthy();
    expect(JSON.stringify(models)).not.toMatch(/apiKey|baseURL|baseUrl/i);
    expect((await req('GET', '/api/models/limits', s.eve)).json().providers.length).toBeGreaterThan(0);
    expect((await req('GET', '/api/models/usage', s.eve)).json().totals).toBeDefined();
    expect((await req('GET', '/api/models/experiments', s.eve)).json().items).toEqual([]);
    const costs = (await req('GET', `/api/analytics/costs?from=0&to=${Date.now() + 1000}`, s.ada)).json();
    expect(costs.currency).toBe('USD');
    expect((await req('GET', '/api/analytics/insights', s.ada)).statusCode).toBe(200);
    expect((await req('GET', '/api/analytics/anomalies', s.ada)).statusCode).toBe(200);
    expect((await req('GET', '/api/analytics/alerts', s.ada)).statusCode).toBe(200);
    expect((await req('GET', '/metrics', s.ada)).statusCode).toBe(403);
    const metrics = await req('GET', '/metrics', s.admin);
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('# TYPE');
    expect((await req('GET', '/health')).json().status).toBe('ok');
    expect((await req('GET', '/ready')).json().status).toBe('ready');
  });
});
