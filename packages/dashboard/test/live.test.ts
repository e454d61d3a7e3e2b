import { describe, expect, it } from 'vitest';
import type { LiveEvent } from '../src/api/types.ts';
import { applyEvents, emptyRun, ganttRows, statusCounts } from '../src/runs/live.ts';

const ev = (seq: number, type: string, payload: Record<string, unknown>): LiveEvent => ({
  seq,
  type,
  payload: { executionId: 'e1', workflowId: 'w', ...payload },
});

describe('live run reducer', () => {
  it('folds a run’s events into per-task statuses, outputs and cost', () => {
    let run = emptyRun('e1');
    run = applyEvents(run, [
      ev(1, 'workflow:started', {
        timestamp: 1000,
        tasks: [
          { id: 'a', agentId: 'x', dependencies: [] },
          { id: 'b', agentId: 'x', dependencies: ['a'] },
        ],
      }),
      ev(2, 'task:queued', { taskId: 'a', agentId: 'x' }),
      ev(3, 'task:started', { taskId: 'a', timestamp: 1010, attempt: 1, queueWait: 10 }),
    ]);
    expect(run.status).toBe('running');
    expect(run.dag?.length).toBe(2);
    expect(run.tasks.get('a')?.status).toBe('running');
    run = applyEvents(run, [
      ev(4, 'task:retrying', { taskId: 'a', attempt: 1, error: { message: 'flaky' } }),
      ev(5, 'task:completed', {
        taskId: 'a',
        timestamp: 1050,
        duration: 40,
        output: { rows: 3 },
        cost: 0.002,
        model: 'local',
        attempts: 2,
      }),
      ev(6, 'task:skipped', { taskId: 'b', reason: 'when was false' }),
      ev(7, 'workflow:completed', { timestamp: 1100, cost: 0.002 }),
    ]);
    expect(run.tasks.get('a')).toMatchObject({
      status: 'completed',
      output: { rows: 3 },
      cost: 0.002,
      model: 'local',
      queueWait: 10,
    });
    expect(run.tasks.get('b')).toMatchObject({ status: 'skipped', lastError: 'when was false' });
    expect(run.status).toBe('completed');
    expect(run.cost).toBe(0.002);
    expect(run.lastSeq).toBe(7);
    expect(statusCounts(run)).toMatchObject({ completed: 1, skipped: 1 });
  });

  it('ignores events already applied (a reconnect that resends), and returns the same state for nothing new', () => {
    let run = applyEvents(emptyRun('e1'), [
      ev(1, 'task:started', { taskId: 'a' }),
      ev(2, 'task:completed', { taskId: 'a' }),
    ]);
    const changes = run.changes;
    const same = applyEvents(run, [ev(1, 'task:started', { taskId: 'a' }), ev(2, 'task:completed', { taskId: 'a' })]);
    expect(same).toBe(run);
    run = applyEvents(run, [ev(2, 'task:started', { taskId: 'a' }), ev(3, 'task:started', { taskId: 'b' })]);
    expect(run.tasks.get('a')?.status).toBe('completed');
    expect(run.tasks.get('b')?.status).toBe('running');
    expect(run.changes).toBe(changes + 1);
  });

  it('counts every status change of a 1000-task run delivered in batches', () => {
    const events: LiveEvent[] = [];
    let seq = 0;
    for (let i = 0; i < 1000; i++) {
      events.push(ev(++seq, 'task:queued', { taskId: `t${i}` }));
      events.push(ev(++seq, 'task:started', { taskId: `t${i}` }));
      events.push(ev(++seq, 'task:completed', { taskId: `t${i}`, duration: 1 }));
    }
    let run = emptyRun('e1');
    for (let i = 0; i < events.length; i += 137) run = applyEvents(run, events.slice(i, i + 137));
    expect(run.changes).toBe(3000);
    expect(statusCounts(run).completed).toBe(1000);
  });

  it('lays out Gantt rows relative to the first queued task', () => {
    const run = applyEvents(emptyRun('e1'), [
      ev(1, 'task:started', { taskId: 'a', timestamp: 100, queueWait: 20 }),
      ev(2, 'task:completed', { taskId: 'a', timestamp: 150, duration: 50 }),
      ev(3, 'task:started', { taskId: 'b', timestamp: 160, queueWait: 0 }),
    ]);
    const rows = ganttRows(run, ['a', 'b', 'c'], 200);
    expect(rows[0]).toEqual({ id: 'a', status: 'completed', waitFrom: 0, start: 20, end: 70 });
    expect(rows[1]).toMatchObject({ id: 'b', status: 'running', start: 80, end: 120 });
    expect(rows[2]).toEqual({ id: 'c', status: 'pending' });
  });
});

