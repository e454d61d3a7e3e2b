import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitMessages } from '../../src/models/tokens.js';
import { type Fakes, makeManager, startFakes } from './helpers.js';

let f: Fakes;
beforeAll(async () => {
  f = await startFakes();
});
afterAll(() => f.close());

describe('tokens and budgets', () => {
  it('trims upstream context to the window and reports how much, never silently', async () => {
    const context = 'upstream '.repeat(20_000); // ~45k estimated tokens
    const fit = await fitMessages({
      prompt: 'task',
      context,
      modelId: 'small',
      contextWindow: 8_000,
      reserveOutputTokens: 1_000,
      strategy: 'trim',
    });
    expect(fit.trimmedTokens).toBeGreaterThan(30_000);
    expect(fit.inputTokens).toBeLessThanOrEqual(7_000);
    expect(fit.messages.at(-1)!.content).toContain('context trimmed to fit small');
    expect(fit.messages.at(-1)!.content.endsWith('task')).toBe(true);
  });

  it("fails with CONTEXT_OVERFLOW under strategy 'fail', and when the prompt alone is too big", async () => {
    await expect(
      fitMessages({
        prompt: 'p',
        context: 'x'.repeat(100_000),
        modelId: 'm',
        contextWindow: 4_000,
        reserveOutputTokens: 500,
        strategy: 'fail',
      }),
    ).rejects.toMatchObject({
      code: 'CDX_ERR_CONTEXT_OVERFLOW',
    });
    await expect(
      fitMessages({
        prompt: 'x'.repeat(100_000),
        modelId: 'm',
        contextWindow: 4_000,
        reserveOutputTokens: 500,
        strategy: 'trim',
      }),
    ).rejects.toMatchObject({
      code: 'CDX_ERR_CONTEXT_OVERFLOW',
    });
  });

  it('uses a summariser hook when configured', async () => {
    const fit = await fitMessages({
      prompt: 'task',
      context: 'long '.repeat(10_000),
      modelId: 'm',
      contextWindow: 2_000,
      reserveOutputTokens: 200,
      strategy: 'summarise',
      summarise: async (_t, target) => `summary within ${target} tokens`,
    });
    expect(fit.messages.at(-1)!.content).toMatch(/^summary within \d+ tokens/);
  });

  it('the manager reports trimmed context on the result', async () => {
    const { manager } = makeManager(f);
    const r = await manager.run({
      agentId: 'a',
      requirements: { model: 'oa-small' },
      prompt: 'go',
      context: 'ctx '.repeat(200_000),
    });
    expect(r.contextTrimmedTokens).toBeGreaterThan(0);
  });

  it('stops a run with BUDGET_EXCEEDED once the workflow token budget is spent', async () => {
    const { manager } = makeManager(f, { budgets: { perWorkflow: { maxTokens: 60 } } });
    const run = () =>
      manager.run({
        agentId: 'a',
        requirements: { model: 'oa-small' },
        prompt: 'a fairly ordinary prompt of some words',
        executionId: 'exec-b',
      });
    await run();
    await run();
    const err = await (async () => {
      for (let i = 0; i < 5; i++) await run();
    })().catch((e) => e);
    expect(err.code).toBe('CDX_ERR_BUDGET_EXCEEDED');
    expect(err.message).toMatch(/Token budget exceeded for execution exec-b/);
    const spent = manager.ledger.execution('exec-b');
    expect(spent.inputTokens + spent.outputTokens).toBeLessThanOrEqual(60 + 30);
  });

  it('a per-call cost budget stops the run too', async () => {
    const { manager } = makeManager(f);
    const budget = { maxCostUsd: 0.0002 };
    const run = () =>
      manager.run({
        agentId: 'a',
        requirements: { model: 'an-sonnet' },
        prompt: 'words '.repeat(20),
        executionId: 'exec-c',
        budget,
      });
    const err = await (async () => {
      for (let i = 0; i < 20; i++) await run();
    })().catch((e) => e);
    expect(err.code).toBe('CDX_ERR_BUDGET_EXCEEDED');
    expect(manager.ledger.execution('exec-c').cost).toBeLessThan(0.0002 + 0.0002);
  });
});

describe('batching', () => {
  it('groups many small requests to the same model within the window, bounded concurrency, one reservation', async () => {
    // A window far longer than it takes to issue 25 calls, so a busy machine cannot split a batch early.
    const { manager } = makeManager(f, {
      batching: { enabled: true, windowMs: 500, maxBatchSize: 10, concurrency: 3 },
    });
    const before = f.openai.requests.length;
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        manager.run({ agentId: 'a', requirements: { model: 'oa-small' }, prompt: `small ${i}` }),
      ),
    );
    expect(results.every((r, i) => r.text.endsWith(`small ${i}`))).toBe(true);
    expect(f.openai.requests.length - before).toBe(25);
    expect(manager.batcher!.stats).toMatchObject({ batches: 3, requests: 25, largest: 10 });
  });

  it('a batch takes one rate-limit budget: RPM still holds', async () => {
    const { manager } = makeManager(f, {
      batching: { enabled: true, windowMs: 5, maxBatchSize: 4, concurrency: 4 },
      rateLimits: { windowMs: 200, models: { 'gm-flash': { rpm: 4 } } },
    });
    await manager.run({ agentId: 'a', requirements: { model: 'gm-flash' }, prompt: 'warm' });
    await new Promise((r) => setTimeout(r, 220));
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        manager.run({ agentId: 'a', requirements: { model: 'gm-flash' }, prompt: `b${i}` }),
      ),
    );
    // 8 calls at 4 per 200 ms need at least one full extra window.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });
});

describe('A/B experiments', () => {
  it('splits an agent’s calls by weight and reports per-arm latency, cost, success and quality', async () => {
    const { manager } = makeManager(
      f,
      {},
      {
        experiments: [
          {
            id: 'exp-1',
            agentId: 'writer',
            arms: [
              { model: 'oa-small', weight: 3 },
              { model: 'an-haiku', weight: 1 },
            ],
          },
        ],
      },
    );
    const N = 400;
    for (let i = 0; i < N; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          manager.run({
            agentId: 'writer',
            requirements: { capabilities: ['chat'] },
            prompt: `w${i + j}`,
            scorer: (t) => (t.includes('claude') ? 0.9 : 0.6),
          }),
        ),
      );
    }
    // Other agents are not part of the experiment.
    const other = await manager.run({ agentId: 'someone-else', requirements: { capabilities: ['chat'] }, prompt: 'x' });
    expect(other.experiment).toBeUndefined();
    const rep = manager.experiments.report('exp-1');
    const [a, b] = rep.arms;
    expect(a!.calls + b!.calls).toBe(N);
    expect(a!.calls / N).toBeGreaterThan(0.75 - 0.07);
    expect(a!.calls / N).toBeLessThan(0.75 + 0.07);
    expect(a!.successRate).toBe(1);
    expect(a!.quality).toBeCloseTo(0.6, 6);
    expect(b!.quality).toBeCloseTo(0.9, 6);
    expect(b!.costMean).toBeGreaterThan(a!.costMean);
    expect(a!.latencyP50Ms).toBeGreaterThan(0);
  });
});
