import type { ErrorInfo } from '../errors.js';
import type { TokenUsage } from '../events.js';

// The StateStore contract: small on purpose (like LangGraph's checkpoint saver). Every implementation (memory,
// SQLite, Redis) passes the same conformance suite in store/store-conformance.ts.

export type MaybePromise<T> = T | Promise<T>;

export type ExecutionStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';
export type TaskStatus = 'queued' | 'running' | 'retrying' | 'completed' | 'failed' | 'skipped';

/** Stored snapshots carry a schema version so a newer CodexOS can read (or refuse) older rows explicitly. */
export const STATE_SCHEMA_VERSION = 1;

export interface ExecutionHeader {
  executionId: string;
  workflowId: string;
  status: ExecutionStatus;
  /** The validated workflow definition, so `resume(executionId)` needs nothing else. */
  definition: unknown;
  input: unknown;
  startedAt: number;
  finishedAt?: number;
  error?: ErrorInfo;
  schemaVersion: number;
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
  error?: ErrorInfo;
  usage?: TokenUsage;
  cost?: number;
}

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

export interface StoredExecution {
  header: ExecutionHeader;
  tasks: Map<string, StoredTaskState>;
}

export interface ExecutionQuery {
  workflowId?: string;
  status?: ExecutionStatus;
  limit?: number;
}

export interface StateStore {
  readonly kind: string;
  /** Insert or replace an execution's header (status changes of the whole run). */
  saveExecution(header: ExecutionHeader): MaybePromise<void>;
  /** Append transitions atomically (one transaction / pipeline). */
  appendTransitions(batch: TaskTransition[]): MaybePromise<void>;
  /** The header and the latest state of every task, folded from the transitions. */
  loadExecution(executionId: string): MaybePromise<StoredExecution | undefined>;
  listExecutions(query?: ExecutionQuery): MaybePromise<ExecutionHeader[]>;
  /** Every transition of one execution in order: the audit of a run. */
  history(executionId: string): MaybePromise<TaskTransition[]>;
  close(): MaybePromise<void>;
}
