import type { ErrorInfo } from '../errors.js';
import type { TokenUsage } from '../events.js';
import type { ToolCallRecord } from '../models/types.js';
import type { ExecutionStatus, TaskStatus } from '../store/types.js';
import type { DebugOptions } from './debug/types.js';
import type { Expr } from './expression.js';
import type { OnError, TaskDefinition, WorkflowDefinition } from './schema.js';
import type { Template } from './template.js';

export type { ExecutionStatus, TaskStatus } from '../store/types.js';
export type { OnError, TaskDefinition, WorkflowDefinition, WorkflowDefinitionInput } from './schema.js';

/** A task's retry policy: attempts, initial delay, backoff multiplier, maximum delay, jitter. */
export interface RetryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  backoffMultiplier: number;
  jitter: number;
}

/** A task compiled for execution: expressions parsed, graph edges as indexes, policies resolved. */
export interface PlannedTask {
  index: number;
  id: string;
  def: TaskDefinition;
  deps: number[];
  dependents: number[];
  when?: Expr;
  forEach?: Expr;
  whileCond?: Expr;
  maxIterations: number;
  prompt: Template | string;
  /** Task ids named by the task's templates and expressions (`outputs.X`, `tasks.X`). */
  refs: Set<string>;
  /** Upstream task indexes whose outputs reach the task: template references when it has any, else all deps. */
  reads: number[];
  /** True when `input` holds templates other than the prompt, so params must be rendered per run. */
  templatedParams: boolean;
  retry: RetryPolicy;
  timeoutMs: number;
  onError: OnError;
  fallback?: number;
  /** Set on tasks that only run as another task's fallback. */
  fallbackFor?: number;
}

export interface Plan {
  def: WorkflowDefinition;
  tasks: PlannedTask[];
  byId: Map<string, number>;
  roots: number[];
  depth: number;
}

/** One task's result: status, output or error, attempts, times, usage and cost. */
export interface TaskResult {
  taskId: string;
  agentId: string;
  status: TaskStatus;
  output?: unknown;
  error?: ErrorInfo;
  attempts: number;
  startedAt?: number;
  finishedAt?: number;
  /** From first start to finish, including retries, ms. */
  duration?: number;
  /** Time from ready to first start, ms. */
  queueWait?: number;
  skippedReason?: string;
  usage?: TokenUsage;
  cost?: number;
  model?: string;
  cached?: boolean;
  /** Its input or prompt was edited through the debugger for this run. */
  edited?: boolean;
  /** Its output was pinned through the debugger (the task was not called). */
  pinned?: boolean;
  /** For loops: how many iterations ran. */
  iterations?: number;
  /** Tool calls a model-backed task made, across its attempts (and loop items), in order. */
  toolCalls?: ToolCallRecord[];
}

/** What a run returns: its status, every task's result, the final outputs, usage, cost and timings. */
export interface ExecutionResult {
  executionId: string;
  workflowId: string;
  status: Exclude<ExecutionStatus, 'pending' | 'running'>;
  input: unknown;
  tasks: Record<string, TaskResult>;
  /** Outputs of the tasks nothing depends on (the workflow's results), by task id. */
  output: Record<string, unknown>;
  startedAt: number;
  finishedAt: number;
  duration: number;
  error?: ErrorInfo;
  usage: TokenUsage;
  cost: number;
  resumed: boolean;
}

/** Options of one run: the workflow input, an AbortSignal, an execution id. */
export interface ExecuteOptions {
  input?: unknown;
  signal?: AbortSignal;
  /** Use this id instead of a generated one. */
  executionId?: string;
  /** Breakpoints and pause-on-failure: the run pauses at them (see `orchestrator.debugger`). */
  debug?: DebugOptions;
}
