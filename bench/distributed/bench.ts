// Distributed execution: CodexOS with 1 and 2 worker processes against raw BullMQ (FlowProducer, queue + client
// DAG) in the same run, on workloads A (chain of 1000), B (1000 between start and join) and D (100 pipelines of
// 50 ms tasks at once); then CPU-bound scaling (independent ~5 ms hashing tasks, 1 vs 2 worker processes).
// Run from bench/: node --import tsx distributed/bench.ts [--no-peers | --cpu-only]   (writes .out/distributed.json and .md)
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { MultiAgentOrchestrator } from '../../packages/orchestrator/src/index.ts';
import { median, percentile } from '../engine/measure.ts';
import { startRedis } from '../engine/redis.ts';
import type { Shape } from '../engine/types.ts';
import { chain, expectedOutput, fanOutIn, pipeline, taskCount } from '../engine/workloads.ts';
import { agents, hashWork } from './agents.ts';
import { procCpuUs, redisCpuUs } from './cpu.ts';
import { rawClient } from './raw-bullmq.ts';
import { outPath } from '../out.ts';

const here = dirname(fileURLToPath(import.meta.url));
const REPS = Number(process.env.REPS ?? 7);
/** Reps of each workload run unmeasured first, per side: both processes' JIT settles before anything counts. */
const WARMUP = Number(process.env.WARMUP ?? 3);
const redis = await startRedis();
const stats = new Redis(redis.url);
/** CPU so far of the worker processes, µs. */
const workersCpuUs = (ws: ChildProcess[]): number => ws.reduce((t, w) => t + procCpuUs(w.pid!), 0);
const redisCpu = () => redisCpuUs(stats);
const results: Record<string, unknown> = { at: new Date().toISOString(), cores: cpus().length, node: process.version, reps: REPS, warmup: WARMUP };
const log = (s: string) => process.stdout.write(`${s}\n`);

