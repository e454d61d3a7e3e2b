import type { ExecutionRecord, LiveEvent, TaskRecord } from '../api/types.ts';
import { debugEvent, type LiveDebug } from './debug.ts';

// The live run view's state, folded from the execution's event stream. A batch of events makes one new state
// (one React render per socket message, not per event); duplicate or old events (seq ≤ lastSeq, e.g. after a
// reconnect that resumes from a sequence number) are ignored.

export type LiveStatus =
  | 'pending'
  | 'queued'
  | 'running'
  | 'retrying'
  | 'completed'
  | 'failed'
  | 'skipped'
  | 'cancelled';

export interface LiveTask extends TaskRecord {
  status: LiveStatus;
  attempt?: number;
  lastError?: string;
  iterations?: number;
}

export interface LiveRun {
  executionId: string;
  workflowId?: string;
  status: string;
  lastSeq: number;
  startedAt?: number;
  finishedAt?: number;
  cost?: number;
  tasks: Map<string, LiveTask>;
  /** Declared DAG from workflow:started, when the run view has no definition of its own. */
  dag?: Array<{ id: string; agentId: string; dependencies: string[] }>;
  error?: string;
  /** Number of status changes applied (the bench checks none is lost). */
  changes: number;
  /** Pauses, resumes and waiting tasks, once any such event arrived. */
  debug?: LiveDebug;
}

export function emptyRun(executionId: string): LiveRun {
  return { executionId, status: 'pending', lastSeq: -1, tasks: new Map(), changes: 0 };
}

const TERMINAL = new Set(['completed', 'failed', 'skipped', 'cancelled']);

/** A run as the REST API returned it (the start point before live events, or a finished run). */
export function fromRecord(rec: ExecutionRecord, lastSeq = -1): LiveRun {
  const tasks = new Map<string, LiveTask>();
  for (const [id, t] of Object.entries(rec.tasks ?? {})) tasks.set(id, { ...t, status: normalStatus(t.status) });
  return {
    executionId: rec.executionId,
    workflowId: rec.workflowId,
    status: rec.status,
    lastSeq,
    startedAt: rec.startedAt,
    finishedAt: rec.finishedAt,
    cost: rec.cost,
    tasks,
    error: rec.error?.message,
    changes: 0,
  };
}

function normalStatus(s: string): LiveStatus {
  return (
    ['pending', 'queued', 'running', 'retrying', 'completed', 'failed', 'skipped', 'cancelled'].includes(s)
      ? s
      : 'pending'
  ) as LiveStatus;
}

