import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/index.js';
import { makeOrchestrator } from './helpers.js';

const ret = { maxAttempts: 1 };

describe('conditions', () => {
  it('skips a task whose when is false; a dependent of only skipped tasks is skipped too; a join runs', async () => {
    const ran: string[] = [];
    const o = makeOrchestrator({}, [
      {
        id: 'r',
        handler: (ctx) => {
          ran.push(ctx.taskId);
          return ctx.taskId;
        },
      },
    ]);
    const r = await o.executeWorkflow(
      {
        id: 'branch',
        name: 'branch',
        tasks: [
          { id: 'classify', agentId: 'r' },
          { id: 'big', agentId: 'r', dependencies: ['classify'], when: 'input.amount > 1000' },
          { id: 'big-followup', agentId: 'r', dependencies: ['big'] },
          { id: 'small', agentId: 'r', dependencies: ['classify'], when: 'input.amount <= 1000' },
          { id: 'report', agentId: 'r', dependencies: ['big', 'small'] },
        ],
      },
      { input: { amount: 50 } },
    );
    expect(r.status).toBe('completed');
    expect(r.tasks.big).toMatchObject({ status: 'skipped', skippedReason: 'condition is false: input.amount > 1000' });
    expect(r.tasks['big-followup']).toMatchObject({
      status: 'skipped',
      skippedReason: 'all dependencies were skipped',
    });
    expect(r.tasks.small.status).toBe('completed');
    expect(r.tasks.report.status).toBe('completed');
    expect(ran).toEqual(['classify', 'small', 'report']);
    await o.close();
  });

  it('conditions can read upstream outputs', async () => {
    const o = makeOrchestrator({}, [
      { id: 'score', handler: () => ({ score: 0.9 }) },
      { id: 'r', handler: (ctx) => ctx.taskId },
    ]);
    const r = await o.executeWorkflow({
      id: 'c',
      name: 'c',
      tasks: [
        { id: 'score', agentId: 'score' },
        { id: 'publish', agentId: 'r', dependencies: ['score'], when: 'outputs.score.score >= 0.8' },
        { id: 'revise', agentId: 'r', dependencies: ['score'], when: "outputs['score'].score < 0.8" },
      ],
    });
    expect(r.tasks.publish.status).toBe('completed');
    expect(r.tasks.revise.status).toBe('skipped');
    await o.close();
  });
});

describe('loops', () => {
  it('forEach runs once per item and returns the outputs in order', async () => {
    const o = makeOrchestrator({}, [
      { id: 'list', handler: () => ['a', 'b', 'c'] },
      { id: 'up', handler: (ctx) => `${ctx.index}:${String(ctx.item).toUpperCase()}:${ctx.prompt}` },
    ]);
    const r = await o.executeWorkflow({
      id: 'l',
      name: 'l',
      tasks: [
        { id: 'list', agentId: 'list' },
        {
          id: 'each',
          agentId: 'up',
          dependencies: ['list'],
          forEach: 'outputs.list',
          input: { prompt: 'item {{ item }} of {{ len(outputs.list) }}' },
        },
      ],
    });
    expect(r.status).toBe('completed');
    expect(r.tasks.each.output).toEqual(['0:A:item a of 3', '1:B:item b of 3', '2:C:item c of 3']);
    expect(r.tasks.each.iterations).toBe(3);
    await o.close();
  });

  it('forEach over something that is not a list fails with a clear error', async () => {
    const o = makeOrchestrator({}, [{ id: 'x', handler: () => 1 }]);
    const r = await o.executeWorkflow(
      { id: 'l', name: 'l', tasks: [{ id: 'each', agentId: 'x', forEach: 'input.items', retry: ret }] },
      { input: { items: 'nope' } },
    );
    expect(r.status).toBe('failed');
    expect(r.tasks.each.error).toMatchObject({ code: ErrorCodes.EXPRESSION });
    expect(r.tasks.each.error?.message).toContain('forEach must yield a list, got string');
    await o.close();
  });

  it('while repeats until its condition is false, seeing the last output', async () => {
    const o = makeOrchestrator({}, [{ id: 'inc', handler: (ctx) => ((ctx.iteration ?? 0) + 1) * 10 }]);
    const r = await o.executeWorkflow({
      id: 'w',
      name: 'w',
      tasks: [{ id: 'grow', agentId: 'inc', while: 'last == null || last < 35', maxIterations: 10 }],
    });
    expect(r.status).toBe('completed');
    expect(r.tasks.grow.output).toBe(40);
    expect(r.tasks.grow.iterations).toBe(4);
    await o.close();
  });

  it('stops a loop that would run forever at maxIterations', async () => {
    let calls = 0;
    const o = makeOrchestrator({}, [{ id: 'spin', handler: () => ++calls }]);
    const r = await o.executeWorkflow({
      id: 'w',
      name: 'w',
      tasks: [{ id: 'forever', agentId: 'spin', while: 'true', maxIterations: 25, retry: ret }],
    });
    expect(r.status).toBe('failed');
    expect(calls).toBe(25);
    expect(r.tasks.forever.error).toMatchObject({ code: ErrorCodes.LOOP_LIMIT });
    expect(r.tasks.forever.error?.message).toContain('maxIterations (25)');
    await o.close();
  });
});

