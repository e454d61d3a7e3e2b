import { describe, expect, it } from 'vitest';
import type { CodexError, MultiAgentOrchestrator } from '../../src/index.js';
import { makeOrchestrator, sleep } from './helpers.js';

const waiting = (o: MultiAgentOrchestrator, n = 1) =>
  new Promise<void>((r) => {
    let k = 0;
    const on = () => {
      if (++k === n) {
        o.off('task:waiting', on);
        r();
      }
    };
    o.on('task:waiting', on);
  });

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as CodexError).code;
  }
  return 'no error';
}

const approvalFlow = (approval: Record<string, unknown> = {}) => ({
  id: 'ap',
  name: 'ap',
  tasks: [
    { id: 'draft', agentId: 'echo' },
    {
      id: 'review',
      type: 'approval',
      dependencies: ['draft'],
      approval: { prompt: 'Ship it?', roles: ['editor'], ...approval },
    },
    { id: 'publish', agentId: 'echo', dependencies: ['review'] },
  ],
});

describe('approvals and ctx.waitFor', () => {
  it('an approval task waits without an agent; approve resumes it; a second approval changes nothing', async () => {
    const o = makeOrchestrator();
    const w = waiting(o);
    const run = o.executeWorkflow(approvalFlow(), { executionId: 'ap1' });
    await w;
    const inbox = await o.waitingApprovals();
    expect(inbox).toMatchObject([{ executionId: 'ap1', name: 'review', kind: 'approval', prompt: 'Ship it?' }]);
    expect(await code(o.debugger.approve('ap1', 'review', { role: 'viewer' }))).toBe('CDX_ERR_FORBIDDEN');
    expect(await code(o.signal('ap1', 'nope', {}))).toBe('CDX_ERR_WAITPOINT_NOT_FOUND');
    expect(await code(o.signal('missing', 'review', {}))).toBe('CDX_ERR_EXECUTION_NOT_FOUND');
    expect(await o.debugger.approve('ap1', 'review', { by: 'ann', role: 'editor', comment: 'lgtm' })).toBe(true);
    expect(await o.debugger.approve('ap1', 'review', { by: 'bob', role: 'editor' })).toBe(false);
    const r = await run;
    expect(r.status).toBe('completed');
    expect(r.tasks.review.output).toMatchObject({ approved: true, by: 'ann', comment: 'lgtm' });
    expect(r.tasks.publish.status).toBe('completed');
    expect(await o.debugger.approve('ap1', 'review', { by: 'bob' })).toBe(false);
    await o.close();
  });

  it('a rejection fails the approval task with a typed error', async () => {
    const o = makeOrchestrator();
    const w = waiting(o);
    const run = o.executeWorkflow(approvalFlow(), { executionId: 'ap2' });
    await w;
    await o.debugger.reject('ap2', 'review', { by: 'ann', comment: 'not yet' });
    const r = await run;
    expect(r.status).toBe('failed');
    expect(r.tasks.review.error?.code).toBe('CDX_ERR_APPROVAL_REJECTED');
    expect(r.tasks.publish.status).toBe('skipped');
    await o.close();
  });

  it('approval timeouts take their onTimeout decision', async () => {
    const o = makeOrchestrator();
    const ok = await o.executeWorkflow(approvalFlow({ timeoutMs: 30, onTimeout: 'approve' }));
    expect(ok.status).toBe('completed');
    const failed = await o.executeWorkflow(approvalFlow({ timeoutMs: 30, onTimeout: 'fail' }));
    expect(failed.tasks.review.error?.code).toBe('CDX_ERR_WAIT_TIMEOUT');
    await o.close();
  });

  it('ctx.waitFor suspends the handler; signal runs it again and waitFor answers the payload', async () => {
    let calls = 0;
    const o = makeOrchestrator({}, [
      {
        id: 'h',
        handler: async (ctx) => {
          calls++;
          const p = (await ctx.waitFor!('go')) as { n: number };
          return p.n * 2;
        },
      },
    ]);
    const w = waiting(o);
    const run = o.executeWorkflow({ id: 'wf', name: 'wf', tasks: [{ id: 't', agentId: 'h' }] }, { executionId: 'wf1' });
    await w;
    expect(calls).toBe(1);
    expect(o.agentStats('h')?.active).toBe(0);
    expect(await o.signal('wf1', 'go', { n: 21 })).toBe(true);
    const r = await run;
    expect(r.tasks.t.output).toBe(42);
    expect(calls).toBe(2);
    await o.close();
  });

  it('cancelling a waiting run works', async () => {
    const o = makeOrchestrator();
    const w = waiting(o);
    const run = o.executeWorkflow(approvalFlow(), { executionId: 'wc' });
    await w;
    expect(o.cancel('wc')).toBe(true);
    expect((await run).status).toBe('cancelled');
    expect(await code(o.signal('wc', 'review', {}))).toBe('CDX_ERR_NOT_PAUSED');
    await o.close();
  });

  it('1000 waiting tasks (approvals and waitFor) hold no slots and no timers; signals resume them all', async () => {
    let calls = 0;
    const o = makeOrchestrator({ workflow: { maxConcurrency: 20 } }, [
      {
        id: 'h',
        concurrency: 4,
        handler: async (ctx) => {
          calls++;
          return ctx.waitFor!(`w-${ctx.taskId}`, { timeoutMs: 3_600_000 });
        },
      },
    ]);
    const tasks = Array.from({ length: 1000 }, (_, k) =>
      k % 2
        ? { id: `t${k}`, agentId: 'h' }
        : { id: `t${k}`, type: 'approval', approval: { timeoutMs: 3_600_000, onTimeout: 'reject' } },
    );
    const timers = () => process.getActiveResourcesInfo().filter((x) => x === 'Timeout').length;
    const before = timers();
    const w = waiting(o, 1000);
    const run = o.executeWorkflow({ id: 'many', name: 'many', maxConcurrency: 20, tasks }, { executionId: 'many' });
    await w;
    await sleep(10);
    // Every task is waiting at once although only 20 may run at a time (4 on agent h): none holds a slot.
    expect(await o.waitingApprovals()).toHaveLength(1000);
    expect((await o.getExecution('many'))!.header.status).toBe('waiting');
    expect(o.agentStats('h')?.active).toBe(0);
    expect(timers() - before).toBeLessThanOrEqual(3);
    for (let k = 0; k < 1000; k++) {
      if (k % 2) await o.signal('many', `w-t${k}`, k);
      else await o.debugger.approve('many', `t${k}`, { by: 'ann' });
    }
    const r = await run;
    expect(r.status).toBe('completed');
    expect(r.tasks.t1.output).toBe(1);
    expect(r.tasks.t0.output).toMatchObject({ approved: true });
    expect(calls).toBe(1000);
    await o.close();
  });
});
