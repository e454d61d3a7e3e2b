import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, MemoryStore, MultiAgentOrchestrator, parseExpression } from '../../src/index.js';
import { TaskCache } from '../../src/workflow/task-cache.js';
import { makeOrchestrator, sleep } from './helpers.js';

const once = { maxAttempts: 1 };

describe('fallbacks', () => {
  it('a fallback task may not have a fallback of its own (it could never settle its primary)', () => {
    const o = makeOrchestrator();
    expect(() =>
      o.validateWorkflow({
        id: 'w',
        name: 'w',
        tasks: [
          { id: 't', agentId: 'echo', onError: { fallback: 'f1' } },
          { id: 'f1', agentId: 'echo', onError: { fallback: 'f2' } },
          { id: 'f2', agentId: 'echo' },
        ],
      }),
    ).toThrow(
      expect.objectContaining({
        code: ErrorCodes.WORKFLOW_INVALID,
        message: expect.stringContaining('cannot have a fallback of its own'),
      }),
    );
  });

  it('a fallback whose dependencies were restored on resume still runs and stands in', async () => {
    let fallbackWorks = false;
    const store = new MemoryStore();
    const o = new MultiAgentOrchestrator({}, { store });
    o.registerAgent({ id: 'ok', handler: (ctx) => `out-${ctx.taskId}` });
    o.registerAgent({
      id: 'bad',
      handler: () => {
        throw Object.assign(new Error('primary down'), { retryable: false });
      },
    });
    o.registerAgent({
      id: 'fb',
      handler: () => {
        if (!fallbackWorks) throw Object.assign(new Error('fallback down'), { retryable: false });
        return 'out-f';
      },
    });
    const def = {
      id: 'fbr',
      name: 'fbr',
      tasks: [
        { id: 'a', agentId: 'ok' },
        { id: 't', agentId: 'bad', dependencies: ['a'], onError: { fallback: 'f' }, retry: once },
        { id: 'f', agentId: 'fb', dependencies: ['a'], retry: once },
        { id: 'z', agentId: 'ok', dependencies: ['t'] },
      ],
    };
    const first = await o.executeWorkflow(def);
    expect(first.status).toBe('failed');
    expect(first.tasks.a.status).toBe('completed');
    fallbackWorks = true;
    const resumed = await o.resume(first.executionId);
    expect(resumed.status).toBe('completed');
    expect(resumed.tasks.f.status).toBe('completed');
    expect(resumed.tasks.z.status).toBe('completed');
    expect(resumed.tasks.t.output).toBe('out-f');
    await o.close();
  });
});

describe('forEach', () => {
  it('the first item that fails stops the loop; nothing of the task runs after its failure is recorded', async () => {
    const started: number[] = [];
    const o = makeOrchestrator({}, [
      {
        id: 'item',
        handler: async (ctx) => {
          started.push(ctx.index!);
          await sleep(5);
          if (ctx.index === 1) throw Object.assign(new Error('bad item'), { retryable: false });
          return ctx.index;
        },
      },
    ]);
    const r = await o.executeWorkflow({
      id: 'fe',
      name: 'fe',
      maxConcurrency: 2,
      tasks: [{ id: 'each', agentId: 'item', forEach: 'range(8)', onError: 'continue', retry: once }],
    });
    expect(r.status).toBe('completed');
    expect(r.tasks.each.status).toBe('failed');
    expect(r.tasks.each.error?.message).toBe('bad item');
    expect(started.length).toBeLessThanOrEqual(3);
    await sleep(30);
    const history = (await o.history(r.executionId)).filter((h) => h.taskKey === 'each').map((h) => h.status);
    expect(history.at(-1)).toBe('failed');
    expect(started.length).toBeLessThanOrEqual(3);
    await o.close();
  });

  it("runs no more items at once than the agent's concurrency", async () => {
    let active = 0;
    let peak = 0;
    const o = makeOrchestrator({}, [
      {
        id: 'one',
        concurrency: 1,
        handler: async () => {
          active++;
          peak = Math.max(peak, active);
          await sleep(3);
          active--;
        },
      },
    ]);
    const r = await o.executeWorkflow({
      id: 'fe',
      name: 'fe',
      tasks: [{ id: 'each', agentId: 'one', forEach: 'range(6)' }],
    });
    expect(r.status).toBe('completed');
    expect(peak).toBe(1);
    await o.close();
  });
});

