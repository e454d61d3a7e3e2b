import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MultiAgentOrchestrator, type ModelManager } from '../../packages/orchestrator/src/index.js';
import { type Fakes, fakeConfig, KEYS, startFakes, TEST_CATALOG } from '../../packages/orchestrator/test/models/helpers.js';
import { SOAK } from './helpers.js';

// Model-backed workflows over the three wire formats with 30 % faults (429 with retry-after, 500, 529, slow),
// from servers that echo the caller's key in every error body. Call-level resilience and secrets are proven by
// packages/orchestrator/test/models (resilience, secrets); this suite proves it at the workflow level: workflows
// succeed, ledgers add up, and the key reaches no event, result, error or console line.

const WORKFLOWS = SOAK ? 300 : 30;
let f: Fakes;
beforeAll(async () => {
  f = await startFakes({
    leakCredentialsInErrors: true,
    faults: { rate: 0.3, kinds: ['429', '500', '529', 'slow'], retryAfterSeconds: 0.005, seed: 99 },
  });
});
afterAll(() => f.close());

describe('provider faults at the workflow level', () => {
  it(`${WORKFLOWS} model-backed workflows on all three wire formats with 30 % faults: >= 99.9 % succeed, no key anywhere`, async () => {
    const consoleLines: string[] = [];
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation((...a: unknown[]) => void consoleLines.push(a.map(String).join(' '))),
    );
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
      consoleLines.push(String(chunk));
      return true;
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    let summary = '';
    const o = new MultiAgentOrchestrator({
      store: { type: 'memory' },
      models: { ...fakeConfig(f, { circuitBreaker: { cooldownMs: 200 } }), catalog: { replace: true, models: TEST_CATALOG } },
    });
    try {
      o.registerAgent({ id: 'oa', model: { prefer: ['oa-small'], capabilities: ['chat'] } });
      o.registerAgent({ id: 'an', model: { prefer: ['an-haiku'], capabilities: ['chat'] } });
      o.registerAgent({ id: 'gm', model: { prefer: ['gm-flash'], capabilities: ['chat'] } });
      const events: unknown[] = [];
      o.bus.events$.subscribe((e) => events.push(e));
      const results = [];
      const errors: unknown[] = [];
      for (let batch = 0; batch < WORKFLOWS; batch += 10) {
        const runs = Array.from({ length: Math.min(10, WORKFLOWS - batch) }, (_, i) =>
          o
            .executeWorkflow({
              id: `pf-${batch + i}`,
              name: 'provider faults',
              tasks: [
                { id: 'a', agentId: 'oa', input: { prompt: `first ${batch + i}` } },
                { id: 'b', agentId: 'an', dependencies: ['a'], input: { prompt: 'second' } },
                { id: 'c', agentId: 'gm', dependencies: ['a'], input: { prompt: 'third' } },
              ],
            })
            .catch((e) => {
              errors.push(e);
              return undefined;
            }),
        );
        const done = await Promise.all(runs);
        // Tokens on each result equal the ledger's, which counts only delivered answers (checked per batch: the
        // ledger keeps the most recent finished executions only).
        for (const r of done) {
          if (!r) continue;
          const l = (o.models as ModelManager).ledger.execution(r.executionId);
          expect(r.usage).toEqual({ inputTokens: l.inputTokens, outputTokens: l.outputTokens });
        }
        results.push(...done);
      }
      const ok = results.filter((r) => r?.status === 'completed').length;
      const all = [...f.openai.requests, ...f.anthropic.requests, ...f.google.requests];
      const faulted = all.filter((r) => r.fault).length;
      expect(faulted / all.length).toBeGreaterThan(0.2);
      for (const s of [f.openai, f.anthropic, f.google]) expect(s.requests.some((r) => r.fault)).toBe(true);
      expect(ok / WORKFLOWS).toBeGreaterThanOrEqual(0.999);
      const dump = JSON.stringify([results, events, errors.map((e) => [String(e), (e as Error).stack]), consoleLines]);
      for (const key of Object.values(KEYS)) expect(dump).not.toContain(key);
      expect(unhandled).toEqual([]);
      summary = `provider faults: ${ok}/${WORKFLOWS} workflows completed, ${faulted}/${all.length} responses faulted`;
    } finally {
      for (const s of spies) s.mockRestore();
      stderr.mockRestore();
      process.off('unhandledRejection', onUnhandled);
      await o.close();
    }
    console.info(summary);
  }, 300_000);
});
