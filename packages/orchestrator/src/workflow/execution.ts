import { randomUUID } from 'node:crypto';
import type { AgentInstance } from '../agents/pool.js';
import type { AgentDefinition } from '../agents/types.js';
import { CodexError, ErrorCodes, type ErrorInfo, toErrorInfo } from '../errors.js';
import { encodeOutput } from '../store/codec.js';
import { createDebugger, type DebugController, hasDebugRecords, WaitSuspended } from './debug/attach.js';
import type { RunStatus } from './debug/types.js';
import { type EngineServices, type ExecutionOptions, now } from './execution-state.js';
import { Journal } from './journal.js';
import { runLoopTask } from './loop-task.js';
import type { UnitResult } from './loops.js';
import { buildResult, S } from './result.js';
import { applyReuseEdit, reusedTransitions, startingStates } from './reuse.js';
import { endError, persistEnd, runHeader } from './run-end.js';
import { publishStarted } from './run-events.js';
import { armRunLimits } from './run-limits.js';
import { Scheduler } from './scheduler.js';

export type { EngineServices } from './execution-state.js';

import type { ExecutionResult, Plan, PlannedTask } from './types.js';

/**
 * One run of a workflow. The scheduler is a ready-queue over in-degree counts: no per-task copy of accumulated
 * state. Transitions are buffered and written to the store in one batch per microtask tick; a completed task's
 * dependents are released only after the batch holding its output is written.
 */
export class Execution extends Scheduler {
  private readonly opts: ExecutionOptions;
  protected readonly journal: Journal;
  private detach?: () => void;
  private readonly t0 = now();
  private resolve!: (r: ExecutionResult) => void;
  readonly done: Promise<ExecutionResult>;
  /** Set once the run has read its stored state (a debugger attaches after this). */
  seeded = false;
  /** Status writes of the debugger (paused / waiting / running), in order; the final header waits for them. */
  private headerWrite: Promise<void> = Promise.resolve();

  constructor(plan: Plan, svc: EngineServices, input: unknown, opts: ExecutionOptions) {
    super(plan, svc, input, opts.resumed?.header.executionId ?? opts.executionId ?? randomUUID());
    this.opts = opts;
    this.journal = new Journal(
      svc.store,
      (released) => this.safely(() => this.settle(released)),
      (err) => this.safely(() => this.finish('failed', err)),
      svc.store.endExecution ? (released) => this.endsWith(released) : undefined,
    );
    this.done = new Promise((r) => {
      this.resolve = r;
    });
    if (opts.debug || plan.tasks.some((t) => t.def.type === 'approval')) this.debugger();
  }