export function applyEvents(state: LiveRun, events: LiveEvent[]): LiveRun {
  let tasks: Map<string, LiveTask> | undefined;
  let next: LiveRun | undefined;
  for (const e of events) {
    if (typeof e.seq === 'number') {
      if (e.seq <= (next ?? state).lastSeq) continue;
    }
    next ??= { ...state };
    if (typeof e.seq === 'number') next.lastSeq = e.seq;
    const p = (e.payload ?? {}) as Record<string, unknown>;
    if (p.executionId && p.executionId !== state.executionId) continue;
    const taskId = typeof p.taskId === 'string' ? p.taskId : undefined;
    const at = typeof p.timestamp === 'number' ? p.timestamp : undefined;
    const patch = (fields: Partial<LiveTask>) => {
      if (!taskId) return;
      tasks ??= new Map(state.tasks);
      const cur = tasks.get(taskId) ?? ({ status: 'pending' } as LiveTask);
      // A loop task reports per iteration; a terminal status of the task as a whole is never undone by a late one.
      if (TERMINAL.has(cur.status) && fields.status && !TERMINAL.has(fields.status) && p.iteration === undefined)
        return;
      tasks.set(taskId, { ...cur, ...fields });
      if (fields.status && fields.status !== cur.status) next!.changes++;
    };
    const dbg = debugEvent(next.debug, e.type, p, at ?? e.at);
    if (dbg) next.debug = dbg;
    switch (e.type) {
      case 'workflow:started':
        next.status = 'running';
        next.startedAt = at ?? next.startedAt;
        next.workflowId = (p.workflowId as string) ?? next.workflowId;
        if (Array.isArray(p.tasks)) next.dag = p.tasks as LiveRun['dag'];
        break;
      case 'workflow:completed':
      case 'workflow:failed':
      case 'workflow:cancelled': {
        next.status = e.type.slice('workflow:'.length);
        next.finishedAt = at;
        if (typeof p.cost === 'number') next.cost = p.cost;
        const err = p.error as { message?: string } | undefined;
        if (err?.message) next.error = err.message;
        const result = p.result as ExecutionRecord | undefined;
        if (result?.tasks)
          for (const [id, t] of Object.entries(result.tasks)) {
            tasks ??= new Map(state.tasks);
            const cur = tasks.get(id);
            const status = normalStatus(t.status);
            if (cur?.status !== status) next.changes++;
            tasks.set(id, { ...cur, ...t, status });
          }
        if (typeof result?.cost === 'number') next.cost = result.cost;
        break;
      }
      case 'task:queued':
        patch({ status: 'queued', agentId: p.agentId as string });
        break;
      case 'task:started':
        patch({ status: 'running', startedAt: at, attempt: p.attempt as number, queueWait: p.queueWait as number });
        break;
      case 'task:retrying':
        patch({
          status: 'retrying',
          attempt: p.attempt as number,
          lastError: (p.error as { message?: string })?.message,
        });
        break;
      case 'task:completed':
        patch({
          status: 'completed',
          finishedAt: at,
          duration: p.duration as number,
          output: p.output,
          usage: p.usage as LiveTask['usage'],
          cost: p.cost as number,
          model: p.model as string,
          attempts: p.attempts as number,
        });
        break;
      case 'task:failed':
        patch({
          status: 'failed',
          finishedAt: at,
          duration: p.duration as number,
          attempts: p.attempts as number,
          error: p.error as LiveTask['error'],
          lastError: (p.error as { message?: string })?.message,
        });
        break;
      case 'task:skipped':
        patch({ status: 'skipped', lastError: p.reason as string });
        break;
      case 'model:selected':
        if (taskId) patch({ model: p.model as string });
        break;
    }
  }
  if (!next) return state;
  if (tasks) next.tasks = tasks;
  return next;
}

export function statusCounts(run: LiveRun): Record<LiveStatus, number> {
  const c: Record<LiveStatus, number> = {
    pending: 0,
    queued: 0,
    running: 0,
    retrying: 0,
    completed: 0,
    failed: 0,
    skipped: 0,
    cancelled: 0,
  };
  for (const t of run.tasks.values()) c[t.status]++;
  return c;
}

/** Bars for the Gantt timeline: queue wait then run time, relative to the run's start. */
export function ganttRows(
  run: LiveRun,
  order: string[],
  now: number,
): Array<{ id: string; status: LiveStatus; waitFrom?: number; start?: number; end?: number }> {
  let t0 = run.startedAt ?? Infinity;
  for (const t of run.tasks.values())
    if (t.startedAt !== undefined) t0 = Math.min(t0, t.startedAt - (t.queueWait ?? 0));
  if (!Number.isFinite(t0)) t0 = now;
  return order.map((id) => {
    const t = run.tasks.get(id);
    if (!t || t.startedAt === undefined) return { id, status: t?.status ?? 'pending' };
    const start = t.startedAt - t0;
    const end =
      (t.finishedAt ??
        (t.duration !== undefined ? t.startedAt + t.duration : TERMINAL.has(t.status) ? t.startedAt : now)) - t0;
    return {
      id,
      status: t.status,
      waitFrom: t.queueWait ? start - t.queueWait : undefined,
      start,
      end: Math.max(end, start),
    };
  });
}
