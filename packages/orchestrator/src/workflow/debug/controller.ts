import type { OrchestratorConfig } from '../../config.js';
import { CodexError, ErrorCodes } from '../../errors.js';
import type { EventBus } from '../../events.js';
import { encodeValue } from '../../store/codec.js';
import type { StoredTaskState } from '../../store/types.js';
import { type Expr, evaluate, parseExpression, type Scope } from '../expression.js';
import type { Plan, PlannedTask } from '../types.js';
import type {
  Breakpoint,
  DebugOptions,
  DebugRecord,
  DebugRunState,
  DebugSnapshot,
  EditRecord,
  PauseReason,
  TaskOverride,
  WaitDecision,
  WaitRecord,
} from './types.js';
import { Waits } from './waits.js';

/** Store key of a run's debug record (breakpoints, pause, edits, pins). */
export const DEBUG_KEY = '$debug';
/** Store key prefix of a run's waitpoint records (`$wait:<name>`). */
export const WAIT_PREFIX = '$wait:';
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/;

/** Thrown by `ctx.waitFor` when no decision is recorded yet: the attempt ends and the task waits, slot freed. */
export class WaitSuspended extends CodexError {
  constructor(readonly waitName: string) {
    super(ErrorCodes.WAITING, `waiting for signal "${waitName}"`, { retryable: false });
  }
}

/** What the controller needs from the scheduler (kept small so the scheduler's edits stay small). */
export interface DebugHost {
  readonly plan: Plan;
  readonly executionId: string;
  readonly workflowId: string;
  readonly bus: EventBus;
  readonly limits: OrchestratorConfig['workflow'];
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
}

function notPaused(executionId: string, state: string): CodexError {
  const e = new CodexError(ErrorCodes.NOT_PAUSED, `execution "${executionId}" is not paused (it is ${state})`, {
    issues: [{ message: `state: ${state}` }],
  });
  (e as CodexError & { state?: string }).state = state;
  return e;
}

/**
 * Breakpoints, pause/step/continue, edits, pins and waitpoints of one execution. Every change is written to the
 * store (the `$debug` and `$wait:<name>` records): a paused or waiting run survives a restart as it was.
 */
export class DebugController {
  private rec: DebugRecord;
  private readonly conds = new Map<Breakpoint, Expr>();
  private stepping = false;
  private stepBudget = 0;
  private readonly stepSet = new Set<number>();
  private readonly heldFailures: number[] = [];
  /** Tasks parked by a waitpoint or a held failure (not queued, no slot); a decision queues them again. */
  private readonly parked = new Set<number>();
  /** Handlers that were waiting when the run was stored: parked again on resume without running them. */
  private readonly loadedWaits = new Map<string, WaitRecord>();
  readonly waits: Waits;

  constructor(
    private readonly host: DebugHost,
    opts: DebugOptions | undefined,
  ) {
    this.rec = {
      v: 1,
      breakpoints: [],
      pauseOnFailure: !!opts?.pauseOnFailure,
      paused: null,
      passed: [],
      edits: [],
      overrides: {},
      pins: {},
    };
    if (opts?.breakpoints) this.rec.breakpoints = this.validate(opts.breakpoints);
    this.waits = new Waits((w) => this.expire(w));
  }

  /** Checks breakpoints against the plan (unknown task, bad condition): a typed error, nothing changes. */
  validate(bps: Breakpoint[]): Breakpoint[] {
    const out: Breakpoint[] = [];
    for (const b of bps) {
      if (!b || typeof b.taskId !== 'string' || !this.host.plan.byId.has(b.taskId))
        throw new CodexError(ErrorCodes.DEBUG_INVALID, `breakpoint on unknown task "${String(b?.taskId)}"`, {
          issues: [{ taskId: String(b?.taskId), message: 'unknown task' }],
        });
      if (b.when !== undefined && b.when !== 'before' && b.when !== 'after')
        throw new CodexError(ErrorCodes.DEBUG_INVALID, `breakpoint "when" must be before or after`);
      const bp: Breakpoint = { taskId: b.taskId, when: b.when ?? 'before' };
      if (b.condition !== undefined) {
        try {
          this.conds.set(bp, parseExpression(String(b.condition), this.host.limits.expressionLimits));
        } catch (err) {
          throw new CodexError(ErrorCodes.DEBUG_INVALID, `breakpoint condition: ${(err as Error).message}`, {
            cause: err,
          });
        }
        bp.condition = String(b.condition);
      }
      out.push(bp);
    }
    return out;
  }

