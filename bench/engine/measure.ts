// Runs one (engine, workload) pair: build once, 1 warm-up, then up to 5 measured reps; every run is validated
// (task executions counted in the body, final output checked) before its time is accepted.
import { performance } from 'node:perf_hooks';
import type { EngineAdapter, PairResult, Runner, WorkloadId } from './types.ts';
import {
  Counter,
  D_INSTANCES,
  E_RUNS,
  IDEAL_C_MS,
  expectedOutput,
  makeBody,
  shapeOf,
  taskCount,
} from './workloads.ts';

export interface MeasureOptions {
  reps: number;
  /** A warm-up slower than this cuts the measured reps to 3. */
  slowRunMs: number;
  /** A warm-up slower than this is kept as the only sample (no further runs). */
  verySlowRunMs: number;
  /** Measure one cold run and nothing else (the runner predicts a run of tens of seconds). */
  single?: boolean;
  /** Called once the workflow is built, just before the first run (the runner times runs from here). */
  onPrepared?: () => void;
  /** Called after every validated run (the warm-up included) with its duration. */
  onRun?: (ms: number, warmup: boolean) => void;
}

export const DEFAULT_MEASURE: MeasureOptions = { reps: 5, slowRunMs: 2_000, verySlowRunMs: 20_000 };

interface Sample {
  ms: number;
  makespans?: number[];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

function check(out: number, expected: number, executed: number, wantExecuted: number, what: string): void {
  if (executed !== wantExecuted) throw new Error(`${what}: ran ${executed} task bodies, expected ${wantExecuted}`);
  if (out !== expected) throw new Error(`${what}: final output ${out}, expected ${expected}`);
}

function makeRun(workload: WorkloadId, runner: Runner, counter: Counter, tasks: number, expected: number) {
  if (workload === 'D') {
    return async (): Promise<Sample> => {
      const before = counter.executed;
      const t0 = performance.now();
      const makespans: number[] = new Array(D_INSTANCES);
      const outs = await Promise.all(
        Array.from({ length: D_INSTANCES }, (_, i) =>
          runner().then((o) => {
            makespans[i] = performance.now() - t0;
            return o;
          }),
        ),
      );
      const ms = performance.now() - t0;
      for (const o of outs) check(o, expected, counter.executed - before, D_INSTANCES * tasks, 'D');
      return { ms, makespans };
    };
  }
  if (workload === 'E') {
    return async (): Promise<Sample> => {
      const before = counter.executed;
      const t0 = performance.now();
      let last = 0;
      for (let i = 0; i < E_RUNS; i++) last = await runner();
      const ms = performance.now() - t0;
      check(last, expected, counter.executed - before, E_RUNS * tasks, 'E');
      return { ms };
    };
  }
  return async (): Promise<Sample> => {
    const before = counter.executed;
    const t0 = performance.now();
    const out = await runner();
    const ms = performance.now() - t0;
    check(out, expected, counter.executed - before, tasks, workload);
    return { ms };
  };
}

function valueOf(workload: WorkloadId, s: Sample, tasks: number): number {
  if (workload === 'C') return s.ms - IDEAL_C_MS;
  if (workload === 'D') return D_INSTANCES / (s.ms / 1000);
  if (workload === 'E') return (s.ms * 1000) / E_RUNS;
  return (s.ms * 1000) / tasks;
}

export async function measurePair(
  engine: string,
  adapter: EngineAdapter,
  workload: WorkloadId,
  opts: MeasureOptions = DEFAULT_MEASURE,
): Promise<PairResult> {
  const t0 = performance.now();
  const shape = shapeOf(workload);
  const tasks = taskCount(shape);
  const counter = new Counter();
  const runner = await adapter.prepare(shape, makeBody(shape, counter));
  const measureRun = makeRun(workload, runner, counter, tasks, expectedOutput(shape));
  let runs = 0;
  const run = async (): Promise<Sample> => {
    const s = await measureRun();
    opts.onRun?.(s.ms, runs++ === 0);
    return s;
  };
  opts.onPrepared?.();

  const warm = await run();
  let samples: Sample[];
  let note: string | undefined;
  let warmup = true;
  if (opts.single || warm.ms > opts.verySlowRunMs) {
    samples = [warm];
    warmup = false;
    note = `one cold run, no warm-up (${(warm.ms / 1000).toFixed(1)} s per run)`;
  } else {
    const reps = warm.ms > opts.slowRunMs ? Math.min(3, opts.reps) : opts.reps;
    if (reps < opts.reps) note = `${reps} reps (${(warm.ms / 1000).toFixed(1)} s per run)`;
    samples = [];
    for (let i = 0; i < reps; i++) samples.push(await run());
  }

  const values = samples.map((s) => valueOf(workload, s, tasks));
  const result: PairResult = {
    engine,
    workload,
    ok: true,
    reps: samples.length,
    warmup,
    note,
    value: median(values),
    samples: values,
    tasksPerRep: workload === 'D' ? D_INSTANCES * tasks : workload === 'E' ? E_RUNS * tasks : tasks,
  };
  if (workload === 'C') result.makespanMs = median(samples.map((s) => s.ms));
  if (workload === 'D') {
    result.p50Ms = median(samples.map((s) => percentile(s.makespans ?? [], 50)));
    result.p99Ms = median(samples.map((s) => percentile(s.makespans ?? [], 99)));
  }
  result.wallMs = performance.now() - t0;
  return result;
}
