// CPU cost per task of one (engine, workload) pair, from the process's own CPU accounting (user + system, every
// thread: GC helpers and SQLite included) rather than the wall clock, so figures stay comparable on a machine
// other work shares. Usage (from bench/): node --import tsx engine/cpu.ts <engine> <workload> [reps]
// → one line: engine, workload, median CPU µs per task (per run for E) and the median wall figure beside it.
import { existsSync, readFileSync } from 'node:fs';
import { ENGINES } from './engines/index.ts';
import { median } from './measure.ts';
import type { WorkloadId } from './types.ts';
import { Counter, E_RUNS, expectedOutput, makeBody, shapeOf, taskCount } from './workloads.ts';

const [engine, workload, repsArg] = process.argv.slice(2) as [string, WorkloadId, string | undefined];
const reps = Number(repsArg && !repsArg.startsWith('--') ? repsArg : 9);
const adapter = await ENGINES[engine]();
const shape = shapeOf(workload);
const counter = new Counter();
const runner = await adapter.prepare(shape, makeBody(shape, counter));
const expected = expectedOutput(shape);
const tasks = taskCount(shape);
// E is a run of E_RUNS one-task workflows; the others one workflow. Enough repetitions per sample for ~100k tasks.
const asBench = process.argv.includes('--as-bench');
const perSample = asBench ? (workload === 'E' ? E_RUNS : 1) : workload === 'E' ? E_RUNS * 10 : Math.max(1, Math.round(20_000 / tasks));
const unit = workload === 'E' ? perSample : perSample * tasks;
// The main thread's own on-CPU time (Linux schedstat, ns): background JIT and GC threads left out.
const schedstat = `/proc/self/task/${process.pid}/schedstat`;
const mainNs = (): number => (existsSync(schedstat) ? Number(readFileSync(schedstat, 'utf8').split(' ')[0]) : Number.NaN);
async function sample(): Promise<{ cpu: number; main: number; wall: number }> {
  const before = counter.executed;
  const c0 = process.cpuUsage();
  const m0 = mainNs();
  const w0 = performance.now();
  let out = 0;
  for (let i = 0; i < perSample; i++) out = await runner();
  const wall = performance.now() - w0;
  const c = process.cpuUsage(c0);
  const main = (mainNs() - m0) / 1000 / unit;
  if (out !== expected || counter.executed - before !== perSample * tasks) throw new Error(`${engine} ${workload}: wrong result`);
  return { cpu: (c.user + c.system) / unit, main, wall: (wall * 1000) / unit };
}
await sample(); // warm-up
const xs: { cpu: number; main: number; wall: number }[] = [];
for (let r = 0; r < reps; r++) xs.push(await sample());
await adapter.close();
const cpu = median(xs.map((x) => x.cpu));
const wall = median(xs.map((x) => x.wall));
const main = median(xs.map((x) => x.main));
process.stdout.write(`${workload.padEnd(6)} ${engine.padEnd(16)} main thread ${main.toFixed(2)} µs  all threads ${cpu.toFixed(2)} µs  wall ${wall.toFixed(2)} µs  (${workload === 'E' ? 'per run' : 'per task'}, median of ${reps})\n`);
process.exit(0);
