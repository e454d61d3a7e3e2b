import type { OrchestratorConfig } from '../../config.js';
import type { EventBus } from '../../events.js';
import type { StoredTaskState } from '../../store/types.js';
import type { Scope } from '../expression.js';
import type { Plan, PlannedTask } from '../types.js';
import type { RunStatus } from './types.js';

/** What the debugger needs from the scheduler (kept small so the scheduler's edits stay small). */
export interface DebugHost {
  readonly plan: Plan;
  readonly executionId: string;
  readonly workflowId: string;
  readonly bus: EventBus;
  readonly limits: OrchestratorConfig['workflow'];
  /** The status the run's header holds as it starts (a resumed run keeps `paused` / `waiting`). */
  readonly initialStatus: RunStatus;
  statusOf(i: number): string;
  scopeOf(t: PlannedTask): Scope;
  /** Ready tasks not yet started, in start order. */
  readyTasks(): number[];
  /** Queue a task again (a resolved waitpoint, a held failure); starts it when the gate allows. */
  requeue(i: number): void;
  completeWith(i: number, output: unknown): void;
  failWith(i: number, err: unknown): void;
  /** Park a task as waiting (no slot, not queued). */
  park(i: number): void;
  pump(): void;
  writeMeta(key: string, value: unknown): void;
  /** Records the run's status in its stored header (written in order, before the run's final header). */
  saveStatus(status: RunStatus): void;
  /** The run's stored records as they are now (to pick up signals other processes recorded). */
  loadStored(): Promise<Map<string, StoredTaskState> | undefined>;
}