describe('onError', () => {
  const agents = [
    {
      id: 'ok',
      handler: (ctx: { taskId: string; deps: Record<string, unknown> }) => ({ id: ctx.taskId, deps: ctx.deps }),
    },
    {
      id: 'boom',
      handler: () => {
        throw new Error('kaput');
      },
    },
  ];

  it('fail (default): the workflow fails and pending tasks do not run', async () => {
    const o = makeOrchestrator({}, agents);
    const r = await o.executeWorkflow({
      id: 'e',
      name: 'e',
      tasks: [
        { id: 'a', agentId: 'boom', retry: ret },
        { id: 'b', agentId: 'ok', dependencies: ['a'] },
      ],
    });
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe(ErrorCodes.TASK_FAILED);
    expect(r.tasks.b.status).toBe('skipped');
    await o.close();
  });

  it('continue: the task is failed, dependents run and see no output', async () => {
    const o = makeOrchestrator({}, agents);
    const failed: boolean[] = [];
    o.on('task:failed', (e) => failed.push(e.handled));
    const r = await o.executeWorkflow({
      id: 'e',
      name: 'e',
      tasks: [
        { id: 'a', agentId: 'boom', retry: ret, onError: 'continue' },
        { id: 'b', agentId: 'ok', dependencies: ['a'] },
      ],
    });
    expect(r.status).toBe('completed');
    expect(r.tasks.a).toMatchObject({ status: 'failed', error: { message: 'kaput' } });
    expect(r.tasks.b.output).toEqual({ id: 'b', deps: { a: undefined } });
    expect(failed).toEqual([true]);
    await o.close();
  });

  it('fallback: the fallback task runs and its output stands in for the failed task', async () => {
    const o = makeOrchestrator({}, agents);
    const r = await o.executeWorkflow({
      id: 'e',
      name: 'e',
      tasks: [
        { id: 'src', agentId: 'ok' },
        { id: 'primary', agentId: 'boom', dependencies: ['src'], retry: ret, onError: { fallback: 'backup' } },
        { id: 'backup', agentId: 'ok', dependencies: ['src'] },
        { id: 'use', agentId: 'ok', dependencies: ['primary'] },
      ],
    });
    expect(r.status).toBe('completed');
    expect(r.tasks.primary.status).toBe('failed');
    expect(r.tasks.backup.status).toBe('completed');
    expect((r.tasks.use.output as { deps: Record<string, { id: string }> }).deps.primary.id).toBe('backup');
    await o.close();
  });

  it('a fallback is not run when its primary succeeds', async () => {
    const o = makeOrchestrator({}, agents);
    const r = await o.executeWorkflow({
      id: 'e',
      name: 'e',
      tasks: [
        { id: 'p', agentId: 'ok', onError: { fallback: 'fb' } },
        { id: 'fb', agentId: 'ok' },
      ],
    });
    expect(r.status).toBe('completed');
    expect(r.tasks.fb).toBeUndefined();
    expect(Object.keys(r.output)).toEqual(['p']);
    await o.close();
  });
});

describe('templates, model agents and cache', () => {
  it('renders prompts from workflow input and upstream outputs; handler-less agents use the offline local model', async () => {
    const o = makeOrchestrator({}, [
      { id: 'fetch', handler: () => ({ rows: 42 }) },
      { id: 'writer', instructions: 'Be brief.' },
    ]);
    const r = await o.executeWorkflow(
      {
        id: 't',
        name: 't',
        tasks: [
          { id: 'fetch', agentId: 'fetch' },
          {
            id: 'summarise',
            agentId: 'writer',
            dependencies: ['fetch'],
            input: { prompt: 'Summarise {{ outputs.fetch.rows }} rows for {{ input.team }}' },
          },
        ],
      },
      { input: { team: 'sales' } },
    );
    expect(r.status).toBe('completed');
    const text = r.tasks.summarise.output as string;
    expect(text.startsWith('[local offline model]')).toBe(true);
    expect(text).toContain('Summarise 42 rows for sales');
    expect(r.tasks.summarise.usage!.inputTokens).toBeGreaterThan(0);
    expect(r.usage.outputTokens).toBe(r.tasks.summarise.usage!.outputTokens);
    await o.close();
  });

  it('cache: an identical task run reuses the earlier output', async () => {
    let calls = 0;
    const o = makeOrchestrator({}, [{ id: 'exp', handler: (ctx) => `${ctx.prompt}#${++calls}` }]);
    const def = {
      id: 'c',
      name: 'c',
      tasks: [{ id: 'a', agentId: 'exp', cache: true, input: { prompt: 'p {{ input.x }}' } }],
    };
    const r1 = await o.executeWorkflow(def, { input: { x: 1 } });
    const r2 = await o.executeWorkflow(def, { input: { x: 1 } });
    const r3 = await o.executeWorkflow(def, { input: { x: 2 } });
    expect(r1.tasks.a.output).toBe('p 1#1');
    expect(r2.tasks.a).toMatchObject({ output: 'p 1#1', cached: true });
    expect(r3.tasks.a.output).toBe('p 2#2');
    expect(calls).toBe(2);
    await o.close();
  });
});
