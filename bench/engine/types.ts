// Shared shapes of the engine-overhead benchmark: workloads, engine adapters, measurements.

/** A workload's DAG as stages: every task of stage s depends on every task of stage s-1. */
export interface Shape {
  /** stages[s] lists the task ids of stage s. */
  stages: string[][];
  /** Milliseconds each task sleeps (0 = a no-op async task). */
  sleepMs: number;
}

/**
 * The one task body every engine runs. It receives the outputs of the previous stage (in any order)
 * and returns 1 + their sum, so the final output proves every upstream result reached its dependent.
 */
export type TaskBody = (upstream: readonly number[]) => Promise<number>;

/** A prepared workflow: each call runs one complete instance and resolves with the last task's output. */
export type Runner = () => Promise<number>;

export interface EngineAdapter {
  /** Build the engine's workflow for a shape once (graph compile, flow tree, definition). */
  prepare(shape: Shape, body: TaskBody): Promise<Runner>;
  close(): Promise<void>;
}

export type EngineFactory = () => Promise<EngineAdapter>;

export type WorkloadId = 'A100' | 'A300' | 'A1000' | 'A2000' | 'A10000' | 'B' | 'C' | 'D' | 'E';

/** What a child process reports for one (engine, workload) pair. */
export interface PairResult {
  engine: string;
  workload: WorkloadId;
  ok: boolean;
  error?: string;
  /** Measured reps after the warm-up (fewer than 5 for slow peers; see note). */
  reps: number;
  warmup: boolean;
  note?: string;
  /** A, B: µs per task. E: µs per run. C: overhead ms over the ideal. D: wf/s. */
  value?: number;
  /** D only: median over reps of instance-makespan p50 / p99 (ms). */
  p50Ms?: number;
  p99Ms?: number;
  /** C: median makespan in ms. */
  makespanMs?: number;
  /** Raw per-rep samples of `value`. */
  samples?: number[];
  /** Tasks executed per rep, as counted inside the task body (validates the engine ran all of them). */
  tasksPerRep?: number;
  wallMs?: number;
  /** Set when the runner killed the pair: the run took longer than this many ms (a lower bound). */
  timedOutMs?: number;
}
