import { CodexError, ErrorCodes } from '../../errors.js';
import type { DebugHost } from './host.js';
import type { BreakpointWhen, DebugRecord, DebugRunState, PauseReason } from './types.js';

/** A typed 409-style refusal: step/continue on a run that is not paused, naming the state it is in. */
export function notPaused(executionId: string, state: string): CodexError {
  const e = new CodexError(ErrorCodes.NOT_PAUSED, `execution "${executionId}" is not paused (it is ${state})`, {
    issues: [{ message: `state: ${state}` }],
  });
  (e as CodexError & { state?: string }).state = state;
  return e;
}

/**
 * The pause/step state machine of one run: running → paused (a breakpoint, a failure, a step's end, a person) →
 * running or stepping → paused. A step admits exactly the tasks that were ready when it began; once they have
 * all left (settled, parked or held) the run pauses again.
 */
export class Stepper {
  private stepping = false;
  private budget = 0;
  private readonly inStep = new Set<number>();

  constructor(
    private readonly host: DebugHost,
    private readonly rec: DebugRecord,
    private readonly changed: () => void,
  ) {}

  get state(): DebugRunState {
    return this.rec.paused ? 'paused' : this.stepping ? 'stepping' : 'running';
  }

  /** May ready task `i` start under the current step? Counts it against the step. */
  admit(i: number): boolean {
    if (!this.stepping) return true;
    if (this.budget <= 0) {
      if (this.inStep.size === 0) this.pause('step');
      return false;
    }
    this.budget--;
    this.inStep.add(i);
    return true;
  }

  /** Task `i` left the step (settled, parked on a waitpoint, or held after a failure). */
  left(i: number): void {
    this.inStep.delete(i);
  }

  /** Pauses once every task the step admitted has left it. */
  endStepIfDone(): void {
    if (this.stepping && this.budget <= 0 && this.inStep.size === 0 && !this.rec.paused) this.pause('step');
  }

  pause(reason: PauseReason, taskId?: string, when?: BreakpointWhen, by?: string): void {
    this.stepping = false;
    this.budget = 0;
    if (this.rec.paused) return;
    this.rec.paused = { at: Date.now(), reason, taskId, when, by };
    this.changed();
    this.host.bus.publish('execution:paused', {
      executionId: this.host.executionId,
      workflowId: this.host.workflowId,
      timestamp: Date.now(),
      reason,
      taskId,
      when,
    });
  }

  /** Leaves the pause (a step or a continue); refuses with NOT_PAUSED naming the state when not paused. */
  resume(by: string | undefined, step: boolean): void {
    if (!this.rec.paused) throw notPaused(this.host.executionId, this.state);
    const from = this.rec.paused;
    this.rec.paused = null;
    this.stepping = step;
    this.inStep.clear();
    this.changed();
    this.host.bus.publish('execution:resumed', {
      executionId: this.host.executionId,
      workflowId: this.host.workflowId,
      timestamp: Date.now(),
      by,
      step,
      from,
    });
  }

  /** A step runs exactly the tasks ready now (at least one). */
  beginStep(): void {
    if (this.stepping) this.budget = Math.max(1, this.host.readyTasks().length);
  }
}
