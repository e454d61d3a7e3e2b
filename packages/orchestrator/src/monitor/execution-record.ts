import type { ErrorInfo } from '../errors.js';
import type { OrchestratorEvents } from '../events.js';
import type { TaskResult } from '../workflow/types.js';
import type { DagIndex, DagTask } from './dag-index.js';
import type { TaskProfileStatus } from './types.js';

export type { DagTask } from './dag-index.js';

// What the monitor holds per execution. While a run is going only run-level facts arrive (its DAG, model calls,
// rate limits, retries); per-task facts come in one piece with the run's final ExecutionResult and are copied
// into a TaskTable: typed-array columns indexed like the DAG, so a run costs a handful of allocations, not one
// object per task, and the result (with its task outputs) is not retained.

/** The per-task facts the monitor reads: the engine's TaskResult, or the same built from events or the store. */
export type TaskFacts = Pick<
  TaskResult,
  | 'status'
  | 'attempts'
  | 'startedAt'
  | 'finishedAt'
  | 'duration'
  | 'queueWait'
  | 'usage'
  | 'cost'
  | 'model'
  | 'cached'
  | 'error'
  | 'iterations'
>;

/** Task status codes of a TaskTable; UNSEEN tasks (no facts at all) are left out of profiles and counts. */
export const UNSEEN = 0;
export const COMPLETED = 4;
export const FAILED = 5;
export const SKIPPED = 6;
const CODE: Record<string, number> = { queued: 1, running: 2, retrying: 3, completed: 4, failed: 5, skipped: 6 };
export const STATUS_NAME: readonly TaskProfileStatus[] = [
  'queued',
  'queued',
  'running',
  'retrying',
  'completed',
  'failed',
  'skipped',
];

/** Sparse per-task fields: only tasks that have any of them (model work, errors, loops, cache hits) get one. */
export interface TaskExtra {
  model?: string;
  cached?: boolean;
  error?: ErrorInfo;
  iterations?: number;
  /** The task was still running when the run ended: its error is the run's, not its own. */
  cutOff?: boolean;
  usageReported: boolean;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  modelCalls: number;
  modelLatency: number;
}

export class TaskTable {
  readonly n: number;
  readonly status: Uint8Array;
  /** Epoch ms; -1 when unknown. */
  readonly startedAt: Float64Array;
  readonly finishedAt: Float64Array;
  /** Run time (first start → finish, as the engine reports it). */
  readonly runTime: Float64Array;
  readonly queueWait: Float64Array;
  readonly attempts: Int32Array;
  readonly retries: Int32Array;
  readonly extra = new Map<number, TaskExtra>();

  constructor(readonly dag: DagIndex) {
    const n = dag.n;
    this.n = n;
    this.status = new Uint8Array(n);
    this.startedAt = new Float64Array(n).fill(-1);
    this.finishedAt = new Float64Array(n).fill(-1);
    this.runTime = new Float64Array(n);
    this.queueWait = new Float64Array(n);
    this.attempts = new Int32Array(n);
    this.retries = new Int32Array(n);
  }

  extraOf(i: number): TaskExtra {
    let x = this.extra.get(i);
    if (x === undefined) {
      x = { usageReported: false, inputTokens: 0, outputTokens: 0, cost: 0, modelCalls: 0, modelLatency: 0 };
      this.extra.set(i, x);
    }
    return x;
  }

  finished(i: number): boolean {
    return this.finishedAt[i] >= 0 && this.startedAt[i] >= 0;
  }
}

export interface ModelCallRecord {
  taskId?: string;
  agentId?: string;
  provider: string;
  model: string;
  latencyMs: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  success: boolean;
  requestKey?: string;
  timestamp: number;
}

/** Per-execution shares of resource samples taken while it ran. */
export class ResourceAccumulator {
  samples = 0;
  cpuSum = 0;
  cpuPeak = 0;
  rssPeak = 0;
  heapPeak = 0;
  loopP99 = 0;
  netIn = 0;
  netOut = 0;
}

const MAX_CALLS_PER_EXECUTION = 20_000;

export class ExecutionRecord {
  readonly calls: ModelCallRecord[] = [];
  /** provider → [count, waitMs] while this execution ran. */
  readonly rateLimits = new Map<string, { count: number; waitMs: number }>();
  readonly resources = new ResourceAccumulator();
  /** task id → retries seen (`task:retrying` is rare, so it stays observed). */
  retries: Map<string, number> | undefined;
  /** Per-task facts as they happen: only with the `liveTasks` option. */
  live: Map<string, TaskFacts> | undefined;
  /** The run's final per-task facts (the engine's result), until the analysis copies them into `table`. */
  final: Record<string, TaskFacts> | undefined;
  /** The run's own error: tasks failed with it were cut off by the run's end. */
  runError: ErrorInfo | undefined;
  table: TaskTable | undefined;
  status: 'running' | 'completed' | 'failed' | 'cancelled' = 'running';
  finishedAt = -1;
  reportedDuration = -1;
  durationAlerted = 0;
  constructor(
    readonly executionId: string,
    readonly workflowId: string,
    readonly startedAt: number,
    readonly dag: DagTask[],
  ) {}

