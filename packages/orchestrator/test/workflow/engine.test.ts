import { filter, firstValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, type OrchestratorEvents } from '../../src/index.js';
import { chain, fanOut, makeOrchestrator, sleep } from './helpers.js';

describe('DAG execution', () => {
  it('runs a diamond in dependency order and hands each task its upstream outputs', async () => {
    const order: string[] = [];
    const o = makeOrchestrator({}, [
      {
        id: 'rec',
        handler: async (ctx) => {
          order.push(ctx.taskId);
          await sleep(5);
          return { id: ctx.taskId, saw: Object.keys(ctx.deps).sort() };
        },
      },
    ]);
    const r = await o.executeWorkflow({
      id: 'diamond',
      name: 'diamond',
      tasks: [
        { id: 'a', agentId: 'rec' },
        { id: 'b', agentId: 'rec', dependencies: ['a'] },
        { id: 'c', agentId: 'rec', dependencies: ['a'] },
        { id: 'd', agentId: 'rec', dependencies: ['b', 'c'] },
      ],
    });
    expect(r.status).toBe('completed');
    expect(order[0]).toBe('a');
    expect(order[3]).toBe('d');
    expect(r.tasks.d.output).toEqual({ id: 'd', saw: ['b', 'c'] });
    expect(r.output).toEqual({ d: { id: 'd', saw: ['b', 'c'] } });
    expect(r.tasks.b.startedAt!).toBeGreaterThanOrEqual(r.tasks.a.finishedAt!);
    await o.close();
  });

  it('runs a chain of 1000 with every task exactly once', async () => {
    let calls = 0;
    const o = makeOrchestrator({}, [
      {
        id: 'count',
        handler: (ctx) => ((ctx.deps[`t${Number(ctx.taskId.slice(1)) - 1}`] as number) ?? 0) + 1 + 0 * ++calls,
      },
    ]);
    const r = await o.executeWorkflow(chain(1000, 'count'));
    expect(r.status).toBe('completed');
    expect(calls).toBe(1000);
    expect(r.tasks.t999.output).toBe(1000);
    await o.close();
  });

  it('fans out to 1000 tasks and joins all results', async () => {
    const o = makeOrchestrator({}, [{ id: 'join', handler: (ctx) => Object.keys(ctx.deps).length }]);
    const def = fanOut(1000);
    def.tasks[def.tasks.length - 1].agentId = 'join';
    const r = await o.executeWorkflow(def);
    expect(r.status).toBe('completed');
    expect(r.tasks.join.output).toBe(1000);
    expect(Object.values(r.tasks).filter((t) => t.status === 'completed')).toHaveLength(1002);
    await o.close();
  });

  it('runs independent tasks concurrently, bounded by maxConcurrency', async () => {
    let active = 0;
    let peak = 0;
    const gate = async () => {
      active++;
      peak = Math.max(peak, active);
      await sleep(20);
      active--;
    };
    const o = makeOrchestrator({}, [{ id: 'gate', handler: gate }]);
    const r = await o.executeWorkflow(fanOut(8, 'gate'));
    expect(r.status).toBe('completed');
    expect(peak).toBe(8);
    // Overlap, proven by timestamps: every worker started before any worker finished.
    const workers = Object.values(r.tasks).filter((t) => t.taskId.startsWith('w'));
    const lastStart = Math.max(...workers.map((t) => t.startedAt!));
    const firstEnd = Math.min(...workers.map((t) => t.finishedAt!));
    expect(lastStart).toBeLessThan(firstEnd);
    peak = 0;
    const r2 = await o.executeWorkflow({ ...fanOut(8, 'gate'), maxConcurrency: 3 });
    expect(r2.status).toBe('completed');
    expect(peak).toBe(3);
    await o.close();
  });
});