function startWorker(prefix: string, concurrency: number, script = 'worker.ts'): Promise<ChildProcess> {
  const p = spawn(process.execPath, ['--import', 'tsx', join(here, script), redis.url, prefix, String(concurrency)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((res, rej) => {
    p.stdout!.on('data', (d) => String(d).includes('READY') && res(p));
    p.once('exit', (c) => rej(new Error(`worker exited ${c}`)));
  });
}

async function stopWorkers(ws: ChildProcess[]) {
  await Promise.all(ws.map((w) => new Promise((r) => (w.once('exit', r), w.kill('SIGTERM')))));
}

function definition(shape: Shape, id: string) {
  const tasks = shape.stages.flatMap((stage, s) =>
    stage.map((t) => ({
      id: t,
      agentId: 'stage',
      dependencies: s === 0 ? [] : shape.stages[s - 1],
      input: shape.sleepMs ? { ms: shape.sleepMs } : {},
      retry: { maxAttempts: 1 },
    })),
  );
  return { id, name: id, tasks };
}

function orchestrator(prefix: string, instances: number) {
  const o = new MultiAgentOrchestrator({
    redis: { url: redis.url, keyPrefix: prefix },
    execution: { mode: 'distributed', keepJobsSeconds: 60 },
    store: { type: 'memory' },
    agents: { minAgents: instances, maxAgents: instances, healthCheckInterval: 500 },
    workflow: { maxTasks: 20_000, maxDepth: 20_000, maxConcurrency: 5_000 },
    monitoring: { enableMetrics: false, enableProfiling: false },
  });
  for (const a of agents) o.registerAgent({ ...a, concurrency: 5_000 });
  return o;
}

const WORKLOADS = [
  ['A', chain(1000)],
  ['B', fanOutIn(1000)],
  ['D', pipeline(50)],
] as const;

/** One side of a comparison: its worker processes and one run of a workload (100 at once for D). */
interface Side {
  label: string;
  cpuKey: 'orchestratorCpuUsPerTask' | 'clientCpuUsPerTask';
  ws: ChildProcess[];
  run(name: string, shape: Shape): Promise<void>;
  close(): Promise<void>;
}

async function codexosSide(workers: number): Promise<Side> {
  const prefix = `bench-d${workers}-${process.pid}`;
  const o = orchestrator(prefix, 400);
  await o.queue.ready();
  const ws = await Promise.all(Array.from({ length: workers }, () => startWorker(prefix, 200)));
  const defs = new Map(WORKLOADS.map(([name, shape]) => [name, o.prepareWorkflow(definition(shape, `${name}-${workers}`))]));
  return {
    label: `codexos ${workers}w`,
    cpuKey: 'orchestratorCpuUsPerTask',
    ws,
    async run(name, shape) {
      const last = shape.stages[shape.stages.length - 1][0];
      const want = expectedOutput(shape);
      const r = await o.executeWorkflow(defs.get(name as 'A')!);
      if (r.status !== 'completed' || r.tasks[last].output !== want)
        throw new Error(`${name}: ${r.status} ${r.error?.message ?? ''} output ${String(r.tasks[last].output)}`);
    },
    async close() {
      await o.close();
      await stopWorkers(ws);
    },
  };
}

/** Raw BullMQ with the same process layout: client DAG here, 1 or 2 worker processes of 200 slots. */
async function rawSide(workers: number): Promise<Side> {
  const name = `raw${workers}-${process.pid}`;
  const client = await rawClient(redis.url, name);
  const ws = await Promise.all(Array.from({ length: workers }, () => startWorker(name, 200, 'raw-worker.ts')));
  return {
    label: `raw bullmq ${workers}w`,
    cpuKey: 'clientCpuUsPerTask',
    ws,
    async run(wl, shape) {
      const want = expectedOutput(shape);
      const v = await client.run(shape);
      if (v !== want) throw new Error(`raw ${wl}: output ${v}, expected ${want}`);
    },
    async close() {
      await client.close();
      await stopWorkers(ws);
    },
  };
}

/**
 * CodexOS and raw BullMQ with the same number of worker processes, both up at once and their reps alternating,
 * so a busy spell on the machine hits both alike (the machine is shared: load moves within seconds).
 */
async function compare(workers: number): Promise<[Record<string, unknown>, Record<string, unknown>]> {
  const sides = [await codexosSide(workers), await rawSide(workers)];
  // Let the pool hand out its plan (200 slots per worker) before measuring.
  await new Promise((r) => setTimeout(r, 1500));
  const outs: Array<Record<string, unknown>> = [{}, {}];
  try {
    for (const [name, shape] of WORKLOADS) {
      const acc = sides.map(() => ({
        samples: [] as number[],
        p50: [] as number[],
        p99: [] as number[],
        cpu: [] as number[],
        redisCpu: [] as number[],
        workerCpu: [] as number[],
      }));
      const n = name === 'D' ? 100 * taskCount(shape) : taskCount(shape);
      for (let rep = 1 - WARMUP; rep <= REPS; rep++) {
        // Which side goes first alternates: each side as often runs right after the other as before it.
        for (const i of rep % 2 ? [1, 0] : [0, 1]) {
          const side = sides[i];
          const a = acc[i];
          const [r0, w0] = [await redisCpu(), workersCpuUs(side.ws)];
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          if (name === 'D') {
            const spans: number[] = [];
            await Promise.all(
              Array.from({ length: 100 }, () => side.run(name, shape).then(() => spans.push(performance.now() - t0))),
            );
            if (rep > 0) {
              a.samples.push(100 / ((performance.now() - t0) / 1000));
              a.p50.push(percentile(spans, 50));
              a.p99.push(percentile(spans, 99));
            }
          } else {
            await side.run(name, shape);
            if (rep > 0) a.samples.push(((performance.now() - t0) * 1000) / n);
          }
          const c = process.cpuUsage(c0);
          if (rep > 0) {
            a.cpu.push((c.user + c.system) / n);
            a.redisCpu.push(((await redisCpu()) - r0) / n);
            a.workerCpu.push((workersCpuUs(side.ws) - w0) / n);
          }
        }
      }
      for (const [i, side] of sides.entries()) {
        const a = acc[i];
        outs[i][name] = {
          value: median(a.samples),
          samples: a.samples,
          [side.cpuKey]: median(a.cpu),
          redisCpuUsPerTask: median(a.redisCpu),
          workerCpuUsPerTask: median(a.workerCpu),
          ...(name === 'D' ? { p50Ms: median(a.p50), p99Ms: median(a.p99) } : {}),
        };
        log(`${side.label} ${name}: ${JSON.stringify(outs[i][name])}`);
      }
    }
  } finally {
    for (const side of sides) await side.close();
  }
  return [outs[0], outs[1]];
}

/** Raw BullMQ through the engine bench's own adapters, each pair in a fresh process (same method as there). */
function peer(engine: string, workload: string): Promise<unknown> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(here, '..', 'engine', 'worker.ts'), engine, workload], {
      cwd: join(here, '..'),
      env: { ...process.env, REDIS_URL: redis.url },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    p.stdout!.on('data', (d) => (buf += d));
    p.once('exit', () => {
      const line = buf.split('\n').find((l) => l.startsWith('RESULT '));
      resolve(line ? JSON.parse(line.slice(7)) : { ok: false, error: 'no result' });
    });
  });
}

