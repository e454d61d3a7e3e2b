import { describe, expect, it } from 'vitest';
import { CodexError, type MultiAgentOrchestrator } from '../../src/index.js';
import { makeOrchestrator } from './helpers.js';

const paused = (o: MultiAgentOrchestrator) =>
  new Promise<{ reason: string; taskId?: string }>((r) => o.once('execution:paused', (e) => r(e)));

function counting() {
  const calls: Record<string, number> = {};
  const seen: Record<string, { params: unknown; prompt: string }> = {};
  const o = makeOrchestrator({}, [
    {
      id: 'w',
      handler: (ctx) => {
        calls[ctx.taskId] = (calls[ctx.taskId] ?? 0) + 1;
        seen[ctx.taskId] = { params: ctx.params, prompt: ctx.prompt };
        if (ctx.taskId === 'a') return { n: (ctx.input as { n?: number }).n ?? 1 };
        return `${ctx.taskId}:${Object.keys(ctx.deps).join(',')}`;
      },
    },
  ]);
  return { o, calls, seen };
}

const abc = {
  id: 'abc',
  name: 'abc',
  tasks: [
    { id: 'a', agentId: 'w' },
    { id: 'b', agentId: 'w', dependencies: ['a'], input: { prompt: 'summarise {{ outputs.a.n }}', x: 1 } },
    { id: 'c', agentId: 'w', dependencies: ['b'] },
  ],
};

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as CodexError).code;
  }
  return 'no error';
}