  /** This process resumed the run (a remote queue then checks for attempts that ran before). */
  get resumed(): boolean {
    return this.opts.resumed !== undefined;
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
      initialStatus: this.startStatus(),
      saveStatus: (status: RunStatus) => this.saveStatus(status),
    };
  }

  /** A resumed run keeps the paused / waiting status it was stored with (its debugger then keeps it current). */
  private startStatus(): RunStatus {
    const s = this.opts.resumed?.header.status;
    return s === 'paused' || s === 'waiting' ? s : 'running';
  }

  private saveStatus(status: RunStatus): void {
    if (this.finished) return;
    const startedAt = this.opts.resumed?.header.startedAt ?? this.t0;
    const header = runHeader(this.plan, this.executionId, this.input, this.opts.inputBytes, status, startedAt);
    this.headerWrite = this.headerWrite
      .then(() => this.svc.store.saveExecution(header))
      .then(undefined, (e) =>
        this.safely(() =>
          this.finish(
            'failed',
            new CodexError(ErrorCodes.STORE, `state store write failed: ${(e as Error)?.message ?? String(e)}`),
          ),
        ),
      );
  }

  async start(): Promise<ExecutionResult> {
    const { bus, store } = this.svc;
    const resumed = !!this.opts.resumed;
    const startedAt = resumed ? this.opts.resumed!.header.startedAt : Date.now();
    const header = runHeader(
      this.plan,
      this.executionId,
      this.input,
      this.opts.inputBytes,
      this.startStatus(),
      startedAt,
    );
    const saved = this.opts.headerWritten ? undefined : store.saveExecution(header);
    if (saved instanceof Promise) await saved;
    // cancel() may have finished the run while the header was being written.
    if (this.finished) return this.done;
    publishStarted(bus, this.plan, this.executionId, resumed);
    this.detach = armRunLimits(
      this.opts.signal,
      this.plan.def.timeoutMs,
      (reason) => this.cancel(reason),
      (err) => this.finish('failed', err),
      this.workflowId,
    );
    if (this.finished) return this.done;
    this.safely(() => this.seed());
    return this.done;
  }

  cancel(reason: string): void {
    this.finish('cancelled', new CodexError(ErrorCodes.CANCELLED, `Execution cancelled: ${reason}`));
  }

  /** Initial in-degrees; on resume, tasks with a recorded completion (or skip) are taken as they were. */
  private seed(): void {
    const stored = startingStates(this.opts);
    this.restore(stored);
    const reuse = this.opts.reuse;
    if (reuse) {
      for (const tr of reusedTransitions(this.executionId, this.taskIds, this.state, this.attempts, this.outputs))
        this.journal.record(tr);
    }
    if (this.dbg || reuse || hasDebugRecords(stored)) this.debugger().load(stored, reuse?.parent);
    applyReuseEdit(this.dbg, reuse);
    this.dbg?.start();
    this.dbg?.persist();
    this.seeded = true;
    this.startReady();
  }

  protected runTask(i: number): void {
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
    const loop = runLoopTask({
      t,
      scope: scope!,
      width: Math.min(this.plan.def.maxConcurrency ?? 16, agent.concurrency ?? Infinity),
      limits: this.svc.limits.expressionLimits,
      kept: this.keptItems.get(i),
      start: (s, item, index, iteration, done) => this.unit(t, agent, s, item, index, iteration, undefined, done),
      checkpoint: (k, r) => this.checkpoint(i, k, r),
      stopped: () => this.finished,
    });
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
    if (this.abandoned.quiet(i)) this.svc.pool.release(inst, !failed || suspended);
    else this.abandoned.whenQuiet(i, () => this.svc.pool.release(inst, !failed || suspended));
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

  protected fail(i: number, err: unknown): void {
    const t = this.plan.tasks[i];
    const error = toErrorInfo(err);
    this.state[i] = S.Failed;
    this.errors[i] = error;
    this.finishedAt[i] = now();
    // A spent budget stops the whole run whatever the task's onError says: carrying on would spend more.
    const handled = t.onError !== 'fail' && error.code !== ErrorCodes.BUDGET_EXCEEDED;
    this.record(i, 'failed', this.attempts[i], { error });
    if (this.svc.bus.wants('task:failed')) {
      const duration = this.finishedAt[i] - (this.startedAt[i] || this.finishedAt[i]);
      this.svc.bus.publish(
        'task:failed',
        Object.assign(this.ref(i), { duration, attempts: this.attempts[i], error, handled }),
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

  protected skip(i: number, reason: string): void {
    this.state[i] = S.Skipped;
    this.skipReasons.set(i, reason);
    this.record(i, 'skipped', 0);
    if (this.svc.bus.wants('task:skipped'))
      this.svc.bus.publish('task:skipped', Object.assign(this.ref(i), { reason }));
    this.journal.release(i);
  }

  protected finish(status: ExecutionResult['status'], err?: CodexError, cause?: ErrorInfo): void {
    if (this.finished) return;
    this.finished = true;
    this.dbg?.dispose();
    this.detach?.();
    const inFlight = this.inFlight();
    this.deadlines.dispose();
    for (const st of inFlight) this.abortAttempt(st, err ?? new CodexError(ErrorCodes.CANCELLED, 'execution finished'));
    const finishedAt = Date.now();
    const error = endError(err, cause);
    const result = this.result(status, finishedAt, error);
    const header = runHeader(this.plan, this.executionId, this.input, this.opts.inputBytes, status, result.startedAt, {
      finishedAt,
      error,
    });
    // The debugger's status writes land before the final header.
    const end = () =>
      persistEnd(this.journal, this.svc.store, this.svc.bus, header, result, this.resolve, this.opts.lease);
    this.headerWrite.then(end, end);
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
