import { CodexError, ErrorCodes } from '../errors.js';
import { decodeValue, encodeValue, isStorablePrimitive, outputBytesOf } from './codec.js';
import { effectiveStatus, isLive } from './lease.js';
import {
  type ExecutionHeader,
  type ExecutionQuery,
  type Lease,
  type StateStore,
  type StoredExecution,
  type StoredTaskState,
  type TaskTransition,
  UNFINISHED_STATUSES,
} from './types.js';

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

export function executionExists(executionId: string): CodexError {
  return new CodexError(
    ErrorCodes.EXECUTION_EXISTS,
    `Execution "${executionId}" already exists; resume it, or start a new run with another id`,
  );
}

interface MemHeader {
  h: ExecutionHeader;
  /** The input as the caller gave it (to skip re-encoding the same object) and its bytes. */
  inputRef: unknown;
  inputBytes?: Uint8Array;
}

/**
 * A transition as kept: an object output only as bytes, so what comes back is a copy exactly like the other
 * stores'; a primitive output as it is (immutable, nothing to copy).
 */
type MemTransition = TaskTransition;

/**
 * In-process store: nothing survives the process. The fast default for tests and benchmarks. It keeps the last
 * `maxFinished` finished executions (default 1000) so a long-lived process does not grow without bound.
 */
export class MemoryStore implements StateStore {
  readonly kind = 'memory';
  private readonly headers = new Map<string, MemHeader>();
  private readonly log = new Map<string, MemTransition[]>();
  private readonly leases = new Map<string, Lease>();
  private readonly finished = new Set<string>();

  constructor(private readonly maxFinished = 1000) {}

  createExecution(header: ExecutionHeader, lease: Lease): void {
    const prev = this.headers.get(header.executionId);
    if (prev) throw executionExists(header.executionId);
    this.put(header, undefined);
    this.leases.set(header.executionId, { owner: lease.owner, expiresAt: lease.expiresAt });
  }

  saveExecution(header: ExecutionHeader): void {
    this.put(header, this.headers.get(header.executionId));
    if (UNFINISHED_STATUSES.includes(header.status)) {
      this.finished.delete(header.executionId); // resumed: not evictable while it runs
      return;
    }
    this.finished.delete(header.executionId);
    this.finished.add(header.executionId);
    if (this.finished.size > this.maxFinished) {
      const oldest = this.finished.values().next().value as string;
      this.finished.delete(oldest);
      this.headers.delete(oldest);
      this.log.delete(oldest);
      this.leases.delete(oldest);
    }
  }

  acquireLease(executionId: string, lease: Lease, replacing?: string): Lease | undefined {
    const cur = this.leases.get(executionId);
    if (isLive(cur) && cur.owner !== lease.owner && cur.owner !== replacing) return { ...cur };
    this.leases.set(executionId, { owner: lease.owner, expiresAt: lease.expiresAt });
    return undefined;
  }

  releaseLease(executionId: string, owner: string): void {
    if (this.leases.get(executionId)?.owner === owner) this.leases.delete(executionId);
  }

  appendTransitions(batch: TaskTransition[]): void {
    // Encode the whole batch before keeping any of it: a value that cannot be stored leaves nothing half-written.
    const rows: MemTransition[] = batch.map((t) => ({
      executionId: t.executionId,
      taskKey: t.taskKey,
      status: t.status,
      attempt: t.attempt,
      at: t.at,
      output: t.outputBytes === undefined && isStorablePrimitive(t.output) ? t.output : undefined,
      outputBytes: t.outputBytes ?? (isStorablePrimitive(t.output) ? undefined : outputBytesOf(t)),
      error: t.error,
      usage: t.usage,
      cost: t.cost,
    }));
    let id: string | undefined;
    let list: MemTransition[] | undefined;
    for (const t of rows) {
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
    const m = this.headers.get(executionId);
    if (!m) return undefined;
    const tasks = new Map<string, StoredTaskState>();
    for (const t of this.history(executionId)) foldTransition(tasks, t);
    return { header: this.read(m), tasks };
  }

  listExecutions(query?: ExecutionQuery): ExecutionHeader[] {
    return filterHeaders(
      [...this.headers.values()].map((m) => this.read(m)),
      query,
    );
  }

  history(executionId: string): TaskTransition[] {
    return (this.log.get(executionId) ?? []).map((r) => {
      const t: TaskTransition = {
        executionId: r.executionId,
        taskKey: r.taskKey,
        status: r.status,
        attempt: r.attempt,
        at: r.at,
        output: r.outputBytes ? decodeValue(r.outputBytes) : r.output,
        error: r.error,
        usage: r.usage,
        cost: r.cost,
      };
      return t;
    });
  }

  close(): void {}

  private put(h: ExecutionHeader, prev: MemHeader | undefined): void {
    const same = prev !== undefined && prev.inputRef === h.input;
    const inputBytes =
      h.inputBytes ??
      (same
        ? prev.inputBytes
        : h.input === undefined
          ? undefined
          : encodeValue(h.input, `input of execution "${h.executionId}"`));
    this.headers.set(h.executionId, {
      // A literal keeps one hidden class; the input is kept as bytes only.
      h: {
        executionId: h.executionId,
        workflowId: h.workflowId,
        status: h.status,
        definition: h.definition,
        input: undefined,
        startedAt: h.startedAt,
        finishedAt: h.finishedAt,
        error: h.error,
        schemaVersion: h.schemaVersion,
      },
      inputRef: h.input,
      inputBytes,
    });
  }

  /** A detached copy with the status as it reads now (a dead owner's `running` run is `interrupted`). */
  private read(m: MemHeader): ExecutionHeader {
    const h = m.h;
    const lease = this.leases.get(h.executionId);
    const live = isLive(lease) ? { owner: lease.owner, expiresAt: lease.expiresAt } : undefined;
    return {
      executionId: h.executionId,
      workflowId: h.workflowId,
      status: effectiveStatus(h.status, live),
      definition: h.definition,
      input: m.inputBytes ? decodeValue(m.inputBytes) : undefined,
      startedAt: h.startedAt,
      finishedAt: h.finishedAt,
      error: h.error,
      schemaVersion: h.schemaVersion,
      lease: live,
    };
  }
}
