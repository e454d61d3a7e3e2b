import type { ErrorInfo } from '../errors.js';
import type { TaskStatus } from '../store/types.js';
import type { ExecutionResult, Plan, TaskResult } from './types.js';

/** A task's run state inside the engine (a byte per task in a typed array). */
export enum S {
  Waiting = 0,
  Queued = 1,
  Running = 2,
  Done = 3,
  Failed = 4,
  Skipped = 5,
}

/** The engine's per-task arrays, read once at the end of a run. */
export interface TaskArrays {
  state: Uint8Array;
  outputs: unknown[];
  attempts: Int32Array;
  readyAt: Float64Array;
  startedAt: Float64Array;
  finishedAt: Float64Array;
  errors: (ErrorInfo | undefined)[];
  extras: Map<number, Partial<TaskResult>>;
  skipReasons: Map<number, string>;
}

// Tasks that never started report `skipped` (with the reason); a task cut off while running reports `failed`.
const NAMES: Record<number, TaskStatus> = {
  [S.Waiting]: 'skipped',
  [S.Queued]: 'skipped',
  [S.Running]: 'failed',
  [S.Done]: 'completed',
  [S.Failed]: 'failed',
  [S.Skipped]: 'skipped',
};

export function buildResult(
  plan: Plan,
  a: TaskArrays,
  run: Pick<
    ExecutionResult,
    'executionId' | 'workflowId' | 'input' | 'status' | 'startedAt' | 'finishedAt' | 'error' | 'resumed'
  >,
): ExecutionResult {
  const tasks: Record<string, TaskResult> = {};
  const output: Record<string, unknown> = {};
  const usage = { inputTokens: 0, outputTokens: 0 };
  let cost = 0;
  for (const t of plan.tasks) {
    const i = t.index;
    const s = a.state[i];
    if (t.fallbackFor !== undefined && s === S.Waiting) continue;
    const x = a.extras.get(i);
    const r: TaskResult = {
      taskId: t.id,
      agentId: t.def.agentId,
      status: NAMES[s],
      attempts: a.attempts[i],
      output: s === S.Done || (s === S.Failed && t.fallback !== undefined) ? a.outputs[i] : undefined,
    };
    if (x) Object.assign(r, x);
    if (a.startedAt[i]) {
      r.startedAt = a.startedAt[i];
      r.queueWait = a.startedAt[i] - a.readyAt[i];
    }
    if (a.finishedAt[i]) {
      r.finishedAt = a.finishedAt[i];
      if (a.startedAt[i]) r.duration = a.finishedAt[i] - a.startedAt[i];
    }
    if (a.errors[i]) r.error = a.errors[i];
    else if (s === S.Running) r.error = run.error;
    if (s === S.Skipped) r.skippedReason = a.skipReasons.get(i);
    else if (s === S.Waiting || s === S.Queued) r.skippedReason = `workflow ${run.status} before the task started`;
    if (x?.usage) {
      usage.inputTokens += x.usage.inputTokens;
      usage.outputTokens += x.usage.outputTokens;
    }
    cost += x?.cost ?? 0;
    tasks[t.id] = r;
    // A leaf rescued by its fallback is a result too: the fallback's output stands in for it.
    const rescued = s === S.Failed && t.fallback !== undefined && a.state[t.fallback] === S.Done;
    if (t.dependents.length === 0 && t.fallbackFor === undefined && (s === S.Done || rescued))
      output[t.id] = a.outputs[i];
  }
  return {
    executionId: run.executionId,
    workflowId: run.workflowId,
    status: run.status,
    input: run.input,
    tasks,
    output,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    duration: run.finishedAt - run.startedAt,
    error: run.error,
    usage,
    cost,
    resumed: run.resumed,
  };
}
