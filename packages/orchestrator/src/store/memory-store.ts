import type {
  ExecutionHeader,
  ExecutionQuery,
  StateStore,
  StoredExecution,
  StoredTaskState,
  TaskTransition,
} from './types.js';

/** A detached copy, so callers cannot change stored headers (a literal keeps one hidden class). */
function copyHeader(h: ExecutionHeader): ExecutionHeader {
  return {
    executionId: h.executionId,
    workflowId: h.workflowId,
    status: h.status,
    definition: h.definition,
    input: h.input,
    startedAt: h.startedAt,
    finishedAt: h.finishedAt,
    error: h.error,
    schemaVersion: h.schemaVersion,
  };
}

/** Folds a transition into a task's latest state (shared by every store so they agree on semantics). */
export function foldTransition(tasks: Map<string, StoredTaskState>, t: TaskTransition): void {
  let s = tasks.get(t.taskKey);
  if (!s) {
    s = { taskKey: t.taskKey, status: t.status, attempts: 0 };
    tasks.set(t.taskKey, s);
  }
  s.status = t.status;
  if (t.attempt > s.attempts) s.attempts = t.attempt;
  if (t.status === 'running' && s.startedAt === undefined) s.startedAt = t.at;
  if (t.status === 'completed' || t.status === 'failed' || t.status === 'skipped') s.finishedAt = t.at;
  if (t.status === 'completed') {
    s.output = t.output;
    s.error = undefined;
  }
  if (t.error) s.error = t.error;
  if (t.usage) s.usage = t.usage;
  if (t.cost !== undefined) s.cost = t.cost;
}

export function filterHeaders(headers: Iterable<ExecutionHeader>, q: ExecutionQuery = {}): ExecutionHeader[] {
  const out: ExecutionHeader[] = [];
  for (const h of headers) {
    if (q.workflowId && h.workflowId !== q.workflowId) continue;
    if (q.status && h.status !== q.status) continue;
    out.push(h);
  }
  out.sort((a, b) => b.startedAt - a.startedAt);
  return q.limit ? out.slice(0, q.limit) : out;
}

/**
 * In-process store: nothing survives the process. The fast default for tests and benchmarks. It keeps the last
 * `maxFinished` finished executions (default 1000) so a long-lived process does not grow without bound.
 */
export class MemoryStore implements StateStore {
  readonly kind = 'memory';
  private readonly headers = new Map<string, ExecutionHeader>();
  private readonly log = new Map<string, TaskTransition[]>();
  private readonly finished = new Set<string>();

  constructor(private readonly maxFinished = 1000) {}

  saveExecution(header: ExecutionHeader): void {
    this.headers.set(header.executionId, copyHeader(header));
    if (header.status === 'running' || header.status === 'pending') return;
    this.finished.delete(header.executionId);
    this.finished.add(header.executionId);
    if (this.finished.size > this.maxFinished) {
      const oldest = this.finished.values().next().value as string;
      this.finished.delete(oldest);
      this.headers.delete(oldest);
      this.log.delete(oldest);
    }
  }

  appendTransitions(batch: TaskTransition[]): void {
    let id: string | undefined;
    let list: TaskTransition[] | undefined;
    for (const t of batch) {
      if (t.executionId !== id) {
        id = t.executionId;
        list = this.log.get(id);
        if (!list) {
          list = [];
          this.log.set(id, list);
        }
      }
      list!.push(t);
    }
  }

  loadExecution(executionId: string): StoredExecution | undefined {
    const header = this.headers.get(executionId);
    if (!header) return undefined;
    const tasks = new Map<string, StoredTaskState>();
    for (const t of this.log.get(executionId) ?? []) foldTransition(tasks, t);
    return { header: copyHeader(header), tasks };
  }

  listExecutions(query?: ExecutionQuery): ExecutionHeader[] {
    return filterHeaders(this.headers.values(), query);
  }

  history(executionId: string): TaskTransition[] {
    return [...(this.log.get(executionId) ?? [])];
  }

  close(): void {}
}
