// CPU profile of the orchestrator side on workload A (chain of 1000) with one worker process:
// node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx distributed/profile-a.ts
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MultiAgentOrchestrator } from '../../packages/orchestrator/src/index.ts';
import { startRedis } from '../engine/redis.ts';
import { chain } from '../engine/workloads.ts';
import { agents } from './agents.ts';

const here = dirname(fileURLToPath(import.meta.url));
const redis = await startRedis();
const prefix = `prof-${process.pid}`;
const o = new MultiAgentOrchestrator({
  redis: { url: redis.url, keyPrefix: prefix },
  execution: { mode: 'distributed' },
  store: { type: 'memory' },
  agents: { minAgents: 200, maxAgents: 200 },
  workflow: { maxTasks: 20_000, maxDepth: 20_000 },
  monitoring: { enableMetrics: false, enableProfiling: false },
});
for (const a of agents) o.registerAgent(a);
await o.queue.ready();
const w = spawn(process.execPath, ['--import', 'tsx', join(here, 'worker.ts'), redis.url, prefix, '200'], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((r) => w.stdout!.on('data', (d) => String(d).includes('READY') && r(null)));
const shape = chain(1000);
const def = o.prepareWorkflow({
  id: 'a',
  name: 'a',
  tasks: shape.stages.map((s, i) => ({ id: s[0], agentId: 'stage', dependencies: i ? shape.stages[i - 1] : [] })),
});
for (let i = 0; i < 4; i++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await o.executeWorkflow(def);
  const c = process.cpuUsage(c0);
  process.stdout.write(`${r.status} ${((performance.now() - t0) * 1000 / 1000).toFixed(0)} µs/task wall, ${((c.user + c.system) / 1000).toFixed(0)} µs/task cpu\n`);
}
await o.close();
w.kill('SIGTERM');
await redis.stop();
