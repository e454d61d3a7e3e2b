import { randomUUID } from 'node:crypto';
import type { AgentInstance } from '../agents/pool.js';
import type { AgentDefinition } from '../agents/types.js';
import { CodexError, ErrorCodes, type ErrorInfo, toErrorInfo } from '../errors.js';
import { encodeOutput } from '../store/codec.js';
import { STATE_SCHEMA_VERSION } from '../store/types.js';
import { AttemptRunner } from './attempts.js';
import { createDebugger, type DebugController, hasDebugRecords, WaitSuspended } from './debug/attach.js';
import { type EngineServices, type ExecutionOptions, now } from './execution-state.js';
import { evaluate } from './expression.js';
import { Journal } from './journal.js';
import { type RunUnit, runForEach, runWhile, type UnitResult } from './loops.js';
import { buildResult, S } from './result.js';
import { publishEnd, publishStarted } from './run-events.js';

export type { EngineServices } from './execution-state.js';

import type { ExecutionResult, Plan, PlannedTask } from './types.js';

/**
 * One run of a workflow. The scheduler is a ready-queue over in-degree counts: no per-task copy of accumulated
 * state. Transitions are buffered and written to the store in one batch per microtask tick; a completed task's
 * dependents are released only after the batch holding its output is written.
 */
export class Execution extends AttemptRunner {
  private readonly opts: ExecutionOptions;
  private readonly readyQ: number[] = [];
  private readyHead = 0;
  private running = 0;
  private pumping = false;
  private outstanding = 0;
  private readonly maxConcurrency: number;
  protected readonly journal: Journal;
  private workflowTimer?: NodeJS.Timeout;
  private detach?: () => void;
  private readonly t0 = now();
  private resolve!: (r: ExecutionResult) => void;
  readonly done: Promise<ExecutionResult>;
  private readonly recordQueued: boolean;
  /** Set once the run has read its stored state (a debugger attaches after this). */
  seeded = false;
  /** Breakpoints, pins, edits and waitpoints (workflow/debug); created when a run needs them. */
  dbg?: DebugController;

  constructor(plan: Plan, svc: EngineServices, input: unknown, opts: ExecutionOptions) {
    super(plan, svc, input, opts.resumed?.header.executionId ?? opts.executionId ?? randomUUID());
    this.opts = opts;
    this.maxConcurrency = plan.def.maxConcurrency ?? svc.limits.maxConcurrency;
    this.recordQueued = svc.store.kind !== 'memory';
    this.journal = new Journal(
      svc.store,
      (released) => this.safely(() => this.settle(released)),
      (err) => this.safely(() => this.finish('failed', err)),
    );
    this.done = new Promise((r) => {
      this.resolve = r;
    });
    if (opts.debug || plan.tasks.some((t) => t.def.type === 'approval')) this.debugger();
  }

  /** The run's debug controller (created on first use: attaching a debugger to a running execution). */
  debugger(): DebugController {
    this.dbg ??= createDebugger(this, this.opts.debug);
    return this.dbg;
  }

  protected override taskOverride(i: number) {
    return this.dbg?.override(i);
  }

  waitFor(i: number, name: string, timeoutMs?: number): unknown {
    return this.debugger().waitFor(i, name, timeoutMs);
  }

  /** For workflow/debug: the scheduler steps it drives. */
  get internals() {
    return {
      plan: this.plan,
      svc: this.svc,
      state: this.state,
      readyTasks: () => this.readyQ.slice(this.readyHead),
      scope: (t: PlannedTask) => this.scope(t),
      requeue: (i: number) => {
        this.errors[i] = undefined;
        this.state[i] = S.Waiting;
        this.becomeReady(i);
        this.pump();
      },
      complete: (i: number, output: unknown) => this.complete(i, { output }),
      fail: (i: number, err: unknown) => this.fail(i, err),
      park: (i: number) => {
        this.state[i] = S.Waiting;
      },
      pump: () => this.pump(),
      meta: (key: string, bytes: Uint8Array, value: unknown) => {
        this.journal.record({
          executionId: this.executionId,
          taskKey: key,
          status: 'completed',
          attempt: 0,
          at: Date.now(),
          output: value,
          outputBytes: bytes,
        });
        this.journal.flushSoon();
      },
      extras: this.extras,
    };
  }

