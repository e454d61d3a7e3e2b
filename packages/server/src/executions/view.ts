import type { ExecutionHeader, ExecutionResult, StoredExecution } from '@codexos/multi-agent-orchestrator';
import { renderedPrompts } from './prompts.js';
import type { RunMeta } from './runner.js';

// The API's shapes of an execution: a summary for lists and a detail with per-task state.

/** A run as execution lists show it. */
export interface ExecutionSummary {
  executionId: string;
  workflowId: string;
  version: number | null;
  status: string;
  startedAt: number;
  finishedAt?: number;
  durationMs?: number;
  error?: { code: string; message: string };
  startedBy: string | null;
}

/** One task of a run (`taskKey` is the task id, or `id#i` for an iteration of a loop task). */
export interface TaskState {
  taskKey: string;
  taskId: string;
  agentId?: string;
  status: string;
  attempts: number;
  startedAt?: number;
  finishedAt?: number;
  durationMs?: number;
  output?: unknown;
  error?: { code: string; message: string };
  model?: string;
  usage?: { inputTokens: number; outputTokens: number };
  cost?: number;
  /** The prompt the task was sent, rendered (absent for tasks that have not started, or have none). */
  prompt?: string;
}

/** A run with its input, totals and the state of every task (`GET /api/executions/:id`). */
export interface ExecutionDetail extends ExecutionSummary {
  input: unknown;
  output?: Record<string, unknown>;
  usage: { inputTokens: number; outputTokens: number };
  cost: number;
  lastSeq: number;
  tasks: TaskState[];
}

export function summaryOf(h: ExecutionHeader, meta: RunMeta | undefined): ExecutionSummary {
  const s: ExecutionSummary = {
    executionId: h.executionId,
    workflowId: meta?.workflowId ?? h.workflowId,
    version: meta?.version ?? null,
    status: h.status,
    startedAt: h.startedAt,
    startedBy: meta?.startedBy ?? null,
  };
  if (h.finishedAt !== undefined) {
    s.finishedAt = h.finishedAt;
    s.durationMs = h.finishedAt - h.startedAt;
  }
  if (h.error) s.error = h.error;
  return s;
}

export function detailOf(stored: StoredExecution, meta: RunMeta | undefined, lastSeq: number): ExecutionDetail {
  const agentOf = agentMap(stored.header.definition);
  const prompts = renderedPrompts(stored);
  const tasks: TaskState[] = [];
  let inputTokens = 0;
  let outputTokens = 0;
  let cost = 0;
  for (const t of stored.tasks.values()) {
    // `$debug` and `$wait:<name>` are the run's debug records (GET /api/executions/:id/debug), not tasks.
    if (t.taskKey.startsWith('$')) continue;
    const taskId = t.taskKey.split('#')[0];
    const ts: TaskState = { taskKey: t.taskKey, taskId, status: t.status, attempts: t.attempts };
    const agentId = agentOf.get(taskId);
    if (agentId) ts.agentId = agentId;
    if (t.startedAt !== undefined) ts.startedAt = t.startedAt;
    if (t.finishedAt !== undefined) ts.finishedAt = t.finishedAt;
    if (t.startedAt !== undefined && t.finishedAt !== undefined) ts.durationMs = t.finishedAt - t.startedAt;
    if (t.output !== undefined) ts.output = t.output;
    if (t.error) ts.error = t.error;
    const model = meta?.models?.[t.taskKey];
    if (model) ts.model = model;
    const prompt = t.taskKey === taskId ? prompts.get(taskId) : undefined;
    if (prompt !== undefined) ts.prompt = prompt;
    if (t.usage) {
      ts.usage = { inputTokens: t.usage.inputTokens, outputTokens: t.usage.outputTokens };
      inputTokens += t.usage.inputTokens;
      outputTokens += t.usage.outputTokens;
    }
    if (t.cost !== undefined) {
      ts.cost = t.cost;
      cost += t.cost;
    }
    tasks.push(ts);
  }
  // Tasks that have not started yet are listed too, so a client sees the whole DAG.
  for (const [taskId, agentId] of agentOf)
    if (!stored.tasks.has(taskId) && !tasks.some((t) => t.taskId === taskId))
      tasks.push({ taskKey: taskId, taskId, agentId, status: 'waiting', attempts: 0 });
  return {
    ...summaryOf(stored.header, meta),
    input: stored.header.input,
    usage: { inputTokens, outputTokens },
    cost,
    lastSeq,
    tasks,
  };
}

/** Detail straight from a finished run's result (no store read). */
export function detailFromResult(r: ExecutionResult, meta: RunMeta, lastSeq: number): ExecutionDetail {
  const tasks: TaskState[] = Object.values(r.tasks).map((t) => {
    const ts: TaskState = {
      taskKey: t.taskId,
      taskId: t.taskId,
      agentId: t.agentId,
      status: t.status,
      attempts: t.attempts,
    };
    if (t.startedAt !== undefined) ts.startedAt = t.startedAt;
    if (t.finishedAt !== undefined) ts.finishedAt = t.finishedAt;
    if (t.duration !== undefined) ts.durationMs = t.duration;
    if (t.output !== undefined) ts.output = t.output;
    if (t.error) ts.error = t.error;
    if (t.model) ts.model = t.model;
    if (t.usage) ts.usage = { inputTokens: t.usage.inputTokens, outputTokens: t.usage.outputTokens };
    if (t.cost !== undefined) ts.cost = t.cost;
    return ts;
  });
  const d: ExecutionDetail = {
    executionId: r.executionId,
    workflowId: meta.workflowId,
    version: meta.version,
    status: r.status,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    durationMs: r.duration,
    startedBy: meta.startedBy,
    input: r.input,
    output: r.output,
    usage: { inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens },
    cost: r.cost,
    lastSeq,
    tasks,
  };
  if (r.error) d.error = r.error;
  return d;
}

function agentMap(def: unknown): Map<string, string> {
  const m = new Map<string, string>();
  const tasks = (def as { tasks?: Array<{ id: string; agentId: string }> })?.tasks;
  if (Array.isArray(tasks)) for (const t of tasks) m.set(t.id, t.agentId);
  return m;
}
