import type { CodexError, ErrorInfo } from '../errors.js';
import { AttemptRunner } from './attempts.js';
import type { DebugController } from './debug/attach.js';
import type { EngineServices } from './execution-state.js';
import { now } from './execution-state.js';
import { evaluate } from './expression.js';
import { S } from './result.js';
import { publishTaskCompleted } from './run-events.js';
import type { ExecutionResult, Plan } from './types.js';

/**
 * The scheduler of a run: a ready-queue over in-degree counts, with no per-task copy of accumulated state. A
 * task's dependents are counted down only once the batch holding its outcome is written (`settle`).
 */
export abstract class Scheduler extends AttemptRunner {
  protected readonly readyQ: number[] = [];
  protected readyHead = 0;
  protected running = 0;
  private pumping = false;
  protected outstanding = 0;
  private readonly maxConcurrency: number;
  private readonly recordQueued: boolean;
  /** Breakpoints, pins, edits and waitpoints (workflow/debug); created when a run needs them. */
  dbg?: DebugController;

  constructor(plan: Plan, svc: EngineServices, input: unknown, executionId: string) {
    super(plan, svc, input, executionId);
    this.maxConcurrency = plan.def.maxConcurrency ?? svc.limits.maxConcurrency;
    this.recordQueued = svc.store.kind !== 'memory';
  }

  protected abstract runTask(i: number): void;
  protected abstract fail(i: number, err: unknown): void;
  protected abstract skip(i: number, reason: string): void;
  protected abstract finish(status: ExecutionResult['status'], err?: CodexError, cause?: ErrorInfo): void;

  /** True when settling `released` (a batch about to be written) ends the run: nothing else is outstanding. */
  protected endsWith(released: number[]): boolean {
    // A debugger may hold the run open after the last task (pause on failure, waitpoints): not a final batch.
    if (this.finished || this.dbg) return false;
    let left = this.outstanding;
    for (const i of released) left -= this.plan.tasks[i].fallbackFor === undefined ? 1 : 2;
    return left === 0;
  }

  /** Initial in-degrees of the tasks still to run (resumed or reused ones are already settled), then the roots. */
  protected startReady(): void {
    const { tasks } = this.plan;
    for (let i = 0; i < this.n; i++) {
      const t = tasks[i];
      if (this.state[i] !== S.Waiting) continue;
      // Fallback-only tasks get their counts too (they may be called on later), but are not outstanding work.
      if (t.fallbackFor === undefined) this.outstanding++;
      let rem = 0;
      let live = 0;
      for (const d of t.deps) {
        const s = this.state[d];
        if (s === S.Done) live++;
        else if (s !== S.Skipped) rem++;
      }
      this.remaining[i] = rem;
      this.liveDeps[i] = live;
    }
    if (this.outstanding === 0) {
      // A run resumed while paused after its last task stays paused: continue or step ends it (pump).
      if (!this.dbg?.isPaused()) this.finish('completed');
      return;
    }
    for (let i = 0; i < this.n; i++) {
      if (this.state[i] === S.Waiting && this.remaining[i] === 0 && tasks[i].fallbackFor === undefined)
        this.becomeReady(i);
    }
    this.pump();
  }

  protected becomeReady(i: number): void {
    const t = this.plan.tasks[i];
    if (t.deps.length > 0 && this.liveDeps[i] === 0) return this.skip(i, 'all dependencies were skipped');
    if (t.when) {
      let ok: unknown;
      try {
        ok = evaluate(t.when, this.scope(t), this.svc.limits.expressionLimits);
      } catch (err) {
        return this.fail(i, err);
      }
      if (!ok) return this.skip(i, `condition is false: ${t.def.when}`);
    }
    this.state[i] = S.Queued;
    this.readyAt[i] = now();
    if (this.recordQueued) this.record(i, 'queued', 0);
    if (this.svc.bus.wants('task:queued')) this.svc.bus.publish('task:queued', this.ref(i));
    this.readyQ.push(i);
  }

  protected pump(): void {
    // Re-entrancy guard: a synchronous handler settles inside runTask; the loop below picks up its slot.
    if (this.pumping) return;
    if (this.outstanding === 0 && !this.finished) {
      // Paused after the last task (an after-breakpoint): continue or step comes back here and ends the run.
      if (!this.dbg?.isPaused()) this.finish('completed');
      return;
    }
    this.pumping = true;
    try {
      while (this.running < this.maxConcurrency && this.readyHead < this.readyQ.length && !this.finished) {
        const i = this.readyQ[this.readyHead];
        const dbg = this.dbg;
        if (dbg && !dbg.admit(i)) break;
        this.readyHead++;
        if (dbg?.intercept(i)) continue;
        this.running++;
        this.runTask(i);
      }
    } finally {
      this.pumping = false;
    }
    if (this.readyHead > 4096 && this.readyHead === this.readyQ.length) {
      this.readyQ.length = 0;
      this.readyHead = 0;
    }
  }

  protected settle(released: number[]): void {
    if (this.finished) return;
    const { tasks } = this.plan;
    const bus = this.svc.bus;
    const emitDone = bus.wants('task:completed');
    for (const i of released) {
      const t = tasks[i];
      const s = this.state[i];
      if (s === S.Done && emitDone) {
        const duration = this.finishedAt[i] - this.startedAt[i];
        const { executionId, workflowId } = this;
        publishTaskCompleted(
          bus,
          executionId,
          workflowId,
          t,
          duration,
          this.attempts[i],
          this.outputs[i],
          this.extras.get(i),
        );
      }
      let target = i;
      if (t.fallbackFor !== undefined) {
        // The fallback's output stands in for the task that failed; both now count as settled.
        target = t.fallbackFor;
        this.setOutput(target, this.outputs[i]);
        this.outstanding--;
      }
      const live = s === S.Done || s === S.Failed;
      for (const d of tasks[target].dependents) {
        if (live) this.liveDeps[d]++;
        if (--this.remaining[d] === 0 && this.state[d] === S.Waiting && tasks[d].fallbackFor === undefined) {
          this.becomeReady(d);
        }
      }
      this.outstanding--;
    }
    // An after-breakpoint on the last task holds the run's end until continue or step (pump finishes it).
    if (this.outstanding === 0 && !this.dbg?.holdsEnd(released)) return this.finish('completed');
    this.dbg?.settled(released);
    this.pump();
  }
}
