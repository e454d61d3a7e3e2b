import type {
  DebugSnapshot,
  Breakpoint as EngineBreakpoint,
  TaskInspection,
  TaskLock,
  WaitRecord,
} from '@codexos/multi-agent-orchestrator';
import type {
  ExecutionDetail as ServerExecutionDetail,
  TaskState as ServerTaskState,
  ServerRole as ServerUserRole,
  WorkflowRole,
} from '@codexos/server';

// Shapes the dashboard reads from the CodexOS server's REST API and live-event socket. Where the server or the
// engine exports a shape it is imported here type-only (nothing of theirs reaches the bundle), so a change there
// breaks the dashboard's typecheck instead of drifting; the rest is kept loose where the server may add fields.

export type Role = WorkflowRole;
export type ServerRole = ServerUserRole;

export interface Me {
  userId: string;
  role: ServerRole;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string | null;
}

export interface TaskDef {
  id: string;
  name?: string;
  agentId: string;
  type?: 'sequential' | 'parallel';
  dependencies?: string[];
  description?: string;
  input?: Record<string, unknown>;
  when?: string;
  forEach?: string;
  while?: string;
  maxIterations?: number;
  retry?: { maxAttempts?: number; initialDelayMs?: number; maxDelayMs?: number; backoffMultiplier?: number };
  timeoutMs?: number;
  onError?: 'fail' | 'continue' | { fallback: string };
  cache?: boolean;
  model?: Record<string, unknown>;
  /** Structured output: the answer must match this JSON Schema. */
  output?: { schema?: Record<string, unknown> };
  [k: string]: unknown;
}

export interface WorkflowDefinition {
  id: string;
  name?: string;
  version?: string | number;
  description?: string;
  tasks: TaskDef[];
  [k: string]: unknown;
}

export interface WorkflowSummary {
  id: string;
  name?: string;
  description?: string;
  version?: number;
  createdAt?: number;
  updatedAt?: number;
  createdBy?: string;
  role?: Role;
  taskCount?: number;
}

export interface WorkflowRecord extends WorkflowSummary {
  definition: WorkflowDefinition;
}

export interface VersionInfo {
  workflowId?: string;
  version: number;
  author?: string;
  createdAt?: string | number;
  message?: string;
}

export interface VersionRecord extends VersionInfo {
  definition: WorkflowDefinition;
}

export type ExecutionStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled' | 'paused' | string;
export type TaskStatus =
  | 'pending'
  | 'queued'
  | 'running'
  | 'retrying'
  | 'completed'
  | 'failed'
  | 'skipped'
  | 'cancelled';

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  estimated?: boolean;
}

export interface TaskRecord {
  status: TaskStatus | string;
  output?: unknown;
  error?: { code?: string; message: string } | null;
  attempts?: number | Array<Record<string, unknown>>;
  startedAt?: number;
  finishedAt?: number;
  duration?: number;
  queueWait?: number;
  usage?: TokenUsage;
  cost?: number;
  model?: string;
  agentId?: string;
  prompt?: string;
  renderedPrompt?: string;
  input?: unknown;
  [k: string]: unknown;
}

export interface ExecutionSummary {
  executionId: string;
  workflowId: string;
  status: ExecutionStatus;
  startedAt?: number;
  finishedAt?: number;
  durationMs?: number;
  version?: number | null;
  error?: { code?: string; message: string } | null;
  startedBy?: string | null;
}

/** One task of a run as the API reports it (`taskKey` is `id` or `id#i` for loop iterations). */
export type TaskState = ServerTaskState;

/** A run as `GET /api/executions/:id` answers it. */
export type ExecutionDetail = ServerExecutionDetail;

/** The dashboard's view of a run: tasks keyed by task id (loop iterations folded in). */
export interface ExecutionRecord extends ExecutionSummary {
  input?: unknown;
  tasks: Record<string, TaskRecord>;
  usage?: TokenUsage;
  cost?: number;
  lastSeq?: number;
}

/** One numbered event from the live stream (`seq` lets a reconnecting client resume). */
export interface LiveEvent {
  seq?: number;
  type: string;
  executionId?: string;
  workflowId?: string;
  at?: number;
  payload: Record<string, unknown>;
}

export interface AgentInfo {
  id: string;
  name?: string;
  description?: string;
  model?: Record<string, unknown>;
  hasHandler?: boolean;
  pool?: {
    instances?: Array<{ instanceId: string; active: number; completed: number; failed: number; healthy: boolean }>;
    capacity?: number;
    active?: number;
    waiting?: number;
    utilisation?: number;
    meanAllocationMs?: number;
  };
  [k: string]: unknown;
}

export interface ModelInfo {
  id: string;
  provider?: string;
  capabilities?: string[];
  contextWindow?: number;
  inputPricePerMTok?: number;
  outputPricePerMTok?: number;
  local?: boolean;
  [k: string]: unknown;
}

export interface UsageTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  errors?: number;
}

export interface CostRow {
  key: string;
  cost: number;
  calls?: number;
  inputTokens?: number;
  outputTokens?: number;
}

export interface CostReport {
  currency?: string;
  total: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  byModel: CostRow[];
  byTask: CostRow[];
  byAgent: CostRow[];
  byWorkflow: CostRow[];
}

export interface ExecutionProfile {
  executionId: string;
  workflowId: string;
  status: string;
  makespanMs: number;
  tasks: Array<{
    taskId: string;
    agentId: string;
    status: string;
    queueWaitMs: number;
    runTimeMs: number;
    elapsedMs: number;
    modelLatencyMs: number;
    cost: number;
    model?: string;
    onCriticalPath: boolean;
    startedAt?: number;
    finishedAt?: number;
  }>;
  criticalPath: {
    steps: Array<{ taskId: string; startMs: number; endMs: number; durationMs: number; waitMs: number }>;
    durationMs: number;
    workMs: number;
    overheadMs: number;
  };
  parallelism?: { achievedAvg: number; possibleAvg: number; efficiency: number };
  totals: {
    queueWaitMs: number;
    runTimeMs: number;
    cost: number;
    inputTokens: number;
    outputTokens: number;
    modelCalls: number;
  };
  bottlenecks: Array<{ kind: string; subject: string; message: string }>;
}

export interface InsightItem {
  type?: string;
  title?: string;
  message?: string;
  description?: string;
  recommendation?: string;
  severity?: string;
  metric?: string;
  timestamp?: number;
  [k: string]: unknown;
}

/** A task's edit lock (`holder` is the user holding it). */
export type LockInfo = TaskLock;

// ---- debugging and approvals ------------------------------------------------------------------------------

/** Before (default) or after a task, optionally only when an expression holds. */
export type Breakpoint = EngineBreakpoint;

/** An open waitpoint (approval or `ctx.waitFor`), as the engine records it, without its decision. */
export type Waitpoint = Omit<WaitRecord, 'decision'>;

/** A run's debug state: live (running, paused, stepping) or how it ended. */
export type DebugRunState = DebugSnapshot['state'];

/** `GET /api/executions/:id/debug`: the engine's debug snapshot of a run. */
export type DebugState = DebugSnapshot;

/** `GET /api/executions/:id/debug/inspect`: what a task would run with now. */
export type InspectData = TaskInspection;

export type ApprovalItem = Waitpoint & { executionId: string; workflowId: string };

export interface WaitpointDecision {
  executionId: string;
  name: string;
  decision: 'approved' | 'rejected' | string;
  recorded: boolean;
}