  async start(): Promise<ExecutionResult> {
    const { bus, store } = this.svc;
    const resumed = !!this.opts.resumed;
    const header = {
      executionId: this.executionId,
      workflowId: this.workflowId,
      status: 'running' as const,
      definition: this.plan.def,
      input: this.input,
      startedAt: resumed ? this.opts.resumed!.header.startedAt : Date.now(),
      schemaVersion: STATE_SCHEMA_VERSION,
    };
    const saved = this.opts.headerWritten ? undefined : store.saveExecution(header);
    if (saved instanceof Promise) await saved;
    // cancel() may have finished the run while the header was being written.
    if (this.finished) return this.done;
    publishStarted(bus, this.plan, this.executionId, resumed);
    const signal = this.opts.signal;
    if (signal) {
      const onAbort = () => this.cancel(String(signal.reason ?? 'aborted'));
      if (signal.aborted) {
        onAbort();
        return this.done;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      // A caller may reuse one signal for many runs: do not leave a listener per finished run on it.
      this.detach = () => signal.removeEventListener('abort', onAbort);
    }
    const wfTimeout = this.plan.def.timeoutMs;
    if (wfTimeout) {
      const err = () =>
        new CodexError(ErrorCodes.WORKFLOW_TIMEOUT, `Workflow "${this.workflowId}" timed out after ${wfTimeout} ms`);
      this.workflowTimer = setTimeout(() => this.finish('failed', err()), wfTimeout);
    }
    this.safely(() => this.seed());
    return this.done;
  }

  cancel(reason: string): void {
    this.finish('cancelled', new CodexError(ErrorCodes.CANCELLED, `Execution cancelled: ${reason}`));
  }

  /** Initial in-degrees; on resume, tasks with a recorded completion (or skip) are taken as they were. */
  private seed(): void {
    const stored = this.opts.resumed?.tasks ?? this.opts.reuse?.tasks;
    this.restore(stored);
    if (this.opts.reuse) this.recordReused();
    const reuse = this.opts.reuse;
    if (this.dbg || reuse || hasDebugRecords(stored)) this.debugger().load(stored, reuse?.parent);
    if (reuse?.edit) this.dbg!.editTask(reuse.edit.taskId, reuse.edit.change, reuse.edit.by);
    this.dbg?.start();
    this.dbg?.persist();
    this.seeded = true;
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
      this.finish('completed');
      return;
    }
    for (let i = 0; i < this.n; i++) {
      if (this.state[i] === S.Waiting && this.remaining[i] === 0 && tasks[i].fallbackFor === undefined)
        this.becomeReady(i);
    }
    this.pump();
  }

