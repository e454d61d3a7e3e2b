// Debugging and waiting: the shapes the engine, the store records and the API share.

/** Whether a breakpoint holds before its task starts or after it finishes. */
export type BreakpointWhen = 'before' | 'after';

/** Where a run pauses: a task, before or after it, optionally only when a condition holds. */
export interface Breakpoint {
  taskId: string;
  /** Before the task starts (default) or after it finishes. */
  when?: BreakpointWhen;
  /** Safe expression (the workflow expression language); the breakpoint holds only when it is truthy. */
  condition?: string;
}

/** `executeWorkflow(def, { debug })`: breakpoints and pause-on-failure for one run. */
export interface DebugOptions {
  breakpoints?: Breakpoint[];
  /** A failure that would end the run pauses it instead: pin the task's output or edit it, then step/continue. */
  pauseOnFailure?: boolean;
}

/** Why a run paused. */
export type PauseReason = 'breakpoint' | 'step' | 'manual' | 'failure';

/** Where and why a run is paused (recorded in the store, so it stays paused across a restart). */
export interface PausedAt {
  at: number;
  reason: PauseReason;
  taskId?: string;
  when?: BreakpointWhen;
  by?: string;
}

/** One change made through the debugger, kept on the execution. */
export interface EditRecord {
  at: number;
  by?: string;
  kind: 'input' | 'prompt' | 'pin' | 'breakpoints';
  taskId?: string;
  old: unknown;
  new: unknown;
}

/** A debugger's edit of a task for one run: input merged over the definition's, and/or a new prompt. */
export interface TaskOverride {
  input?: Record<string, unknown>;
  prompt?: string;
}

/** The debug record of an execution, stored under the `$debug` key of its transitions. */
export interface DebugRecord {
  v: 1;
  breakpoints: Breakpoint[];
  pauseOnFailure: boolean;
  paused: PausedAt | null;
  /** Tasks whose before-breakpoint was already hit (stepping past it does not hit it again). */
  passed: string[];
  edits: EditRecord[];
  overrides: Record<string, TaskOverride>;
  pins: Record<string, unknown>;
  parent?: { executionId: string; fromTaskId: string };
}

/** An approval task, or a handler's `ctx.waitFor`. */
export type WaitKind = 'approval' | 'waitFor';

/** What resolved a waitpoint: a signal's payload (an approval decision), or its timeout. */
export interface WaitDecision {
  payload: unknown;
  at: number;
  by?: string;
  timedOut?: boolean;
}

/** One waitpoint, stored under `$wait:<name>`. */
export interface WaitRecord {
  name: string;
  taskId: string;
  kind: WaitKind;
  since: number;
  prompt?: string;
  roles?: string[];
  timeoutAt?: number;
  onTimeout?: 'approve' | 'reject' | 'fail';
  decision?: WaitDecision;
}

/** What the debugger shows for a task that has not run yet. */
export interface TaskInspection {
  taskId: string;
  agentId: string;
  status: string;
  prompt: string;
  input: Record<string, unknown>;
  upstream: Record<string, unknown>;
  edited: boolean;
  pinned: boolean;
  pinnedOutput?: unknown;
  model?: { id: string; provider: string; reason: string };
  estimatedCostUsd?: number;
}

/** A run's debug state: running, paused, or running one step while live; how it ended once finished. */
export type DebugRunState = 'running' | 'paused' | 'stepping' | 'completed' | 'failed' | 'cancelled';

/** `orchestrator.debugger.state(id)`: a run's debug state, edits, next tasks and open waitpoints. */
export interface DebugSnapshot {
  executionId: string;
  state: DebugRunState;
  paused: PausedAt | null;
  breakpoints: Breakpoint[];
  pauseOnFailure: boolean;
  edits: EditRecord[];
  pins: string[];
  /** Tasks ready to start (the next a step would run). */
  next: string[];
  waiting: WaitRecord[];
  parent?: { executionId: string; fromTaskId: string };
}

/** The status a live run's debugger keeps in its stored header. */
export type RunStatus = 'running' | 'paused' | 'waiting';

/** A signal another process recorded for a run (`$signal:<name>`); the run's driver applies it once. */
export interface SignalRecord {
  name: string;
  payload: unknown;
  at: number;
  by?: string;
}

/** One entry of the approvals inbox: an open waitpoint and the run it belongs to. */
export interface WaitingItem extends WaitRecord {
  executionId: string;
  workflowId: string;
}

/** The payload an approve/reject signal carries (the approval task's output when approved). */
export interface ApprovalDecision {
  approved: boolean;
  by?: string;
  comment?: string;
}
