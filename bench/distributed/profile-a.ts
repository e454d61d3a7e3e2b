// CPU profile of the orchestrator side on workload A (chain of 1000) with one worker process:
// node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx distributed/profile-a.ts [--raw]
// WORKERS=2 adds a second worker process; WORKER_PROF=<dir> profiles the worker process too; RUNS=<n> sets the number of runs (default 4). Prints the
// Redis commands per task of the last run (INFO commandstats), the round trips that dominate the cost per task.
// --raw runs raw BullMQ used the same way (client DAG + raw worker) instead, for the same figures.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { MultiAgentOrchestrator } from '../../packages/orchestrator/src/index.ts';
import { startRedis } from '../engine/redis.ts';
import { chain, fanOutIn, pipeline, taskCount } from '../engine/workloads.ts';
import { agents } from './agents.ts';
import { procCpuUs, redisCpuUs } from './cpu.ts';
import { rawClient } from './raw-bullmq.ts';

const here = dirname(fileURLToPath(import.meta.url));
const raw = process.argv.includes('--raw');
const redis = await startRedis();
const prefix = `prof-${process.pid}`;
const stats = new Redis(redis.url);
const commandStats = async (): Promise<Map<string, number>> => {
  const m = new Map<string, number>();
  for (const line of (await stats.info('commandstats')).split('\n')) {
    const r = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (r) m.set(r[1], Number(r[2]));
  }
  return m;
};
const redisCpu = () => redisCpuUs(stats);
const procCpu = procCpuUs;
const prof = process.env.WORKER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.WORKER_PROF}`] : [];
const spawnWorker = () =>
  spawn(
    process.execPath,
    [...prof, '--import', 'tsx', join(here, raw ? 'raw-worker.ts' : 'worker.ts'), redis.url, prefix, '200'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
// WORKERS=2: a second worker process (its CPU is not counted in the per-task figures).
const extra = Number(process.env.WORKERS ?? 1) > 1 ? spawnWorker() : undefined;
const w = spawnWorker();
for (const p of [w, extra]) if (p) await new Promise((r) => p.stdout!.on('data', (d) => String(d).includes('READY') && r(null)));
// WORKLOAD=B: start → 1000 → join instead of the chain; WORKLOAD=D: 100 pipelines of 50 ms tasks at once.
const wl = process.env.WORKLOAD ?? 'A';
const shape = wl === 'B' ? fanOutIn(1000) : wl === 'D' ? pipeline(50) : chain(1000);
const copies = wl === 'D' ? 100 : 1;
const N = taskCount(shape) * copies;
const times = <T>(f: () => Promise<T>): Promise<T[]> => Promise.all(Array.from({ length: copies }, f));
let run: () => Promise<string>;
let close: () => Promise<void>;
if (raw) {
  const client = await rawClient(redis.url, prefix);
  run = async () => (await times(() => client.run(shape))).join(',').slice(0, 20);
  close = () => client.close();
} else {
  const o = new MultiAgentOrchestrator({
    redis: { url: redis.url, keyPrefix: prefix },
    // As the bench sets it up (distributed/bench.ts).
    execution: { mode: 'distributed', keepJobsSeconds: 60 },
    store: { type: 'memory' },
    agents: { minAgents: 400, maxAgents: 400, healthCheckInterval: 500 },
    workflow: { maxTasks: 20_000, maxDepth: 20_000, maxConcurrency: 5_000 },
    monitoring: { enableMetrics: false, enableProfiling: false },
  });
  for (const a of agents) o.registerAgent({ ...a, concurrency: 5_000 });
  await o.queue.ready();
  const def = o.prepareWorkflow({
    id: 'a',
    name: 'a',
    tasks: shape.stages.flatMap((stage, i) =>
      stage.map((id) => ({
        id,
        agentId: 'stage',
        dependencies: i ? shape.stages[i - 1] : [],
        input: shape.sleepMs ? { ms: shape.sleepMs } : {},
      })),
    ),
  });
  run = async () => [...new Set((await times(() => o.executeWorkflow(def))).map((r) => r.status))].join();
  close = () => o.close();
}
let before = new Map<string, number>();
const runs = Number(process.env.RUNS ?? 4);
for (let i = 0; i < runs; i++) {
  before = await commandStats();
  const [r0, w0] = [await redisCpu(), procCpu(w.pid!)];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const status = await run();
  const c = process.cpuUsage(c0);
  const wall = performance.now() - t0;
  const [r1, w1] = [await redisCpu(), procCpu(w.pid!)];
  process.stdout.write(
    `${status} ${((wall * 1000) / N).toFixed(0)} µs/task wall; cpu µs/task: orchestrator ${((c.user + c.system) / N).toFixed(0)}, worker ${((w1 - w0) / N).toFixed(0)}, redis ${((r1 - r0) / N).toFixed(0)}\n`,
  );
}
const after = await commandStats();
const perTask = [...after]
  .map(([k, v]) => [k, (v - (before.get(k) ?? 0)) / N] as const)
  .filter(([, v]) => v > 0.005)
  .sort((a, b) => b[1] - a[1]);
process.stdout.write(
  `Redis commands per task (last run): ${perTask.reduce((s, [, v]) => s + v, 0).toFixed(2)} — ${perTask.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}\n`,
);
await close();
for (const p of [w, extra])
  if (p)
    await new Promise((r) => {
      p.once('exit', r);
      p.kill('SIGTERM');
    });
stats.disconnect();
await redis.stop();