describe('breakpoints', () => {
  it('pauses before a task: nothing after it starts; continue runs to the end', async () => {
    const { o, calls } = counting();
    const p = paused(o);
    const run = o.executeWorkflow(abc, { executionId: 'bp1', debug: { breakpoints: [{ taskId: 'b' }] } });
    expect(await p).toMatchObject({ reason: 'breakpoint', taskId: 'b' });
    const s = await o.debugger.state('bp1');
    expect(s.state).toBe('paused');
    expect(s.next).toEqual(['b']);
    expect(calls).toEqual({ a: 1 });
    const insp = await o.debugger.inspect('bp1');
    expect(insp).toMatchObject({ taskId: 'b', prompt: 'summarise 1', input: { x: 1 }, upstream: { a: { n: 1 } } });
    await o.debugger.continue('bp1', { by: 'ann' });
    const r = await run;
    expect(r.status).toBe('completed');
    expect(calls).toEqual({ a: 1, b: 1, c: 1 });
    await o.close();
  });

  it('pauses after a task finished, before its dependents start', async () => {
    const { o, calls } = counting();
    const p = paused(o);
    const run = o.executeWorkflow(abc, {
      executionId: 'bp2',
      debug: { breakpoints: [{ taskId: 'a', when: 'after' }] },
    });
    expect(await p).toMatchObject({ reason: 'breakpoint', taskId: 'a' });
    expect(calls).toEqual({ a: 1 });
    expect((await o.debugger.state('bp2')).paused?.when).toBe('after');
    await o.debugger.continue('bp2');
    expect((await run).status).toBe('completed');
    await o.close();
  });

  it('an after-breakpoint on the last task holds the run open until continue', async () => {
    const { o, calls } = counting();
    const p = paused(o);
    let ended = false;
    const run = o.executeWorkflow(abc, {
      executionId: 'bp3',
      debug: { breakpoints: [{ taskId: 'c', when: 'after' }] },
    });
    void run.then(() => {
      ended = true;
    });
    expect(await p).toMatchObject({ reason: 'breakpoint', taskId: 'c' });
    expect(calls).toEqual({ a: 1, b: 1, c: 1 });
    const s = await o.debugger.state('bp3');
    expect(s.state).toBe('paused');
    expect(s.paused?.when).toBe('after');
    expect((await o.getExecution('bp3'))!.header.status).toBe('paused');
    expect(ended).toBe(false);
    await o.debugger.continue('bp3');
    const r = await run;
    expect(r.status).toBe('completed');
    expect(r.output).toEqual({ c: 'c:b' });
    expect(calls).toEqual({ a: 1, b: 1, c: 1 });
    await o.close();
  });

  it('an after-breakpoint on the last task of async handlers holds the run open until continue', async () => {
    const o = makeOrchestrator({}, [{ id: 'w', handler: async (ctx) => ctx.taskId }]);
    const p = paused(o);
    const run = o.executeWorkflow(abc, {
      executionId: 'bp3a',
      debug: { breakpoints: [{ taskId: 'c', when: 'after' }] },
    });
    expect(await p).toMatchObject({ reason: 'breakpoint', taskId: 'c' });
    // Let the settled batch and any pump that follows it run before looking.
    await new Promise((r) => setTimeout(r, 20));
    expect((await o.debugger.state('bp3a')).state).toBe('paused');
    expect((await o.getExecution('bp3a'))!.header.status).toBe('paused');
    await o.debugger.continue('bp3a');
    expect((await run).status).toBe('completed');
    await o.close();
  });

  it('conditional breakpoints hold only when their expression is true', async () => {
    const { o } = counting();
    const debug = { breakpoints: [{ taskId: 'b', condition: "outputs['a'].n < 10" }] };
    const events: string[] = [];
    o.on('execution:paused', (e) => events.push(e.executionId));
    const big = await o.executeWorkflow(abc, { executionId: 'big', input: { n: 50 }, debug });
    expect(big.status).toBe('completed');
    const p = paused(o);
    const run = o.executeWorkflow(abc, { executionId: 'small', input: { n: 5 }, debug });
    await p;
    expect(events).toEqual(['small']);
    await o.debugger.continue('small');
    expect((await run).status).toBe('completed');
    await o.close();
  });

  it('step runs exactly the ready tasks of a fan-out, then pauses again', async () => {
    const { o, calls } = counting();
    const fan = {
      id: 'fan',
      name: 'fan',
      tasks: [
        { id: 'start', agentId: 'w' },
        ...[0, 1, 2, 3, 4].map((k) => ({ id: `w${k}`, agentId: 'w', dependencies: ['start'] })),
        { id: 'join', agentId: 'w', dependencies: ['w0', 'w1', 'w2', 'w3', 'w4'] },
      ],
    };
    let p = paused(o);
    const run = o.executeWorkflow(fan, { executionId: 'st', debug: { breakpoints: [{ taskId: 'start' }] } });
    await p;
    expect(calls).toEqual({});
    p = paused(o);
    await o.debugger.step('st');
    expect(await p).toMatchObject({ reason: 'step' });
    expect(calls).toEqual({ start: 1 });
    expect((await o.debugger.state('st')).next).toEqual(['w0', 'w1', 'w2', 'w3', 'w4']);
    p = paused(o);
    await o.debugger.step('st');
    await p;
    expect(calls).toEqual({ start: 1, w0: 1, w1: 1, w2: 1, w3: 1, w4: 1 });
    expect((await o.debugger.state('st')).next).toEqual(['join']);
    await o.debugger.continue('st');
    expect((await run).status).toBe('completed');
    expect(calls.join).toBe(1);
    await o.close();
  });

  it('edits and pins take effect for this run and are recorded (who, what, old -> new)', async () => {
    const { o, calls, seen } = counting();
    const p = paused(o);
    const run = o.executeWorkflow(abc, { executionId: 'ed', debug: { breakpoints: [{ taskId: 'b' }] } });
    await p;
    await o.debugger.edit('ed', 'b', { input: { x: 2 }, prompt: 'shorter please' }, { by: 'ann' });
    await o.debugger.pin('ed', 'c', { pinned: true }, { by: 'bob' });
    const insp = await o.debugger.inspect('ed', 'b');
    expect(insp).toMatchObject({ prompt: 'shorter please', input: { x: 2 }, edited: true });
    await o.debugger.continue('ed');
    const r = await run;
    expect(r.status).toBe('completed');
    expect(seen.b).toEqual({ params: expect.objectContaining({ x: 2 }), prompt: 'shorter please' });
    expect(calls.c).toBeUndefined();
    expect(r.tasks.c.output).toEqual({ pinned: true });
    expect(r.tasks.c.pinned).toBe(true);
    expect(r.tasks.b.edited).toBe(true);
    const s = await o.debugger.state('ed');
    expect(s.edits.map((e) => [e.kind, e.taskId, e.by, e.old, e.new])).toEqual([
      ['input', 'b', 'ann', { prompt: 'summarise {{ outputs.a.n }}', x: 1 }, { x: 2 }],
      ['prompt', 'b', 'ann', 'summarise {{ outputs.a.n }}', 'shorter please'],
      ['pin', 'c', 'bob', undefined, { pinned: true }],
    ]);
    // Editing a task that already ran is refused.
    expect(await code(o.debugger.state('ed'))).toBe('no error');
    await o.close();
  });

  it('pauseOnFailure holds a failing task; a pinned output lets the run go on', async () => {
    const o = makeOrchestrator({}, [
      {
        id: 'f',
        handler: (ctx) => {
          if (ctx.taskId === 'b') throw new Error('boom');
          return ctx.taskId;
        },
      },
    ]);
    const def = {
      id: 'pf',
      name: 'pf',
      tasks: [
        { id: 'a', agentId: 'f' },
        { id: 'b', agentId: 'f', dependencies: ['a'], retry: { maxAttempts: 1 } },
        { id: 'c', agentId: 'f', dependencies: ['b'] },
      ],
    };
    const p = paused(o);
    const run = o.executeWorkflow(def, { executionId: 'pf', debug: { pauseOnFailure: true } });
    expect(await p).toMatchObject({ reason: 'failure', taskId: 'b' });
    await o.debugger.pin('pf', 'b', 'fixed by hand');
    await o.debugger.continue('pf');
    const r = await run;
    expect(r.status).toBe('completed');
    expect(r.tasks.b.output).toBe('fixed by hand');
    expect(r.tasks.c.status).toBe('completed');
    await o.close();
  });

  it('bad input: unknown task, not paused (with its state), unknown execution; cancel of a paused run', async () => {
    const { o } = counting();
    const bad = o.executeWorkflow(abc, { debug: { breakpoints: [{ taskId: 'nope' }] } });
    expect(await code(bad)).toBe('CDX_ERR_DEBUG_INVALID');
    expect(await code(o.debugger.continue('missing'))).toBe('CDX_ERR_EXECUTION_NOT_FOUND');
    const p = paused(o);
    const run = o.executeWorkflow(abc, { executionId: 'np', debug: { breakpoints: [{ taskId: 'c' }] } });
    await p;
    expect(await code(o.debugger.setBreakpoints('np', [{ taskId: 'zzz' }]))).toBe('CDX_ERR_DEBUG_INVALID');
    expect(await code(o.debugger.edit('np', 'a', { input: { y: 1 } }))).toBe('CDX_ERR_TASK_STARTED');
    await o.debugger.continue('np');
    const err = await o.debugger.continue('np').catch((e) => e);
    expect(err).toBeInstanceOf(CodexError);
    expect(err.code).toBe('CDX_ERR_NOT_PAUSED');
    expect(err.state).toBe('running');
    await run;
    const err2 = await o.debugger.step('np').catch((e) => e);
    expect([err2.code, err2.state]).toEqual(['CDX_ERR_NOT_PAUSED', 'completed']);

    const p2 = paused(o);
    const run2 = o.executeWorkflow(abc, { executionId: 'cx', debug: { breakpoints: [{ taskId: 'b' }] } });
    await p2;
    expect(o.cancel('cx')).toBe(true);
    expect((await run2).status).toBe('cancelled');
    await o.close();
  });
});

