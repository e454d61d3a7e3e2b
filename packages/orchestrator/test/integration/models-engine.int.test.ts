import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type ModelManager, MultiAgentOrchestrator, type OrchestratorEvents } from '../../src/index.js';
import { type Fakes, fakeConfig, startFakes, TEST_CATALOG } from '../models/helpers.js';

let f: Fakes;
beforeAll(async () => {
  f = await startFakes();
});
afterAll(() => f.close());

function orchestrator() {
  const o = new MultiAgentOrchestrator({
    store: { type: 'memory' },
    models: { ...fakeConfig(f), catalog: { replace: true, models: TEST_CATALOG } },
  });
  o.registerAgent({ id: 'analyst', instructions: 'You analyse sales data.', model: { capabilities: ['analysis'] } });
  o.registerAgent({
    id: 'reasoner',
    instructions: 'You reason about forecasts.',
    model: { capabilities: ['reasoning'], prefer: ['an-sonnet'] },
  });
  o.registerAgent({ id: 'fast', model: { capabilities: ['fast', 'json'] } });
  return o;
}

describe('engine + model layer over real HTTP (fake provider servers)', () => {
  it('runs model-backed agents through the selected providers and totals tokens and cost on the result', async () => {
    const o = orchestrator();
    const completed: OrchestratorEvents['task:completed'][] = [];
    const selected: OrchestratorEvents['model:selected'][] = [];
    o.on('task:completed', (e) => completed.push(e));
    o.on('model:selected', (e) => selected.push(e));
    const r = await o.executeWorkflow(
      {
        id: 'mini-pipeline',
        name: 'mini',
        tasks: [
          { id: 'clean', agentId: 'fast', input: { prompt: 'Clean the {{ input.region }} rows' } },
          { id: 'trends', agentId: 'analyst', dependencies: ['clean'], input: { prompt: 'Analyze trends' } },
          { id: 'forecast', agentId: 'reasoner', dependencies: ['clean'], input: { prompt: 'Predict next quarter' } },
        ],
      },
      { input: { region: 'north' } },
    );
    expect(r.status).toBe('completed');
    // Cheapest model with the capabilities, unless the agent prefers one.
    expect(r.tasks.clean.model).toBe('oa-small');
    expect(r.tasks.forecast.model).toBe('an-sonnet');
    expect(TEST_CATALOG.find((m) => m.id === r.tasks.trends.model)!.capabilities).toContain('analysis');
    expect(r.tasks.clean.output).toMatch(/^reply from gpt-4o-mini about .*north rows/);
    const ledger = (o.models as ModelManager).ledger.execution(r.executionId);
    expect(r.usage).toEqual({ inputTokens: ledger.inputTokens, outputTokens: ledger.outputTokens });
    expect(r.cost).toBeCloseTo(ledger.cost, 12);
    expect(r.cost).toBeGreaterThan(0);
    expect(completed.map((c) => c.model).sort()).toEqual(
      [r.tasks.clean.model, r.tasks.forecast.model, r.tasks.trends.model].sort(),
    );
    expect(selected.filter((s) => s.executionId === r.executionId)).toHaveLength(3);
    // The upstream output reached the downstream prompt.
    const trendsCall = [...f.openai.requests, ...f.anthropic.requests, ...f.google.requests].find((q) =>
      JSON.stringify(q.body).includes('Analyze trends'),
    );
    expect(JSON.stringify(trendsCall?.body)).toContain(r.tasks.clean.output as string);
    await o.close();
  });

  it('a spent workflow budget stops the run with a clear error, whatever onError says', async () => {
    const o = orchestrator();
    const r = await o.executeWorkflow({
      id: 'budgeted',
      name: 'budgeted',
      budget: { maxTokens: 30 },
      tasks: [
        { id: 'a', agentId: 'fast', input: { prompt: 'one two three four five six seven eight nine ten' } },
        {
          id: 'b',
          agentId: 'fast',
          dependencies: ['a'],
          onError: 'continue',
          input: { prompt: 'again with many more words to spend the budget' },
        },
        { id: 'c', agentId: 'fast', dependencies: ['b'], input: { prompt: 'never' } },
      ],
    });
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe(ErrorCodes.BUDGET_EXCEEDED);
    expect(r.tasks.c.status).toBe('skipped');
    await o.close();
  });
});
