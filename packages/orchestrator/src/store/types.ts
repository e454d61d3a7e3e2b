import type { ErrorInfo } from '../errors.js';
import type { TokenUsage } from '../events.js';

// The StateStore contract: small on purpose (like LangGraph's checkpoint saver). Every implementation (memory,
// SQLite, Redis) passes the same conformance suite in test/store/conformance.ts. Outputs and inputs go through
// one codec (store/codec.ts), so every store returns exactly what was stored.

export type MaybePromise<T> = T | Promise<T>;

/**
 * `interrupted` is never written: stores report it on read for a `running` execution whose owner stopped renewing
 * its lease (a killed process). Such a run is resumable. `paused` (held by the debugger) and `waiting` (a task
 * waits for an approval or a signal) are written by the run and kept as they are when its process stops: the
 * header's `lease` says whether a process drives it.
 */
export type ExecutionStatus =
  | 'pending'
  | 'running'
  | 'paused'
  | 'waiting'
  | 'interrupted'
  | 'completed'
  | 'failed'
  | 'cancelled';

/** Statuses of a run that has not ended (its keys must not expire, it may be resumed). */
export const UNFINISHED_STATUSES: readonly ExecutionStatus[] = [
  'pending',
  'running',
  'paused',
  'waiting',
  'interrupted',
];
/** The status of a task: pending, queued, running, completed, failed, skipped, ... */
export type TaskStatus = 'queued' | 'running' | 'retrying' | 'completed' | 'failed' | 'skipped';

/** Stored snapshots carry a schema version so a newer CodexOS can read (or refuse) older rows explicitly. */
export const STATE_SCHEMA_VERSION = 2;

/** Who drives an execution, until when (epoch ms). Renewed by its owner's heartbeat; expired means the owner died. */
export interface Lease {
  /** `host:pid:random`, shown when another process is refused. */
  owner: string;
  expiresAt: number;
}

/** A stored execution's header: workflow, status, definition, input, start and end. */
export interface ExecutionHeader {
  executionId: string;
  workflowId: string;
  status: ExecutionStatus;
  /** The validated workflow definition, so `resume(executionId)` needs nothing else. */
  definition: unknown;
  input: unknown;
  /**
   * `input` already encoded with store/codec.ts (the orchestrator encodes it once, to check its size, when the run
   * starts); stores write these bytes as they are rather than encoding the input again.
   */
  inputBytes?: Uint8Array;
  startedAt: number;
  finishedAt?: number;
  error?: ErrorInfo;
  schemaVersion: number;
  /** On read only: the live lease, when one is held. */
  lease?: Lease;
}

/** One task transition: each is one row/entry; a batch of them is written atomically. */
export interface TaskTransition {
  executionId: string;
  /** Task instance key: the task id, or `id#i` for loop iterations. */
  taskKey: string;
  status: TaskStatus;
  attempt: number;
  at: number;
  output?: unknown;
  /** `output` already encoded with store/codec.ts (the engine encodes once); stores write these bytes as they are. */
  outputBytes?: Uint8Array;
  error?: ErrorInfo;
  usage?: TokenUsage;
  cost?: number;
}

/** The last recorded state of one task: status, attempts, times, output or error, usage. */
export interface StoredTaskState {
  taskKey: string;
  status: TaskStatus;
  attempts: number;
  startedAt?: number;
  finishedAt?: number;
  output?: unknown;
  error?: ErrorInfo;
  usage?: TokenUsage;
  cost?: number;
}

/** A stored execution: its header and the last recorded state of each task. */
export interface StoredExecution {
  header: ExecutionHeader;
  tasks: Map<string, StoredTaskState>;
}

export interface ExecutionQuery {
  workflowId?: string;
  status?: ExecutionStatus;
  limit?: number;
}

/** Where executions are recorded (memory, SQLite, Redis): headers, task transitions, leases. */
export interface StateStore {
  readonly kind: string;
  /**
   * Writes a new execution's header and takes its lease in one atomic step. An id that already exists is refused
   * with CodexError EXECUTION_EXISTS: a new run never appends to an old run's transitions.
   */
  createExecution(header: ExecutionHeader, lease: Lease): MaybePromise<void>;
  /** Update an existing execution's header (status changes of the whole run). */
  saveExecution(header: ExecutionHeader): MaybePromise<void>;
  /**
   * Takes or renews an execution's lease when it is free, expired, already `lease.owner`'s, or held by exactly
   * `replacing` (an owner known to be dead), and answers undefined; otherwise leaves it and answers the live
   * lease of the process that holds it.
   */
  acquireLease(executionId: string, lease: Lease, replacing?: string): MaybePromise<Lease | undefined>;
  /** Gives the lease up if `owner` still holds it. */
  releaseLease(executionId: string, owner: string): MaybePromise<void>;
  /** Append transitions atomically (one transaction / pipeline). */
  appendTransitions(batch: TaskTransition[]): MaybePromise<void>;
  /**
   * Optional: the end of a run in one atomic step — its last transitions, its final header, and the release of its
   * lease when `owner` still holds it. The engine then writes a run's last batch here rather than on its own.
   * Stores without it get appendTransitions, saveExecution and releaseLease, in that order.
   */
  endExecution?(header: ExecutionHeader, batch: TaskTransition[], owner: string | undefined): MaybePromise<void>;
  /** The header and the latest state of every task, folded from the transitions. */
  loadExecution(executionId: string): MaybePromise<StoredExecution | undefined>;
  listExecutions(query?: ExecutionQuery): MaybePromise<ExecutionHeader[]>;
  /** Every transition of one execution in order: the audit of a run. */
  history(executionId: string): MaybePromise<TaskTransition[]>;
  close(): MaybePromise<void>;
}