  private becomeReady(i: number): void {
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

  private pump(): void {
    // Re-entrancy guard: a synchronous handler settles inside runTask; the loop below picks up its slot.
    if (this.pumping) return;
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

  private runTask(i: number): void {
    const t = this.plan.tasks[i];
    let agent: AgentDefinition;
    let got: AgentInstance | Promise<AgentInstance>;
    try {
      agent = this.svc.agents.get(t.def.agentId);
      got = this.svc.pool.acquire(t.def.agentId);
    } catch (err) {
      this.running--;
      this.fail(i, err);
      return;
    }
    if (got instanceof Promise) {
      got.then(
        (inst) => this.safely(() => this.begin(i, agent, inst)),
        (err) => this.safely(() => this.fault(err)),
      );
    } else this.begin(i, agent, got);
  }

  /** The run's own boundary, for the scheduler's steps that belong to no single task. */
  private safely(step: () => void): void {
    try {
      step();
    } catch (err) {
      this.fault(err);
    }
  }

  protected fault(err: unknown): void {
    if (this.finished) return;
    const message = `engine fault in execution "${this.executionId}": ${(err as Error)?.message ?? String(err)}`;
    this.finish('failed', new CodexError(ErrorCodes.INTERNAL, message, { cause: err }));
  }

  private begin(i: number, agent: AgentDefinition, inst: AgentInstance): void {
    if (this.finished) return this.svc.pool.release(inst, true);
    const t = this.plan.tasks[i];
    this.state[i] = S.Running;
    this.startedAt[i] = now();
    const scope =
      t.forEach || t.whileCond || typeof t.prompt !== 'string' || t.templatedParams ? this.scope(t) : undefined;
    if (!t.forEach && !t.whileCond) {
      return this.unit(t, agent, scope, undefined, undefined, undefined, inst, undefined);
    }
    this.record(i, 'running', 1);
    const run: RunUnit = (s, item, index, iteration) => {
      const k = (index ?? iteration)!;
      const kept = this.keptItems.get(i)?.get(k);
      if (kept) return Promise.resolve(kept);
      return new Promise((res, rej) =>
        this.unit(t, agent, s, item, index, iteration, undefined, (failed, v) => {
          const err = failed ? v : this.checkpoint(i, k, v as UnitResult);
          return err === undefined ? res(v as UnitResult) : rej(err);
        }),
      );
    };
    const stopped = () => this.finished;
    const lim = this.svc.limits.expressionLimits;
    const loop = t.forEach
      ? runForEach(
          t,
          scope!,
          Math.min(this.plan.def.maxConcurrency ?? 16, agent.concurrency ?? Infinity),
          run,
          stopped,
          lim,
        )
      : runWhile(t, scope!, run, stopped, lim);
    loop.then(
      (r) =>
        this.safely(() => {
          this.extras.set(i, { ...this.extras.get(i), iterations: r.iterations });
          this.taskDone(i, inst, false, r);
        }),
      (err) => this.safely(() => this.taskDone(i, inst, true, err)),
    );
  }

  /** Records a finished loop item under `id#k` (written on the next tick); an unstorable output fails the item. */
  private checkpoint(i: number, k: number, r: UnitResult): unknown {
    let outputBytes: Uint8Array | undefined;
    try {
      outputBytes = encodeOutput(r.output, `output of item ${k} of task "${this.taskIds[i]}"`);
    } catch (err) {
      return err;
    }
    const { output, usage, cost } = r;
    this.record(i, 'completed', 1, { taskKey: this.itemKey(i, k), output, outputBytes, usage, cost });
    this.journal.flushSoon();
    return undefined;
  }

  /** A task's body settled (after retries): free its agent slot, record the outcome, start what is ready. */
  protected taskDone(i: number, inst: AgentInstance, failed: boolean, v: unknown): void {
    // An abandoned handler of this task that is still running keeps the agent instance until it settles.
    const suspended = failed && v instanceof WaitSuspended;
    this.abandoned.whenQuiet(i, () => this.svc.pool.release(inst, !failed || suspended));
    if (this.finished) return;
    this.running--;
    if (suspended) this.dbg?.handlerSuspended(i, (v as WaitSuspended).waitName);
    else if (failed) this.fail(i, v);
    else this.complete(i, v as UnitResult);
    this.pump();
  }

  /** One invocation (the task itself, or one loop item / iteration) with its retries; reports through `done`. */
  private complete(i: number, r: UnitResult): void {
    // Encoded once, here, for every store (store/codec.ts): a value that cannot be stored fails this task.
    let outputBytes: Uint8Array | undefined;
    try {
      outputBytes = encodeOutput(r.output, `output of task "${this.taskIds[i]}"`);
    } catch (err) {
      return this.fail(i, err);
    }
    this.state[i] = S.Done;
    this.setOutput(i, r.output);
    this.finishedAt[i] ||= now();
    if (r.usage || r.cost !== undefined || r.model)
      this.extras.set(i, { ...this.extras.get(i), usage: r.usage, cost: r.cost, model: r.model });
    this.record(i, 'completed', this.attempts[i], { output: r.output, outputBytes, usage: r.usage, cost: r.cost });
    this.journal.release(i);
  }

  private fail(i: number, err: unknown): void {
    const t = this.plan.tasks[i];
    const error = toErrorInfo(err);
    this.state[i] = S.Failed;
    this.errors[i] = error;
    this.finishedAt[i] = now();
    // A spent budget stops the whole run whatever the task's onError says: carrying on would spend more.
    const handled = t.onError !== 'fail' && error.code !== ErrorCodes.BUDGET_EXCEEDED;
    this.record(i, 'failed', this.attempts[i], { error });
    if (this.svc.bus.wants('task:failed')) {
      this.svc.bus.publish(
        'task:failed',
        Object.assign(this.ref(i), {
          duration: this.finishedAt[i] - (this.startedAt[i] || this.finishedAt[i]),
          attempts: this.attempts[i],
          error,
          handled,
        }),
      );
    }
    if (handled && t.onError === 'continue') {
      // A failed-but-continued task counts as settled for its dependents; they run and see no output.
      this.journal.release(i);
      return;
    }
    if (handled && t.fallback !== undefined) {
      const f = t.fallback;
      if (this.state[f] === S.Done) {
        this.setOutput(i, this.outputs[f]);
        this.journal.release(i);
      } else {
        this.outstanding++;
        this.becomeReady(f);
        this.pump();
      }
      return;
    }
    if (this.dbg?.onFailure(i)) return;
    const wrapped = new CodexError(
      ErrorCodes.TASK_FAILED,
      `task "${t.id}" failed after ${this.attempts[i]} attempt(s): ${error.message}`,
      { cause: err },
    );
    this.finish('failed', wrapped, error);
  }

  private skip(i: number, reason: string): void {
    this.state[i] = S.Skipped;
    this.skipReasons.set(i, reason);
    this.record(i, 'skipped', 0);
    if (this.svc.bus.wants('task:skipped'))
      this.svc.bus.publish('task:skipped', Object.assign(this.ref(i), { reason }));
    this.journal.release(i);
  }

  private settle(released: number[]): void {
    if (this.finished) return;
    const { tasks } = this.plan;
    const bus = this.svc.bus;
    const emitDone = bus.wants('task:completed');
    for (const i of released) {
      const t = tasks[i];
      const s = this.state[i];
      if (s === S.Done && emitDone) {
        const x = this.extras.get(i);
        bus.publish('task:completed', {
          executionId: this.executionId,
          workflowId: this.workflowId,
          taskId: t.id,
          agentId: t.def.agentId,
          timestamp: Date.now(),
          duration: this.finishedAt[i] - this.startedAt[i],
          attempts: this.attempts[i],
          output: this.outputs[i],
          usage: x?.usage,
          cost: x?.cost,
          model: x?.model,
          cached: x?.cached,
        });
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
    if (this.outstanding === 0) return this.finish('completed');
    this.dbg?.settled(released);
    this.pump();
  }

  /** A re-run's reused outputs are written as its own, so it stands alone (and resumes) like any run. */
  private recordReused(): void {
    for (let i = 0; i < this.n; i++)
      if (this.state[i] === S.Done) this.record(i, 'completed', this.attempts[i], { output: this.outputs[i] });
  }

  private finish(status: ExecutionResult['status'], err?: CodexError, cause?: ErrorInfo): void {
    if (this.finished) return;
    this.finished = true;
    if (this.workflowTimer) clearTimeout(this.workflowTimer);
    this.dbg?.dispose();
    this.detach?.();
    const inFlight = this.inFlight();
    this.deadlines.dispose();
    for (const st of inFlight) this.abortAttempt(st, err ?? new CodexError(ErrorCodes.CANCELLED, 'execution finished'));
    const finishedAt = Date.now();
    const error = err
      ? {
          code:
            cause?.code === ErrorCodes.TASK_TIMEOUT || cause?.code === ErrorCodes.BUDGET_EXCEEDED
              ? cause.code
              : err.code,
          message: err.message,
        }
      : undefined;
    const result = this.result(status, finishedAt, error);
    const { store, bus } = this.svc;
    const persist = async (): Promise<void> => {
      await this.journal.drain();
      await store.saveExecution({
        executionId: this.executionId,
        workflowId: this.workflowId,
        status,
        definition: this.plan.def,
        input: this.input,
        startedAt: result.startedAt,
        finishedAt,
        error,
        schemaVersion: STATE_SCHEMA_VERSION,
      });
    };
    const emit = (): void => {
      publishEnd(bus, result);
      this.resolve(result);
    };

    persist().then(emit, (e) => {
      result.status = 'failed';
      // Keep the first store error (the one that ended the run) rather than the follow-up failure to save.
      if (result.error?.code !== ErrorCodes.STORE) {
        result.error = { code: ErrorCodes.STORE, message: `state store write failed: ${(e as Error).message}` };
      }
      emit();
    });
  }

  private result(status: ExecutionResult['status'], finishedAt: number, error?: ErrorInfo): ExecutionResult {
    return buildResult(this.plan, this.snapshot(), {
      executionId: this.executionId,
      workflowId: this.workflowId,
      input: this.input,
      status,
      startedAt: this.opts.resumed?.header.startedAt ?? this.t0,
      finishedAt,
      error,
      resumed: !!this.opts.resumed,
    });
  }
}
