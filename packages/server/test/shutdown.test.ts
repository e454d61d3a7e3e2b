import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chain, type TestServer, testServer } from './helpers.js';

// Draining: new runs are refused with 503, /ready says so, and runs still going after the grace period are
// cancelled and flagged, then resumed by resumeInterrupted() (what the next start does).

let s: TestServer;
beforeAll(async () => {
  s = await testServer();
  await s.app.inject({
    method: 'POST',
    url: '/api/workflows',
    headers: s.auth(s.ada),
    payload: { definition: chain('drain', 10, 'slow') },
  });
});
afterAll(() => s.close());

describe('drain', () => {
  it('refuses new runs, interrupts the rest after the grace period, and resumes them', async () => {
    const { runner } = s.app.codexos;
    const start = await s.app.inject({
      method: 'POST',
      url: '/api/executions',
      headers: s.auth(s.ada),
      payload: { workflowId: 'drain' },
    });
    const id = start.json().executionId as string;
    await new Promise((r) => setTimeout(r, 100));
    s.app.codexos.state.draining = true;
    const draining = runner.drain(20);
    const refused = await s.app.inject({
      method: 'POST',
      url: '/api/executions',
      headers: s.auth(s.ada),
      payload: { workflowId: 'drain' },
    });
    expect(refused.statusCode).toBe(503);
    expect(refused.json().error.code).toBe('CDX_ERR_SHUTTING_DOWN');
    expect((await s.app.inject({ url: '/ready' })).statusCode).toBe(503);
    expect(await draining).toEqual([id]);
    expect((await runner.meta(id))?.interrupted).toBe(true);
    const stopped = (await s.app.inject({ url: `/api/executions/${id}`, headers: s.auth(s.ada) })).json();
    const doneBefore = stopped.tasks.filter((t: { status: string }) => t.status === 'completed').length;
    expect(doneBefore).toBeLessThan(10);

    // What the next start does (the same process stands in for it here).
    (runner as unknown as { accepting: boolean }).accepting = true;
    s.app.codexos.state.draining = false;
    expect(await runner.resumeInterrupted()).toEqual([id]);
    let d = stopped;
    for (let i = 0; i < 200 && d.status !== 'completed'; i++) {
      await new Promise((r) => setTimeout(r, 25));
      d = (await s.app.inject({ url: `/api/executions/${id}`, headers: s.auth(s.ada) })).json();
    }
    expect(d.status).toBe('completed');
    expect((await runner.meta(id))?.interrupted).toBe(false);
    const history = (
      await s.app.inject({ url: `/api/executions/${id}/history?limit=200`, headers: s.auth(s.ada) })
    ).json().items;
    for (let i = 0; i < 10; i++)
      expect(
        history.filter((h: { taskKey: string; status: string }) => h.taskKey === `t${i}` && h.status === 'completed'),
      ).toHaveLength(1);
  });
});