describe('run graph node sizes', () => {
  it('a node rebuilt for a status change keeps the size last measured for its id', async () => {
    const { withMeasured } = await import('../src/runs/RunGraph.tsx');
    const sizes = new Map([['a', { width: 180, height: 64 }]]);
    const measured = { id: 'b', measured: { width: 10, height: 10 } };
    const out = withMeasured(
      [{ id: 'a' } as { id: string; measured?: { width?: number; height?: number } }, measured, { id: 'c' }],
      sizes,
    );
    expect(out.map((n) => n.measured)).toEqual([{ width: 180, height: 64 }, { width: 10, height: 10 }, undefined]);
  });

  it("on a culled graph a node never measured takes the layout's size, so the view's fit counts it", async () => {
    const { withMeasured } = await import('../src/runs/RunGraph.tsx');
    const sizes = new Map([['a', { width: 180, height: 64 }]]);
    const out = withMeasured(
      [{ id: 'a' }, { id: 'off-screen' }] as Array<{ id: string; measured?: { width?: number; height?: number } }>,
      sizes,
      { width: 200, height: 64 },
    );
    expect(out.map((n) => n.measured)).toEqual([
      { width: 180, height: 64 },
      { width: 200, height: 64 },
    ]);
  });
});

describe('live statuses per animation frame', () => {
  it('folds 1000 status events from many socket frames into one store update per frame, waking only changed tasks', async () => {
    const { FrameBatcher } = await import('../src/runs/frameBatch.ts');
    const { StatusStore } = await import('../src/runs/statusStore.ts');
    const store = new StatusStore();
    const ids = Array.from({ length: 1000 }, (_, i) => `t${i}`);
    store.set(new Map(ids.map((id) => [id, 'pending'])));
    const woken: Record<string, number> = {};
    for (const id of ['t0', 't500', 't999']) store.subscribe(id, () => (woken[id] = (woken[id] ?? 0) + 1));
    const updatesBefore = store.updates;
    let run = emptyRun('e1');
    const frames: Array<() => void> = [];
    const batcher = new FrameBatcher<LiveEvent>(
      (evs) => {
        run = applyEvents(run, evs);
        store.set(
          new Map([
            ...ids.map((id) => [id, 'pending'] as [string, string]),
            ...[...run.tasks].map(([k, v]) => [k, v.status] as [string, string]),
          ]),
        );
      },
      (fn) => {
        frames.push(fn);
        return () => {};
      },
      0,
    );
    // Frame 1: every task queued, delivered as 100 socket frames of 10 events.
    let seq = 0;
    for (let f = 0; f < 100; f++)
      batcher.push(ids.slice(f * 10, f * 10 + 10).map((id) => ev(++seq, 'task:queued', { taskId: id })));
    expect(frames).toHaveLength(1);
    expect(store.updates).toBe(updatesBefore);
    frames.shift()?.();
    expect(batcher.flushes).toBe(1);
    expect(store.updates).toBe(updatesBefore + 1);
    expect(store.get('t999')).toBe('queued');
    expect(woken).toEqual({ t0: 1, t500: 1, t999: 1 });
    // Frame 2: one task starts; only its listener wakes.
    batcher.push([ev(++seq, 'task:started', { taskId: 't500' })]);
    frames.shift()?.();
    expect(store.updates).toBe(updatesBefore + 2);
    expect(woken).toEqual({ t0: 1, t500: 2, t999: 1 });
    expect(run.changes).toBe(1001);
    // Nothing pending: no frame is requested and nothing is published.
    batcher.flush();
    expect(frames).toHaveLength(0);
    expect(batcher.flushes).toBe(2);
  });
});

describe('static edges of a large run graph', () => {
  it('draws each placed dependency once, from the source’s right side to the target’s left side, critical ones apart', async () => {
    const { edgePaths } = await import('../src/runs/StaticEdges.tsx');
    const tasks = new Map(
      [
        { id: 'a', agentId: 'x' },
        { id: 'b', agentId: 'x', dependencies: ['a'] },
        { id: 'c', agentId: 'x', dependencies: ['a', 'b', 'gone'] },
      ].map((t) => [t.id, t]),
    );
    const positions = new Map([
      ['a', { x: 0, y: 0 }],
      ['b', { x: 300, y: 0 }],
      ['c', { x: 600, y: 100 }],
    ]);
    const sizes = new Map([['a', { width: 210, height: 80 }]]);
    const p = edgePaths(tasks, positions, sizes, new Set(['a', 'c']));
    expect(p.count).toBe(3);
    // a → c is critical (both ends on the critical path); a → b and b → c are not.
    expect(p.critical).toBe('M210,40C405,40 405,132 600,132');
    expect(p.plain.match(/M/g)).toHaveLength(2);
    expect(p.plain.startsWith('M210,40C255,40 255,32 300,32')).toBe(true);
    expect(p.criticalArrows).toBe('M592,127.5L600,132L592,136.5Z');
    expect(edgePaths(tasks, new Map([['a', { x: 0, y: 0 }]]), sizes).count).toBe(0);
  });
});
