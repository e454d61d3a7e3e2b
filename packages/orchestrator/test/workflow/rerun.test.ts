import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentDefinition, MultiAgentOrchestrator } from '../../src/index.js';
import { type Fakes, makeManager, startFakes } from '../models/helpers.js';

// Re-run from a task on a newer version of the workflow, on another agent, and on another model: the tasks upstream
// (and beside) are never called again (calls counted), and the re-run runs the new definition of the chosen task.

const calls: Record<string, number> = {};
const count = (key: string) => {
  calls[key] = (calls[key] ?? 0) + 1;
};
const handlerAgent = (id: string): AgentDefinition => ({
  id,
  handler: (ctx) => {
    count(`${id}/${ctx.taskId}`);
    return ctx.taskId === 'fetch' ? { rows: [1, 2, 3] } : `${id}:${ctx.prompt}`;
  },
});

const v1 = {
  id: 'report',
  name: 'report',
  version: 1,
  tasks: [
    { id: 'fetch', agentId: 'fetcher' },
    { id: 'side', agentId: 'fetcher' },
    { id: 'summarize', agentId: 'v1', dependencies: ['fetch'], input: { prompt: 'sum of {{ input.topic }}' } },
    { id: 'publish', agentId: 'v1', dependencies: ['summarize', 'side'], input: { prompt: 'publish' } },
  ],
};

// Version 2 changes the chosen task's prompt and adds a task downstream of it.
const v2 = {
  ...v1,
  version: 2,
  tasks: [
    ...v1.tasks.map((t) =>
      t.id === 'summarize' ? { ...t, input: { prompt: 'v2 summary of {{ input.topic }}, briefly' } } : t,
    ),
    { id: 'notify', agentId: 'v1', dependencies: ['publish'], input: { prompt: 'notify' } },
  ],
};

describe('re-run from a task', () => {
  let fakes: Fakes;
  beforeAll(async () => {
    fakes = await startFakes();
  });
  afterAll(async () => {
    await fakes.close();
  });

  it('on a newer version of the workflow and on another agent: nothing upstream runs again', async () => {
    for (const k of Object.keys(calls)) delete calls[k];
    const o = new MultiAgentOrchestrator({ store: { type: 'memory' } });
    for (const id of ['fetcher', 'v1', 'v2']) o.registerAgent(handlerAgent(id));
    const parent = await o.executeWorkflow(v1, { executionId: 'p', input: { topic: 'sales' } });
    expect(parent.status).toBe('completed');
    expect(calls).toEqual({ 'fetcher/fetch': 1, 'fetcher/side': 1, 'v1/summarize': 1, 'v1/publish': 1 });

    const newer = await o.debugger.rerunFrom('p', 'summarize', { definition: v2, executionId: 'r-v2' });
    const r1 = await newer.done;
    expect(r1.status).toBe('completed');
    // fetch and side (upstream and beside) were not called; summarize, publish and the new notify were.
    expect(calls).toEqual({
      'fetcher/fetch': 1,
      'fetcher/side': 1,
      'v1/summarize': 2,
      'v1/publish': 2,
      'v1/notify': 1,
    });
    expect(r1.tasks.summarize.output).toBe('v1:v2 summary of sales, briefly');
    expect(r1.tasks.fetch.output).toEqual(parent.tasks.fetch.output);
    expect(r1.tasks.notify.status).toBe('completed');
    expect((await o.getExecution('r-v2'))!.header.definition).toMatchObject({ version: '2' });
    expect((await o.debugger.state('r-v2')).parent).toEqual({ executionId: 'p', fromTaskId: 'summarize' });

    const other = await o.debugger.rerunFrom('p', 'summarize', { agentId: 'v2', executionId: 'r-agent' });
    const r2 = await other.done;
    expect(r2.status).toBe('completed');
    expect(calls).toEqual({
      'fetcher/fetch': 1,
      'fetcher/side': 1,
      'v1/summarize': 2,
      'v2/summarize': 1,
      'v1/publish': 3,
      'v1/notify': 1,
    });
    expect(r2.tasks.summarize.output).toBe('v2:sum of sales');
    expect(r2.tasks.publish.output).toBe('v1:publish');
    const def = (await o.getExecution('r-agent'))!.header.definition as typeof v1;
    expect(def.tasks.find((t) => t.id === 'summarize')?.agentId).toBe('v2');
    // The parent's definition is as it was.
    expect(((await o.getExecution('p'))!.header.definition as typeof v1).tasks[2].agentId).toBe('v1');
    await o.close();
  });

  it('on another model: the model provider sees the new model for the chosen task only', async () => {
    for (const k of Object.keys(calls)) delete calls[k];
    const { manager } = makeManager(fakes);
    const o = new MultiAgentOrchestrator({ store: { type: 'memory' } }, { models: manager });
    o.registerAgent(handlerAgent('fetcher'));
    o.registerAgent({ id: 'writer', model: { model: 'oa-small' } });
    const def = {
      id: 'modelled',
      name: 'modelled',
      tasks: [
        { id: 'fetch', agentId: 'fetcher' },
        { id: 'summarize', agentId: 'writer', dependencies: ['fetch'], input: { prompt: 'summarize the rows' } },
      ],
    };
    const models = () => fakes.openai.requests.map((r) => (r.body as { model: string }).model);
    const before = models().length;
    const parent = await o.executeWorkflow(def, { executionId: 'mp' });
    expect(parent.status).toBe('completed');
    expect(models().slice(before)).toEqual(['gpt-4o-mini']);

    const { done } = await o.debugger.rerunFrom('mp', 'summarize', { model: { model: 'oa-big' } });
    const r = await done;
    expect(r.status).toBe('completed');
    expect(models().slice(before)).toEqual(['gpt-4o-mini', 'gpt-4o']);
    expect(calls).toEqual({ 'fetcher/fetch': 1 });
    expect(r.tasks.fetch.output).toEqual(parent.tasks.fetch.output);
    expect(String(r.tasks.summarize.output)).toContain('gpt-4o');
    await o.close();
  });
});