  /** Takes the stored records on resume (and the reused state of a re-run). */
  load(stored: Map<string, StoredTaskState> | undefined, parent?: DebugRecord['parent']): void {
    if (parent) this.rec.parent = parent;
    if (!stored) return;
    const d = stored.get(DEBUG_KEY)?.output as DebugRecord | undefined;
    if (d && d.v === 1 && !parent) {
      this.rec = d;
      this.conds.clear();
      this.rec.breakpoints = this.validate(d.breakpoints);
    }
    for (const [k, s] of stored) {
      if (!k.startsWith(WAIT_PREFIX) || parent) continue;
      const w = s.output as WaitRecord;
      if (!w?.name) continue;
      this.waits.set(w);
      if (w.kind === 'waitFor' && !w.decision) this.loadedWaits.set(w.taskId, w);
    }
  }

  persist(): void {
    this.host.writeMeta(DEBUG_KEY, this.rec);
  }

  get record(): DebugRecord {
    return this.rec;
  }

  get runState(): DebugRunState {
    return this.rec.paused ? 'paused' : this.stepping ? 'stepping' : 'running';
  }

  snapshot(): DebugSnapshot {
    return {
      executionId: this.host.executionId,
      state: this.runState,
      paused: this.rec.paused,
      breakpoints: this.rec.breakpoints,
      pauseOnFailure: this.rec.pauseOnFailure,
      edits: this.rec.edits,
      pins: Object.keys(this.rec.pins),
      next: this.host.readyTasks().map((i) => this.host.plan.tasks[i].id),
      waiting: this.waits.pending(),
      parent: this.rec.parent,
    };
  }

  // ---- the scheduler's gate ----

  /** May ready task `i` start now? A before-breakpoint or a pause holds it (and the queue behind it). */
  admit(i: number): boolean {
    if (this.rec.paused) return false;
    const t = this.host.plan.tasks[i];
    if (!this.rec.passed.includes(t.id) && this.hits(t, 'before')) {
      this.rec.passed.push(t.id);
      this.pause('breakpoint', t.id, 'before');
      return false;
    }
    if (this.stepping) {
      if (this.stepBudget <= 0) {
        if (this.stepSet.size === 0) this.pause('step');
        return false;
      }
      this.stepBudget--;
      this.stepSet.add(i);
    }
    return true;
  }

  /** Pinned tasks and approval tasks are settled here without an agent slot; answers true when it took `i`. */
  intercept(i: number): boolean {
    const t = this.host.plan.tasks[i];
    if (Object.hasOwn(this.rec.pins, t.id)) {
      this.host.completeWith(i, this.rec.pins[t.id]);
      return true;
    }
    const lw = this.loadedWaits.get(t.id);
    if (lw) {
      if (!lw.decision) {
        this.parkTask(i);
        this.stepSet.delete(i);
        this.announce(i, lw);
        return true;
      }
      this.loadedWaits.delete(t.id);
    }
    if (t.def.type !== 'approval') return false;
    const w = this.waits.get(t.id);
    if (w?.decision) {
      const p = w.decision.payload as { approved?: boolean; comment?: string } | undefined;
      if (w.decision.timedOut && w.onTimeout !== 'approve' && w.onTimeout !== 'reject') {
        this.host.failWith(i, new CodexError(ErrorCodes.WAIT_TIMEOUT, `approval "${t.id}" timed out`));
      } else if (p?.approved) {
        this.host.completeWith(i, { approved: true, by: w.decision.by, comment: p.comment, at: w.decision.at });
      } else {
        const why = p?.comment ? `: ${p.comment}` : '';
        this.host.failWith(i, new CodexError(ErrorCodes.APPROVAL_REJECTED, `approval "${t.id}" was rejected${why}`));
      }
      return true;
    }
    const a = t.def.approval;
    this.suspend(i, t.id, 'approval', {
      prompt: a?.prompt,
      roles: a?.roles,
      timeoutMs: a?.timeoutMs,
      onTimeout: a?.onTimeout,
    });
    return true;
  }

  /** Tasks released by the journal (settled). Checks after-breakpoints; ends a step once its tasks are done. */
  settled(released: number[]): void {
    for (const i of released) {
      this.stepSet.delete(i);
      const t = this.host.plan.tasks[i];
      if (!this.rec.paused && this.hits(t, 'after')) this.pause('breakpoint', t.id, 'after');
    }
    if (this.stepping && this.stepBudget <= 0 && this.stepSet.size === 0 && !this.rec.paused) this.pause('step');
  }

