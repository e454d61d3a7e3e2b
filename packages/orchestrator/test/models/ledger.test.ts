import { describe, expect, it } from 'vitest';
import { MultiAgentOrchestrator } from '../../src/index.js';
import { ModelManager } from '../../src/models/manager.js';
import { UsageLedger } from '../../src/models/usage-ledger.js';

describe('usage ledger lifecycle', () => {
  it('1000 runs leave a bounded number of per-execution and per-task entries', async () => {
    const models = new ModelManager({}, undefined, { env: {} }); // offline local provider
    const o = new MultiAgentOrchestrator({ store: { type: 'memory' } }, { models });
    o.registerAgent({ id: 'writer', model: {} });
    const def = o.prepareWorkflow({
      id: 'w',
      name: 'w',
      tasks: [
        { id: 'a', agentId: 'writer', input: { prompt: 'one' } },
        { id: 'b', agentId: 'writer', dependencies: ['a'], input: { prompt: 'two' } },
      ],
    });
    let last = '';
    for (let i = 0; i < 1000; i++) {
      const r = await o.executeWorkflow(def);
      expect(r.status).toBe('completed');
      last = r.executionId;
    }
    expect(models.ledger.size).toEqual({ executions: 100, tasks: 200 });
    expect(models.ledger.totals().calls).toBe(2000); // overall totals keep counting
    expect(models.ledger.execution(last).calls).toBe(2); // the most recent runs stay readable
    await o.close();
  }, 60_000);

  it('finish() keeps the newest finished executions; release() drops one now; running ones are kept', () => {
    const l = new UsageLedger({ retainFinished: 2 });
    const rec = (executionId: string) =>
      l.record({
        executionId,
        taskId: 't',
        model: 'm',
        provider: 'p',
        usage: { inputTokens: 1, outputTokens: 1 },
        cost: 0,
      });
    for (const id of ['a', 'b', 'c', 'running']) rec(id);
    l.finish('a');
    l.finish('b');
    l.finish('c');
    expect(l.execution('a').calls).toBe(0);
    expect(l.execution('b').calls).toBe(1);
    expect(l.execution('running').calls).toBe(1);
    l.release('c');
    expect(l.size).toEqual({ executions: 2, tasks: 2 });
  });
});