describe('re-run from a task', () => {
  it('reuses every recorded output outside the chosen task and its dependents (handler calls counted)', async () => {
    const { o, calls } = counting();
    const def = {
      id: 'rr',
      name: 'rr',
      tasks: [
        { id: 'a', agentId: 'w' },
        { id: 'side', agentId: 'w' },
        { id: 'b', agentId: 'w', dependencies: ['a'], input: { x: 1 } },
        { id: 'c', agentId: 'w', dependencies: ['b', 'side'] },
      ],
    };
    const first = await o.executeWorkflow(def, { executionId: 'parent' });
    expect(first.status).toBe('completed');
    expect(calls).toEqual({ a: 1, side: 1, b: 1, c: 1 });
    const { executionId, done } = await o.debugger.rerunFrom('parent', 'b', { input: { x: 9 }, by: 'ann' });
    const r = await done;
    expect(r.status).toBe('completed');
    // Nothing upstream (or beside) ran again; b and its dependent c ran once more.
    expect(calls).toEqual({ a: 1, side: 1, b: 2, c: 2 });
    expect(r.tasks.a.output).toEqual(first.tasks.a.output);
    expect(r.tasks.b.edited).toBe(true);
    const s = await o.debugger.state(executionId);
    expect(s.parent).toEqual({ executionId: 'parent', fromTaskId: 'b' });
    expect(s.edits).toMatchObject([{ kind: 'input', taskId: 'b', by: 'ann', new: { x: 9 } }]);
    expect(await code(o.debugger.rerunFrom('parent', 'nope'))).toBe('CDX_ERR_DEBUG_INVALID');
    expect(await code(o.debugger.rerunFrom('missing', 'b'))).toBe('CDX_ERR_EXECUTION_NOT_FOUND');
    await o.close();
  });
});
