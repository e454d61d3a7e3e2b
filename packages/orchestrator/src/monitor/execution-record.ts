import type { ErrorInfo } from '../errors.js';
import type { OrchestratorEvents } from '../events.js';
import type { TaskProfileStatus } from './types.js';

// Mutable per-execution aggregates, updated by O(1) event handlers. Analyses (critical path, insights) read
// them once, when the execution ends.

export interface DagTask {
  id: string;
  agentId: string;
  type?: string;
  dependencies: string[];
  /** Upstream task ids whose outputs this task's input references, when the engine reports it. */
  reads?: string[];
}

export class TaskRecord {
  startedAt = -1;
  lastStartedAt = -1;
  finishedAt = -1;
  queueWait = 0;
  runTime = -1;
  attempts = 0;
  retries = 0;
  status: TaskProfileStatus = 'queued';
  modelCalls = 0;
  modelLatency = 0;
  inputTokens = 0;
  outputTokens = 0;
  cost = 0;
  model: string | undefined = undefined;
  cached = false;
  error: ErrorInfo | undefined = undefined;
  /** Loop iterations seen (forEach / while); 0 for plain tasks. */
  iterations = 0;
  constructor(
    readonly key: string,
    readonly taskId: string,
    readonly agentId: string,
  ) {}
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
  readonly tasks = new Map<string, TaskRecord>();
  readonly calls: ModelCallRecord[] = [];
  /** provider → [count, waitMs] while this execution ran. */
  readonly rateLimits = new Map<string, { count: number; waitMs: number }>();
  readonly resources = new ResourceAccumulator();
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

  /**
   * One record per task id: the engine reports each loop iteration's start but completes the task once, so
   * iterations fold into their task (counted in `iterations`).
   */
  task(p: { taskId: string; agentId: string; iteration?: number }): TaskRecord {
    let t = this.tasks.get(p.taskId);
    if (t === undefined) {
      t = new TaskRecord(p.taskId, p.taskId, p.agentId);
      this.tasks.set(p.taskId, t);
    }
    if (p.iteration !== undefined && p.iteration >= t.iterations) t.iterations = p.iteration + 1;
    return t;
  }

  addCall(c: ModelCallRecord): void {
    if (this.calls.length < MAX_CALLS_PER_EXECUTION) this.calls.push(c);
  }
}

type E = OrchestratorEvents;

// The task handlers: field writes only, no allocation beyond the first TaskRecord of a task. `task:queued` is
// not observed at all (task:started carries the queue wait), so the engine need not build that payload.
export function onStarted(rec: ExecutionRecord, p: E['task:started']): void {
  const t = rec.task(p);
  if (t.startedAt < 0) t.startedAt = p.timestamp;
  t.lastStartedAt = p.timestamp;
  t.queueWait += p.queueWait;
  t.attempts = p.attempt;
  t.status = 'running';
}

/** A task's final status and timing, from its completion or failure event. */
function ended(rec: ExecutionRecord, p: E['task:completed'] | E['task:failed'], status: TaskProfileStatus): TaskRecord {
  const t = rec.task(p);
  t.status = status;
  t.finishedAt = p.timestamp;
  t.runTime = p.duration;
  t.attempts = p.attempts;
  return t;
}

export function onCompleted(rec: ExecutionRecord, p: E['task:completed']): void {
  const t = ended(rec, p, 'completed');
  if (p.cached) t.cached = true;
  if (p.model !== undefined) t.model = p.model;
  // Usage reported with the task wins over summed model calls (it may include calls we never saw).
  if (p.usage !== undefined) {
    t.inputTokens = p.usage.inputTokens;
    t.outputTokens = p.usage.outputTokens;
  }
  if (p.cost !== undefined) t.cost = p.cost;
}

export function onFailed(rec: ExecutionRecord, p: E['task:failed']): void {
  ended(rec, p, 'failed').error = p.error;
}

export function onRetrying(rec: ExecutionRecord, p: E['task:retrying']): void {
  const t = rec.task(p);
  t.status = 'retrying';
  t.retries++;
}

export function onSkipped(rec: ExecutionRecord, p: E['task:skipped']): void {
  const t = rec.task(p);
  t.status = 'skipped';
}

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
  if (p.taskId === undefined) return;
  const t = rec.tasks.get(p.taskId);
  if (t === undefined) return;
  t.modelCalls++;
  t.modelLatency += p.latencyMs;
  if (t.model === undefined) t.model = p.model;
}

/** Tasks that got model calls but no usage/cost with their completion get the summed call figures. */
export function settleTaskUsage(rec: ExecutionRecord): void {
  if (rec.calls.length === 0) return;
  const sums = new Map<string, { i: number; o: number; c: number }>();
  for (const c of rec.calls) {
    if (c.taskId === undefined) continue;
    const s = sums.get(c.taskId) ?? { i: 0, o: 0, c: 0 };
    s.i += c.inputTokens;
    s.o += c.outputTokens;
    s.c += c.cost;
    sums.set(c.taskId, s);
  }
  for (const [taskId, s] of sums) {
    const t = rec.tasks.get(taskId);
    if (t === undefined) continue;
    if (t.inputTokens === 0 && t.outputTokens === 0) {
      t.inputTokens = s.i;
      t.outputTokens = s.o;
    }
    if (t.cost === 0) t.cost = s.c;
  }
}