  addCall(c: ModelCallRecord): void {
    if (this.calls.length < MAX_CALLS_PER_EXECUTION) this.calls.push(c);
  }

  addRetry(taskId: string): void {
    this.retries ??= new Map();
    this.retries.set(taskId, (this.retries.get(taskId) ?? 0) + 1);
  }
}

/**
 * Copies per-task facts into a table: one pass over the DAG, field reads and array writes; objects only for the
 * sparse extras. Then model calls and retries seen during the run are folded in.
 */
export function buildTable(
  dag: DagIndex,
  facts: Record<string, TaskFacts> | Map<string, TaskFacts> | undefined,
  rec: Pick<ExecutionRecord, 'calls' | 'retries' | 'runError'>,
): TaskTable {
  const tab = new TaskTable(dag);
  const ids = dag.ids;
  const get =
    facts === undefined
      ? undefined
      : facts instanceof Map
        ? (id: string) => facts.get(id)
        : (id: string) => (Object.hasOwn(facts, id) ? facts[id] : undefined);
  if (get !== undefined) {
    const runMsg = rec.runError?.message;
    for (let i = 0; i < tab.n; i++) {
      const r = get(ids[i]);
      if (r !== undefined) fillTask(tab, i, r, runMsg);
    }
  }
  if (rec.retries !== undefined)
    for (const [id, n] of rec.retries) {
      const i = dag.index.get(id);
      if (i !== undefined) tab.retries[i] = n;
    }
  if (rec.calls.length > 0) foldCalls(tab, rec.calls);
  return tab;
}

/** One task's facts into row i: a small function called per task, so it gets optimised within the first runs. */
function fillTask(tab: TaskTable, i: number, r: TaskFacts, runMsg: string | undefined): void {
  tab.status[i] = CODE[r.status] ?? UNSEEN;
  const s = r.startedAt;
  const f = r.finishedAt;
  if (s !== undefined) tab.startedAt[i] = s;
  if (f !== undefined) tab.finishedAt[i] = f;
  tab.runTime[i] = r.duration ?? (s !== undefined && f !== undefined ? f - s : 0);
  tab.queueWait[i] = r.queueWait ?? 0;
  tab.attempts[i] = r.attempts;
  if (
    r.error === undefined &&
    r.usage === undefined &&
    r.cost === undefined &&
    r.model === undefined &&
    !r.cached &&
    !r.iterations
  )
    return;
  const x = tab.extraOf(i);
  if (r.model !== undefined) x.model = r.model;
  if (r.cached) x.cached = true;
  if (r.iterations) x.iterations = r.iterations;
  if (r.error !== undefined) {
    x.error = r.error;
    if (r.status === 'failed' && runMsg !== undefined && r.error.message === runMsg) x.cutOff = true;
  }
  if (r.usage !== undefined) {
    x.usageReported = true;
    x.inputTokens = r.usage.inputTokens;
    x.outputTokens = r.usage.outputTokens;
  }
  if (r.cost !== undefined) x.cost = r.cost;
}

/** Model calls per task; tasks that reported no usage or cost get the summed call figures. */
function foldCalls(tab: TaskTable, calls: ModelCallRecord[]): void {
  const sums = new Map<number, { i: number; o: number; c: number }>();
  for (const c of calls) {
    if (c.taskId === undefined) continue;
    const i = tab.dag.index.get(c.taskId);
    if (i === undefined) continue;
    const x = tab.extraOf(i);
    x.modelCalls++;
    x.modelLatency += c.latencyMs;
    x.model ??= c.model;
    const s = sums.get(i) ?? { i: 0, o: 0, c: 0 };
    s.i += c.inputTokens;
    s.o += c.outputTokens;
    s.c += c.cost;
    sums.set(i, s);
  }
  for (const [i, s] of sums) {
    const x = tab.extraOf(i);
    if (x.inputTokens === 0 && x.outputTokens === 0) {
      x.inputTokens = s.i;
      x.outputTokens = s.o;
    }
    if (x.cost === 0) x.cost = s.c;
  }
}

type E = OrchestratorEvents;

export function onModelCall(rec: ExecutionRecord, p: E['model:call']): void {
  rec.addCall({
    taskId: p.taskId,
    agentId: p.agentId,
    provider: p.provider,
    model: p.model,
    latencyMs: p.latencyMs,
    inputTokens: p.usage.inputTokens,
    outputTokens: p.usage.outputTokens,
    cost: p.cost,
    success: p.success,
    requestKey: p.requestKey,
    timestamp: p.timestamp,
  });
}
