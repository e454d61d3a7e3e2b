import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { MultiAgentOrchestrator } from '../../packages/orchestrator/src/index.js';
import { SOAK } from './helpers.js';

// Many workflows through one orchestrator with all monitoring on: the heap after GC levels off. The assertion is
// a ratio (last round / second round), not an absolute size. CI: 6 rounds of 150; SOAK=1: 10 rounds of 1000.

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const ROUNDS = SOAK ? 10 : 6;
const PER_ROUND = SOAK ? 1000 : 150;

const heapAfterGc = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
};

describe('load: heap plateau', () => {
  for (const store of ['memory', 'sqlite'] as const) {
    it(`${ROUNDS * PER_ROUND} workflows on the ${store} store with monitoring on: heap after GC plateaus`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cdx-rel-heap-'));
      const o = new MultiAgentOrchestrator({
        store: store === 'memory' ? { type: 'memory' } : { type: 'sqlite', path: join(dir, 'state.db') },
        monitoring: { enableMetrics: true, enableTracing: true, enableProfiling: true },
      });
      o.registerAgent({ id: 'w', handler: async (ctx) => ({ n: ctx.taskId, deps: Object.keys(ctx.deps).length }) });
      let events = 0;
      o.bus.events$.subscribe(() => events++);
      const def = {
        id: 'load',
        name: 'load',
        tasks: [
          { id: 'a', agentId: 'w' },
          { id: 'b', agentId: 'w', dependencies: ['a'] },
          { id: 'c', agentId: 'w', dependencies: ['a'] },
          { id: 'd', agentId: 'w', dependencies: ['b', 'c'] },
        ],
      };
      const heaps: number[] = [];
      let completed = 0;
      try {
        for (let round = 0; round < ROUNDS; round++) {
          for (let i = 0; i < PER_ROUND; i += 25) {
            const rs = await Promise.all(Array.from({ length: 25 }, () => o.executeWorkflow(def)));
            completed += rs.filter((r) => r.status === 'completed').length;
          }
          heaps.push(await heapAfterGc());
        }
        await o.monitor.metrics();
      } finally {
        await o.close();
        rmSync(dir, { recursive: true, force: true });
      }
      const mb = heaps.map((h) => (h / 1048576).toFixed(1));
      console.info(`heap plateau (${store}): ${completed} workflows, ${events} events, heap after GC per round MB: ${mb.join(' ')}`);
      expect(completed).toBe(ROUNDS * PER_ROUND);
      // Growth from round 2 to the last round is bounded; a leak per workflow would grow it with every round.
      expect(heaps[heaps.length - 1] / heaps[1]).toBeLessThan(1.5);
    }, 600_000);
  }
});