describe('retries, timeouts, cancellation', () => {
  it('retries with exponential backoff and counts attempts', async () => {
    let calls = 0;
    const o = makeOrchestrator({}, [
      {
        id: 'flaky',
        handler: () => {
          calls++;
          if (calls < 4) throw new Error(`boom ${calls}`);
          return 'ok';
        },
      },
    ]);
    const retries: OrchestratorEvents['task:retrying'][] = [];
    o.on('task:retrying', (e) => retries.push(e));
    const r = await o.executeWorkflow({
      id: 'r',
      name: 'r',
      tasks: [
        { id: 'a', agentId: 'flaky', retry: { maxAttempts: 5, initialDelayMs: 4, backoffMultiplier: 2, jitter: 0 } },
      ],
    });
    expect(r.status).toBe('completed');
    expect(r.tasks.a.attempts).toBe(4);
    expect(retries.map((e) => e.attempt)).toEqual([1, 2, 3]);
    expect(retries.map((e) => e.delayMs)).toEqual([4, 8, 16]);
    expect(retries[0].error.message).toBe('boom 1');
    await o.close();
  });

  it('fails after maxAttempts with the last error, and does not retry non-retryable errors', async () => {
    let calls = 0;
    const o = makeOrchestrator({}, [
      {
        id: 'bad',
        handler: () => {
          calls++;
          throw new Error('always');
        },
      },
      {
        id: 'fatal',
        handler: () => {
          calls++;
          throw Object.assign(new Error('invalid request'), { retryable: false });
        },
      },
    ]);
    const r = await o.executeWorkflow({
      id: 'r',
      name: 'r',
      tasks: [{ id: 'a', agentId: 'bad', retry: { maxAttempts: 3, initialDelayMs: 1 } }],
    });
    expect(r.status).toBe('failed');
    expect(calls).toBe(3);
    expect(r.tasks.a).toMatchObject({ status: 'failed', attempts: 3, error: { message: 'always' } });
    expect(r.error?.message).toContain('task "a" failed after 3 attempt(s): always');
    calls = 0;
    const r2 = await o.executeWorkflow({
      id: 'r',
      name: 'r',
      tasks: [{ id: 'a', agentId: 'fatal', retry: { maxAttempts: 3 } }],
    });
    expect(r2.status).toBe('failed');
    expect(calls).toBe(1);
    await o.close();
  });

  it('aborts a hung task at its timeout through its AbortSignal', async () => {
    let aborted: unknown;
    const o = makeOrchestrator({}, [
      {
        id: 'hang',
        handler: (ctx) =>
          new Promise((_, reject) => {
            ctx.signal.addEventListener('abort', () => {
              aborted = ctx.signal.reason;
              reject(ctx.signal.reason);
            });
          }),
      },
    ]);
    const r = await o.executeWorkflow({
      id: 't',
      name: 't',
      tasks: [{ id: 'a', agentId: 'hang', timeoutMs: 30, retry: { maxAttempts: 2, initialDelayMs: 1 } }],
    });
    expect(r.status).toBe('failed');
    expect(r.tasks.a.attempts).toBe(2);
    expect(r.tasks.a.error?.code).toBe(ErrorCodes.TASK_TIMEOUT);
    expect(r.error?.code).toBe(ErrorCodes.TASK_TIMEOUT);
    expect((aborted as Error).message).toContain('timed out after 30 ms');
    await o.close();
  });

  it('times out a task that ignores its signal', async () => {
    const o = makeOrchestrator({}, [{ id: 'deaf', handler: () => new Promise(() => {}) }]);
    const r = await o.executeWorkflow({
      id: 't',
      name: 't',
      tasks: [{ id: 'a', agentId: 'deaf', timeoutMs: 20, retry: { maxAttempts: 1 } }],
    });
    expect(r.tasks.a.error?.code).toBe(ErrorCodes.TASK_TIMEOUT);
    await o.close();
  });

  it('enforces the workflow timeout', async () => {
    const o = makeOrchestrator({}, [{ id: 'slow', handler: (ctx) => sleep(1000).then(() => ctx.signal.aborted) }]);
    const r = await o.executeWorkflow({
      id: 't',
      name: 't',
      timeoutMs: 40,
      tasks: [
        { id: 'a', agentId: 'slow' },
        { id: 'b', agentId: 'slow', dependencies: ['a'] },
      ],
    });
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe(ErrorCodes.WORKFLOW_TIMEOUT);
    expect(r.tasks.a.status).toBe('failed');
    expect(r.tasks.b.status).toBe('skipped');
    await o.close();
  });

  it('cancels through an AbortSignal and through cancel(executionId)', async () => {
    let sawAbort = false;
    const o = makeOrchestrator({}, [
      {
        id: 'wait',
        handler: (ctx) =>
          new Promise((res) =>
            ctx.signal.addEventListener('abort', () => {
              sawAbort = true;
              res('x');
            }),
          ),
      },
    ]);
    const ac = new AbortController();
    const p = o.executeWorkflow(chain(3, 'wait'), { signal: ac.signal });
    setTimeout(() => ac.abort('user pressed stop'), 20);
    const r = await p;
    expect(r.status).toBe('cancelled');
    expect(r.error).toMatchObject({ code: ErrorCodes.CANCELLED });
    expect(r.error?.message).toContain('user pressed stop');
    expect(sawAbort).toBe(true);
    expect(r.tasks.t1.status).toBe('skipped');
    const cancelled: string[] = [];
    o.on('workflow:cancelled', (e) => cancelled.push(e.executionId));
    const p2 = o.executeWorkflow(chain(2, 'wait'), { executionId: 'ex-2' });
    await sleep(10);
    expect(o.cancel('ex-2')).toBe(true);
    expect((await p2).status).toBe('cancelled');
    expect(cancelled).toEqual(['ex-2']);
    await o.close();
  });
});