async function cpuScaling() {
  // Calibrate: rounds of hashing that take about 5 ms here (fastest of several tries: robust to a busy machine).
  let best = Number.POSITIVE_INFINITY;
  for (let k = 0; k < 9; k++) {
    const t0 = performance.now();
    hashWork(20_000);
    best = Math.min(best, performance.now() - t0);
  }
  const rounds = Math.max(100, Math.round((20_000 * 5) / best));
  const N = 400;
  const out: Record<string, unknown> = { rounds, tasks: N };
  // Both layouts stay up and their reps alternate, so a busy spell on the machine hits both alike.
  const setups = await Promise.all(
    [1, 2].map(async (workers) => {
      const prefix = `bench-cpu${workers}-${process.pid}`;
      const o = orchestrator(prefix, workers);
      await o.queue.ready();
      const ws = await Promise.all(Array.from({ length: workers }, () => startWorker(prefix, 1)));
      const def = o.prepareWorkflow({
        id: `cpu${workers}`,
        name: 'cpu',
        tasks: Array.from({ length: N }, (_, i) => ({
          id: `h${i}`,
          agentId: 'hash',
          input: { rounds },
          retry: { maxAttempts: 1 },
          // A task's timeout runs from its dispatch: 400 queued on one slot of a busy machine outlast the default.
          timeoutMs: 600_000,
        })),
      });
      return { label: `codexos ${workers}w`, workers, run: () => o.executeWorkflow(def).then((r) => {
        if (r.status !== 'completed') throw new Error(`cpu: ${r.status} ${r.error?.message}`);
      }), close: async () => { await o.close(); await stopWorkers(ws); }, tput: [] as number[] };
    }),
  );
  // Raw BullMQ used the same way: the 400 jobs added at once, completions heard through QueueEvents.
  const shape = { stages: [Array.from({ length: N }, (_, i) => `h${i}`)], sleepMs: 0 } as unknown as Shape;
  const raws = await Promise.all(
    [1, 2].map(async (workers) => {
      const queue = `bench-rawcpu${workers}-${process.pid}`;
      const ws = await Promise.all(Array.from({ length: workers }, () => startWorker(queue, 1, 'raw-worker.ts')));
      const client = await rawClient(redis.url, queue);
      return { label: `raw ${workers}w`, workers, run: () => client.run(shape, { rounds }).then(() => {}), close: async () => { await client.close(); await stopWorkers(ws); }, tput: [] as number[] };
    }),
  );
  setups.push(...raws);
  await new Promise((r) => setTimeout(r, 1500));
  try {
    for (let rep = 0; rep <= REPS; rep++) {
      for (const s of setups) {
        const t = performance.now();
        await s.run();
        if (rep) s.tput.push(N / ((performance.now() - t) / 1000));
      }
    }
  } finally {
    for (const s of setups) await s.close();
  }
  for (const s of setups) {
    out[`${s.label.startsWith('raw') ? 'raw' : 'w'}${s.workers}`] = { tasksPerSec: median(s.tput), samples: s.tput };
    log(`cpu ${s.label}: ${median(s.tput).toFixed(1)} tasks/s`);
  }
  const tps = (k: string) => (out[k] as { tasksPerSec: number }).tasksPerSec;
  out.speedup = tps('w2') / tps('w1');
  out.rawSpeedup = tps('raw2') / tps('raw1');
  return out;
}

const cpuOnly = process.argv.includes('--cpu-only');
try {
  if (cpuOnly) {
    // Re-measure only the CPU-bound scaling, keeping the rest of the last full run.
    const prev = JSON.parse(readFileSync(outPath('distributed.json'), 'utf8'));
    prev.cpu = await cpuScaling();
    prev.cpuAt = new Date().toISOString();
    prev.cpuLoadavg = loadavg();
    writeFileSync(outPath('distributed.json'), `${JSON.stringify(prev, null, 2)}\n`);
    log('updated cpu in .out/distributed.json');
  } else await full();
} finally {
  stats.disconnect();
  await redis.stop();
}
// .out/distributed.md (the RESULTS.md section) from the JSON just written.
await import('./report.ts');

async function full() {
  [results.codexos1, results.raw1] = await compare(1);
  [results.codexos2, results.raw2] = await compare(2);
  const peers: Record<string, unknown> = {};
  // --no-peers: skip the engine bench's adapters (they run BullMQ with the worker inside the client process).
  if (!process.argv.includes('--no-peers'))
  for (const engine of ['bullmq-flow', 'bullmq-queue'])
    for (const w of ['A1000', 'B', 'D']) {
      peers[`${engine}/${w}`] = await peer(engine, w);
      log(`${engine} ${w}: ${JSON.stringify(peers[`${engine}/${w}`]).slice(0, 200)}`);
    }
  results.peers = peers;
  results.cpu = await cpuScaling();
  results.loadavg = loadavg();
  writeFileSync(outPath('distributed.json'), `${JSON.stringify(results, null, 2)}\n`);
  log('written .out/distributed.json');
}
