import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { MemoryStore, MultiAgentOrchestrator } from '../../src/index.js';

// Bounded monitor state: with metrics, tracing and profiling on, thousands of runs must leave the heap flat once
// every bounded window is full (the store keeps 200 runs here). Measured as a ratio of heap after full GCs,
// without scraping /metrics in between (a scrape would hide a backlog that only a scrape empties).

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapAfterGc = (): number => {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
};

it('keeps memory flat over thousands of three-task runs with metrics, tracing and profiling on', async () => {
  const o = new MultiAgentOrchestrator(
    { monitoring: { enableMetrics: true, enableProfiling: true, enableTracing: true } },
    { store: new MemoryStore(200) },
  );
  o.registerAgent({ id: 'a', handler: (ctx) => ctx.taskId });
  const def = o.prepareWorkflow({
    id: 'soak',
    name: 'soak',
    tasks: [
      { id: 'x', agentId: 'a' },
      { id: 'y', agentId: 'a', dependencies: ['x'] },
      { id: 'z', agentId: 'a', dependencies: ['y'] },
    ],
  });
  const runs = async (n: number) => {
    for (let i = 0; i < n; i++) await o.executeWorkflow(def);
    await o.monitor.idle();
  };
  await runs(2000); // fills every bounded window (store, recent runs, insights, baselines)
  const mid = heapAfterGc();
  await runs(4000);
  const end = heapAfterGc();
  // Before the bound, each run left ~2 KB behind: 4000 runs added ~8 MB (a ratio of 1.1 and more).
  expect(end / mid).toBeLessThan(1.04);
  expect((await o.monitor.profiles({ limit: 10_000 })).length).toBeLessThanOrEqual(1000);
  expect(await o.monitor.metrics()).toMatch(/codexos_task_duration_seconds_count\{workflow_id="soak"\} 18000/);
  await o.close();
});