describe('events', () => {
  it('emits the seed events with taskId, duration and output, on the emitter and on events$', async () => {
    const o = makeOrchestrator();
    const seen: string[] = [];
    o.on('task:completed', (task) => seen.push(`${task.taskId} completed in ${task.duration}ms`));
    const types = firstValueFrom(
      o.events$.pipe(
        filter((e) => e.type.startsWith('workflow') || e.type === 'task:completed'),
        take(4),
        toArray(),
      ),
    );
    const r = await o.executeWorkflow(chain(2));
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatch(/^t0 completed in [\d.]+ms$/);
    expect((await types).map((e) => e.type)).toEqual([
      'workflow:started',
      'task:completed',
      'task:completed',
      'workflow:completed',
    ]);
    expect(r.status).toBe('completed');
    await o.close();
  });

  it('a throwing listener does not break the run', async () => {
    const o = makeOrchestrator();
    o.on('task:completed', () => {
      throw new Error('listener bug');
    });
    const warn = new Promise((res) => process.once('warning', res));
    expect((await o.executeWorkflow(chain(3))).status).toBe('completed');
    expect(String(((await warn) as Error).message)).toContain('listener bug');
    await o.close();
  });
});

describe('store failures', () => {
  it('a failing store write fails the run with CDX_ERR_STORE naming the cause; the orchestrator keeps working', async () => {
    const { MemoryStore, MultiAgentOrchestrator } = await import('../../src/index.js');
    const store = new MemoryStore();
    let broken = true;
    const append = store.appendTransitions.bind(store);
    store.appendTransitions = (batch) => {
      if (broken) throw new Error('disk full');
      append(batch);
    };
    const o = new MultiAgentOrchestrator({}, { store });
    o.registerAgent({ id: 'echo', handler: () => 1 });
    const r = await o.executeWorkflow(chain(3));
    expect(r.status).toBe('failed');
    expect(r.error).toMatchObject({ code: ErrorCodes.STORE });
    expect(r.error?.message).toContain('disk full');
    broken = false;
    expect((await o.executeWorkflow(chain(3))).status).toBe('completed');
    await o.close();
  });
});
