import { describe, expect, it } from 'vitest';
import type { CatalogLookup } from '../../src/monitor/index.js';
import { closedAfterEach, type PlannedRun, play } from './history.js';

const { setup } = closedAfterEach();

const T0 = 1_700_000_000_000;

describe('recommendations', () => {
  it('parallelisation: a chain of sequential tasks that do not read each other is flagged with the saving', async () => {
    const { bus, monitor, seen } = setup();
    // a → b → c, all 100 ms; c reads a's output but b reads nothing from a: b can run beside a.
    const run: PlannedRun = {
      executionId: 'par',
      tasks: [
        { id: 'a', type: 'sequential', start: 0, end: 100, reads: [] },
        { id: 'b', type: 'sequential', deps: ['a'], reads: [], start: 100, end: 200 },
        { id: 'c', type: 'sequential', deps: ['b'], reads: ['b'], start: 200, end: 300 },
      ],
    };
    await play(bus, monitor, run);
    const par = seen.insight.filter((i) => i.type === 'parallelization');
    expect(par).toHaveLength(1);
    expect(par[0].evidence.edges).toEqual(['a → b']);
    expect(par[0].evidence.currentChainMs).toBe(300);
    expect(par[0].evidence.estimatedChainMs).toBe(200);
    expect(par[0].evidence.savedMs).toBe(100);
    expect(par[0].evidence.sequentialTasks).toEqual(['b']);
  });

  it('parallelisation stays silent when every dependency carries data', async () => {
    const { bus, monitor, seen } = setup();
    await play(bus, monitor, {
      executionId: 'dep',
      tasks: [
        { id: 'a', type: 'sequential', start: 0, end: 100, reads: [] },
        { id: 'b', type: 'sequential', deps: ['a'], reads: ['a'], start: 100, end: 200 },
      ],
    });
    expect(seen.insight.filter((i) => i.type === 'parallelization')).toEqual([]);
  });

  it('caching: the same request key repeated across runs is flagged once, with the wasted cost', async () => {
    const { bus, monitor, seen } = setup();
    const call = { requestKey: 'k-same', cost: 0.01, latencyMs: 400, model: 'gpt-4o' };
    for (let i = 0; i < 3; i++) {
      await play(bus, monitor, {
        executionId: `c-${i}`,
        t0: T0 + i * 10_000,
        tasks: [{ id: 'summarise', start: 0, end: 500, calls: [call, { requestKey: `unique-${i}`, cost: 0.01 }] }],
      });
    }
    const caching = seen.insight.filter((i) => i.type === 'caching');
    expect(caching).toHaveLength(1);
    expect(caching[0].executionId).toBe('c-1');
    expect(caching[0].evidence.repeatedRequests).toBe(1);
    expect(caching[0].evidence.tasks).toEqual(['summarise']);
    expect(caching[0].evidence.wastedCost).toBeCloseTo(0.01, 6);
    expect(caching[0].recommendation).toContain('cache');
  });

  it('caching stays silent when every request is different', async () => {
    const { bus, monitor, seen } = setup();
    for (let i = 0; i < 3; i++) {
      await play(bus, monitor, {
        executionId: `u-${i}`,
        t0: T0 + i * 10_000,
        tasks: [{ id: 't', start: 0, end: 100, calls: [{ requestKey: `k-${i}` }] }],
      });
    }
    expect(seen.insight).toEqual([]);
  });

  const catalog: CatalogLookup = (m) =>
    ({
      'gpt-4': { capabilities: ['analysis', 'reasoning'], inputPricePerM: 30, outputPricePerM: 60 },
      'gpt-4o-mini': { capabilities: ['analysis', 'fast'], inputPricePerM: 0.15, outputPricePerM: 0.6 },
      tiny: { capabilities: ['chat'], inputPricePerM: 0.01, outputPricePerM: 0.01 },
    })[m];

  function modelRun(
    id: string,
    i: number,
    model: string,
    opts: { success?: boolean; latency?: number } = {},
  ): PlannedRun {
    const calls = Array.from({ length: 6 }, (_, n) => ({
      model,
      latencyMs: (opts.latency ?? 800) + (n % 3) * 10,
      usage: { inputTokens: 1000, outputTokens: 300 },
      cost: model === 'gpt-4' ? 0.048 : 0.00033,
      success: opts.success === false ? n % 2 === 0 : true,
      requestKey: `${id}-${n}`,
    }));
    return {
      executionId: id,
      t0: T0 + i * 60_000,
      tasks: [{ id: 'analyse', agentId: 'analyst', start: 0, end: 10_000, calls }],
    };
  }

  it('model optimisation: a cheaper model that served the same agent as well is recommended', async () => {
    const { bus, monitor, seen } = setup({}, { catalog, agentCapabilities: () => ['analysis'] });
    await play(bus, monitor, modelRun('m-0', 0, 'gpt-4o-mini', { latency: 760 }));
    await play(bus, monitor, modelRun('m-1', 1, 'gpt-4'));
    const mo = seen.insight.filter((i) => i.type === 'model-optimization');
    expect(mo).toHaveLength(1);
    expect(mo[0].evidence).toMatchObject({
      agentId: 'analyst',
      currentModel: 'gpt-4',
      suggestedModel: 'gpt-4o-mini',
      currentSuccessRate: 1,
      suggestedSuccessRate: 1,
    });
    expect(mo[0].evidence.savingShare as number).toBeGreaterThan(0.9);
    // Once suggested, not repeated every run.
    await play(bus, monitor, modelRun('m-2', 2, 'gpt-4'));
    expect(seen.insight.filter((i) => i.type === 'model-optimization')).toHaveLength(1);
  });

  it('model optimisation stays silent when the cheaper model fails more, is slower, or lacks a required capability', async () => {
    const unreliable = setup({}, { catalog });
    await play(unreliable.bus, unreliable.monitor, modelRun('f-0', 0, 'gpt-4o-mini', { success: false }));
    await play(unreliable.bus, unreliable.monitor, modelRun('f-1', 1, 'gpt-4'));
    expect(unreliable.seen.insight.filter((i) => i.type === 'model-optimization')).toEqual([]);

    const slow = setup({}, { catalog });
    await play(slow.bus, slow.monitor, modelRun('s-0', 0, 'gpt-4o-mini', { latency: 2400 }));
    await play(slow.bus, slow.monitor, modelRun('s-1', 1, 'gpt-4'));
    expect(slow.seen.insight.filter((i) => i.type === 'model-optimization')).toEqual([]);

    const incapable = setup({}, { catalog, agentCapabilities: () => ['analysis'] });
    await play(incapable.bus, incapable.monitor, modelRun('i-0', 0, 'tiny'));
    await play(incapable.bus, incapable.monitor, modelRun('i-1', 1, 'gpt-4'));
    expect(incapable.seen.insight.filter((i) => i.type === 'model-optimization')).toEqual([]);
  });

  it('batching: many small calls to one model within a second are flagged; spread-out calls are not', async () => {
    const burst = setup();
    const calls = Array.from({ length: 12 }, (_, n) => ({
      timestamp: T0 + 100 + n * 50,
      usage: { inputTokens: 40, outputTokens: 10 },
      model: 'claude-3-haiku',
    }));
    await play(burst.bus, burst.monitor, {
      executionId: 'b-1',
      tasks: [{ id: 'classify', start: 0, end: 1000, calls }],
    });
    const b = burst.seen.insight.filter((i) => i.type === 'batching');
    expect(b).toHaveLength(1);
    expect(b[0].evidence).toMatchObject({
      model: 'claude-3-haiku',
      smallCalls: 12,
      maxCallsInWindow: 12,
      medianTokens: 50,
    });

    const spread = setup();
    const slowCalls = Array.from({ length: 12 }, (_, n) => ({
      timestamp: T0 + 100 + n * 400,
      usage: { inputTokens: 40, outputTokens: 10 },
    }));
    await play(spread.bus, spread.monitor, {
      executionId: 'b-2',
      tasks: [{ id: 'classify', start: 0, end: 5000, calls: slowCalls }],
    });
    expect(spread.seen.insight.filter((i) => i.type === 'batching')).toEqual([]);
  });
});
