import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ErrorCodes,
  type ExecutionHeader,
  MultiAgentOrchestrator,
  SqliteStore,
  type TaskTransition,
} from '../../src/index.js';

// The end of a run on SQLite is one commit: its last batch of transitions, its final header and its lease. What
// the store holds afterwards is the same as when those were three writes; a failure of that write fails the run.

const dir = mkdtempSync(join(tmpdir(), 'cdx-run-end-'));
let seq = 0;

class CountingStore extends SqliteStore {
  appends: number[] = [];
  ends: { status: string; batch: string[]; owner?: string }[] = [];
  failEnd = false;
  override appendTransitions(batch: TaskTransition[]): void {
    this.appends.push(batch.length);
    super.appendTransitions(batch);
  }
  override endExecution(h: ExecutionHeader, batch: TaskTransition[], owner: string | undefined): void {
    this.ends.push({ status: h.status, batch: batch.map((t) => `${t.taskKey}:${t.status}`), owner });
    if (this.failEnd) throw new Error('disk full');
    super.endExecution(h, batch, owner);
  }
}

function setup() {
  const store = new CountingStore(join(dir, `s${seq++}.db`));
  const o = new MultiAgentOrchestrator({}, { store, owner: 'host:1:abc' });
  o.registerAgent({ id: 'a', handler: (ctx) => ({ task: ctx.taskId }) });
  return { store, o };
}

const chain = (n: number) => ({
  id: 'chain',
  name: 'chain',
  tasks: Array.from({ length: n }, (_, i) => ({ id: `t${i}`, agentId: 'a', dependencies: i ? [`t${i - 1}`] : [] })),
});

describe('the end of a run on SQLite', () => {
  it('writes the last task, the final header and the lease release in one step; earlier batches as before', async () => {
    const { store, o } = setup();
    const r = await o.executeWorkflow(chain(3), { executionId: 'end-1' });
    expect(r.status).toBe('completed');
    // t0 and t1 settle in batches of their own; t2's batch is the run's last.
    expect(store.appends).toEqual([3, 3]);
    expect(store.ends).toEqual([
      { status: 'completed', batch: ['t2:queued', 't2:running', 't2:completed'], owner: 'host:1:abc' },
    ]);
    const stored = (await o.getExecution('end-1'))!;
    expect(stored.header.status).toBe('completed');
    expect(stored.header.lease).toBeUndefined();
    expect([...stored.tasks.values()].map((t) => [t.taskKey, t.status, t.output])).toEqual([
      ['t0', 'completed', { task: 't0' }],
      ['t1', 'completed', { task: 't1' }],
      ['t2', 'completed', { task: 't2' }],
    ]);
    expect((await o.history('end-1')).map((t) => `${t.taskKey}:${t.status}`)).toEqual(
      ['t0', 't1', 't2'].flatMap((id) => [`${id}:queued`, `${id}:running`, `${id}:completed`]),
    );
    await o.close();
  });

  it('a failed run ends the same way, its failure recorded with the header', async () => {
    const { store, o } = setup();
    o.registerAgent({
      id: 'boom',
      handler: () => Promise.reject(Object.assign(new Error('no'), { retryable: false })),
    });
    const r = await o.executeWorkflow({
      id: 'f',
      name: 'f',
      tasks: [{ id: 'x', agentId: 'boom' }],
    });
    expect(r.status).toBe('failed');
    expect(store.ends).toHaveLength(1);
    expect(store.ends[0]).toMatchObject({ status: 'failed', batch: ['x:queued', 'x:running', 'x:failed'] });
    const stored = (await o.getExecution(r.executionId))!;
    expect(stored.header).toMatchObject({ status: 'failed', error: { code: ErrorCodes.TASK_FAILED } });
    expect(stored.tasks.get('x')?.status).toBe('failed');
    await o.close();
  });

  it('a store that fails that write fails the run with CDX_ERR_STORE, and the run reads as interrupted (resumable)', async () => {
    const { store, o } = setup();
    store.failEnd = true;
    const r = await o.executeWorkflow(chain(2), { executionId: 'end-3' });
    expect(r.status).toBe('failed');
    expect(r.error).toMatchObject({ code: ErrorCodes.STORE, message: expect.stringContaining('disk full') });
    // Nothing of the end was written: t1's completion is not stored, the header still says running.
    const stored = (await o.getExecution('end-3'))!;
    expect(stored.tasks.get('t0')?.status).toBe('completed');
    expect(stored.tasks.get('t1')).toBeUndefined();
    await o.close();
    const again = new MultiAgentOrchestrator({}, { store: new SqliteStore((store as SqliteStore).db.name) });
    again.registerAgent({ id: 'a', handler: (ctx) => ({ task: ctx.taskId }) });
    expect((await again.getExecution('end-3'))?.header.status).toBe('interrupted');
    const resumed = await again.resume('end-3');
    expect(resumed.status).toBe('completed');
    expect(resumed.tasks.t1?.output).toEqual({ task: 't1' });
    await again.close();
  });
});