  /** A failure that would end the run: with pauseOnFailure the task is held and the run pauses. */
  onFailure(i: number): boolean {
    if (!this.rec.pauseOnFailure) return false;
    this.stepSet.delete(i);
    this.heldFailures.push(i);
    this.parkTask(i);
    this.pause('failure', this.host.plan.tasks[i].id);
    return true;
  }

  private hits(t: PlannedTask, when: 'before' | 'after'): boolean {
    for (const b of this.rec.breakpoints) {
      if (b.taskId !== t.id || (b.when ?? 'before') !== when) continue;
      const c = this.conds.get(b);
      if (!c) return true;
      try {
        if (evaluate(c, this.host.scopeOf(t), this.host.limits.expressionLimits)) return true;
      } catch {
        // A condition that cannot be evaluated (an output not there yet) does not hold.
      }
    }
    return false;
  }

  // ---- commands ----

  pause(reason: PauseReason, taskId?: string, when?: 'before' | 'after', by?: string): void {
    this.stepping = false;
    this.stepBudget = 0;
    if (this.rec.paused) return;
    this.rec.paused = { at: Date.now(), reason, taskId, when, by };
    this.persist();
    this.host.bus.publish('execution:paused', {
      executionId: this.host.executionId,
      workflowId: this.host.workflowId,
      timestamp: Date.now(),
      reason,
      taskId,
      when,
    });
  }

  private resume(by: string | undefined, step: boolean): void {
    if (!this.rec.paused) throw notPaused(this.host.executionId, this.runState);
    const at = this.rec.paused;
    this.rec.paused = null;
    this.stepping = step;
    this.stepSet.clear();
    this.persist();
    this.host.bus.publish('execution:resumed', {
      executionId: this.host.executionId,
      workflowId: this.host.workflowId,
      timestamp: Date.now(),
      by,
      step,
      from: at,
    });
    for (const i of this.heldFailures.splice(0)) this.unpark(i);
    if (step) this.stepBudget = Math.max(1, this.host.readyTasks().length);
    this.host.pump();
  }

  continue(by?: string): void {
    this.resume(by, false);
  }

  step(by?: string): void {
    this.resume(by, true);
  }

  setBreakpoints(bps: Breakpoint[], by?: string): void {
    const next = this.validate(bps);
    this.edit({ at: Date.now(), by, kind: 'breakpoints', old: this.rec.breakpoints, new: next });
    this.rec.breakpoints = next;
    this.persist();
  }

  /** Edits a task that has not started: its input (merged over the definition's) and/or prompt, for this run. */
  editTask(taskId: string, change: TaskOverride, by?: string): void {
    const t = this.notStarted(taskId);
    const old = this.rec.overrides[t.id] ?? {};
    const next: TaskOverride = { ...old };
    if (change.input !== undefined) {
      encodeValue(change.input, `edited input of task "${taskId}"`);
      this.edit({ at: Date.now(), by, kind: 'input', taskId, old: old.input ?? t.def.input ?? {}, new: change.input });
      next.input = change.input;
    }
    if (change.prompt !== undefined) {
      this.edit({
        at: Date.now(),
        by,
        kind: 'prompt',
        taskId,
        old: old.prompt ?? t.def.input?.prompt,
        new: change.prompt,
      });
      next.prompt = change.prompt;
    }
    this.rec.overrides[t.id] = next;
    this.persist();
  }

  pin(taskId: string, output: unknown, by?: string): void {
    const t = this.notStarted(taskId, true);
    encodeValue(output, `pinned output of task "${taskId}"`);
    this.edit({ at: Date.now(), by, kind: 'pin', taskId, old: this.rec.pins[t.id], new: output });
    this.rec.pins[t.id] = output;
    this.persist();
  }

  override(i: number): TaskOverride | undefined {
    return this.rec.overrides[this.host.plan.tasks[i].id];
  }

  isPinned(i: number): boolean {
    return Object.hasOwn(this.rec.pins, this.host.plan.tasks[i].id);
  }

  private edit(e: EditRecord): void {
    this.rec.edits.push(e);
  }

  private notStarted(taskId: string, allowFailedHeld = false): PlannedTask {
    const i = this.host.plan.byId.get(taskId);
    if (i === undefined)
      throw new CodexError(ErrorCodes.DEBUG_INVALID, `unknown task "${taskId}"`, {
        issues: [{ taskId, message: 'unknown task' }],
      });
    const st = this.host.statusOf(i);
    const held = allowFailedHeld && this.heldFailures.includes(i);
    if (!held && st !== 'waiting' && st !== 'queued')
      throw new CodexError(
        ErrorCodes.TASK_STARTED,
        `task "${taskId}" has already started (${st}); edit tasks before they run`,
      );
    return this.host.plan.tasks[i];
  }