describe('run lifecycle', () => {
  it('a cancel while the header is being written leaves no listener, timer or started task behind', async () => {
    const store = new MemoryStore();
    const create = store.createExecution.bind(store);
    store.createExecution = async (h, lease) => {
      await sleep(20);
      create(h, lease);
    };
    const o = new MultiAgentOrchestrator({}, { store });
    let ran = 0;
    o.registerAgent({ id: 'x', handler: () => ++ran });
    const queued: string[] = [];
    o.on('task:queued', (e) => queued.push(e.taskId));
    const ac = new AbortController();
    const p = o.executeWorkflow(
      { id: 'c', name: 'c', timeoutMs: 60_000, tasks: [{ id: 'a', agentId: 'x' }] },
      { signal: ac.signal, executionId: 'c1' },
    );
    await sleep(5);
    expect(o.cancel('c1')).toBe(true);
    const r = await p;
    expect(r.status).toBe('cancelled');
    await sleep(30);
    expect(ran).toBe(0);
    expect(queued).toEqual([]);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    await o.close();
  });

  it('refuses a second run with an execution id that is running', async () => {
    const o = makeOrchestrator({}, [{ id: 'slow', handler: () => sleep(30) }]);
    const def = { id: 'd', name: 'd', tasks: [{ id: 'a', agentId: 'slow' }] };
    const first = o.executeWorkflow(def, { executionId: 'same' });
    await expect(o.executeWorkflow(def, { executionId: 'same' })).rejects.toMatchObject({
      code: ErrorCodes.EXECUTION_RUNNING,
    });
    expect((await first).status).toBe('completed');
    await o.close();
  });
});

describe('expressions and cache', () => {
  it('inherited names are not functions of the expression language', () => {
    for (const f of ['valueOf()', 'toString()', 'hasOwnProperty("x")']) {
      expect(() => parseExpression(f), f).toThrow(expect.objectContaining({ code: ErrorCodes.EXPRESSION }));
    }
  });

  it('the task cache is bounded, hands out copies, and keys on the workflow input', async () => {
    const cache = new TaskCache(2);
    cache.set('a', { n: 1 });
    cache.set('b', { n: 2 });
    (cache.get('a') as { n: number }).n = 99;
    cache.set('c', { n: 3 });
    expect(cache.has('b')).toBe(false);
    expect(cache.get('a')).toEqual({ n: 1 });
    expect(cache.size).toBe(2);
    let calls = 0;
    const o = makeOrchestrator({}, [
      { id: 'in', handler: (ctx) => ({ k: (ctx.input as { k: number }).k, call: ++calls }) },
    ]);
    const def = { id: 'ci', name: 'ci', tasks: [{ id: 'a', agentId: 'in', cache: true }] };
    const r1 = await o.executeWorkflow(def, { input: { k: 1 } });
    const r2 = await o.executeWorkflow(def, { input: { k: 2 } });
    const r3 = await o.executeWorkflow(def, { input: { k: 1 } });
    expect(r1.tasks.a.output).toEqual({ k: 1, call: 1 });
    expect(r2.tasks.a.output).toEqual({ k: 2, call: 2 });
    expect(r3.tasks.a).toMatchObject({ output: { k: 1, call: 1 }, cached: true });
    expect(r3.tasks.a.output).not.toBe(r1.tasks.a.output);
    await o.close();
  });
});

describe('template scope', () => {
  it('stays current through a run (each step reads the one before) and refuses prototype-shaped task ids', async () => {
    const o = makeOrchestrator({}, [{ id: 'inc', handler: (ctx) => Number(ctx.prompt || 0) + 1 }]);
    const tasks = Array.from({ length: 50 }, (_, i) => ({
      id: `s${i}`,
      agentId: 'inc',
      dependencies: i ? [`s${i - 1}`] : [],
      input: { prompt: i ? `{{ outputs['s${i - 1}'] }}` : '0' },
      when: i ? `tasks['s${i - 1}'].status == 'completed'` : undefined,
    }));
    const r = await o.executeWorkflow({ id: 'live', name: 'live', tasks });
    expect(r.status).toBe('completed');
    expect(r.tasks.s49.output).toBe(50);
    expect(() => o.validateWorkflow({ id: 'p', name: 'p', tasks: [{ id: '__proto__', agentId: 'inc' }] })).toThrow(
      expect.objectContaining({ code: ErrorCodes.WORKFLOW_INVALID, message: expect.stringContaining('reserved name') }),
    );
    await o.close();
  });
});