  // ---- waitpoints ----

  /** `ctx.waitFor`: the recorded decision, or suspends the task until one is signalled. */
  waitFor(i: number, name: string, timeoutMs?: number): unknown {
    if (!NAME.test(name)) throw new CodexError(ErrorCodes.DEBUG_INVALID, `invalid waitpoint name "${name}"`);
    const w = this.waits.get(name);
    if (w?.decision) {
      if (w.decision.timedOut) throw new CodexError(ErrorCodes.WAIT_TIMEOUT, `waitpoint "${name}" timed out`);
      return w.decision.payload;
    }
    this.suspend(i, name, 'waitFor', { timeoutMs });
    throw new WaitSuspended(name);
  }

  private suspend(
    i: number,
    name: string,
    kind: WaitRecord['kind'],
    o: { prompt?: string; roles?: string[]; timeoutMs?: number; onTimeout?: WaitRecord['onTimeout'] },
  ): void {
    const t = this.host.plan.tasks[i];
    let w = this.waits.get(name);
    if (!w) {
      w = { name, taskId: t.id, kind, since: Date.now(), prompt: o.prompt, roles: o.roles, onTimeout: o.onTimeout };
      if (o.timeoutMs) w.timeoutAt = w.since + o.timeoutMs;
      this.host.writeMeta(WAIT_PREFIX + name, w);
      this.waits.set(w);
    }
    // A handler's waitpoint is announced once its attempt has ended and its slot is free (handlerSuspended).
    if (kind !== 'approval') return;
    this.parkTask(i);
    this.stepSet.delete(i);
    this.announce(i, w);
  }

  private announce(i: number, w: WaitRecord): void {
    const t = this.host.plan.tasks[i];
    this.host.bus.publish('task:waiting', {
      executionId: this.host.executionId,
      workflowId: this.host.workflowId,
      taskId: t.id,
      agentId: t.def.agentId,
      timestamp: Date.now(),
      name: w.name,
      kind: w.kind,
      prompt: w.prompt,
      roles: w.roles,
      timeoutAt: w.timeoutAt,
    });
  }

  /** A task whose handler suspended in `ctx.waitFor` (its attempt ended, its slot is free). */
  handlerSuspended(i: number, name: string): void {
    this.parkTask(i);
    this.stepSet.delete(i);
    if (this.stepping && this.stepBudget <= 0 && this.stepSet.size === 0 && !this.rec.paused) this.pause('step');
    // Signalled while the attempt was still ending: run it again now.
    const w = this.waits.get(name);
    if (w?.decision) this.unpark(i);
    else if (w) this.announce(i, w);
  }

  /** Records a decision; answers false when one was already recorded (a second approval changes nothing). */
  signal(name: string, payload: unknown, by?: string, role?: string): boolean {
    const w = this.waits.get(name);
    if (!w)
      throw new CodexError(
        ErrorCodes.WAITPOINT_NOT_FOUND,
        `no waitpoint "${name}" in execution "${this.host.executionId}"`,
      );
    if (w.decision) return false;
    if (w.roles?.length && role !== undefined && !w.roles.includes(role))
      throw new CodexError(
        ErrorCodes.FORBIDDEN,
        `role "${role}" may not decide "${name}" (allowed: ${w.roles.join(', ')})`,
      );
    this.decide(w, { payload, at: Date.now(), by });
    return true;
  }

  private expire(w: WaitRecord): void {
    const payload =
      w.onTimeout === 'approve'
        ? { approved: true, comment: 'timed out' }
        : w.onTimeout === 'reject'
          ? { approved: false, comment: 'timed out' }
          : undefined;
    this.decide(w, { payload, at: Date.now(), timedOut: true });
  }

  private parkTask(i: number): void {
    this.parked.add(i);
    this.host.park(i);
  }

  private unpark(i: number): void {
    if (this.parked.delete(i)) this.host.requeue(i);
  }

  private decide(w: WaitRecord, d: WaitDecision): void {
    w.decision = d;
    this.host.writeMeta(WAIT_PREFIX + w.name, w);
    const i = this.host.plan.byId.get(w.taskId);
    if (i !== undefined) this.unpark(i);
  }

  /** Deadlines already passed when the run is loaded (a restart) fire now. */
  start(): void {
    this.waits.arm();
  }

  dispose(): void {
    this.waits.dispose();
  }
}
