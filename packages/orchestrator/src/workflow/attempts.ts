import type { AgentInstance } from '../agents/pool.js';
import type { AgentDefinition } from '../agents/types.js';
import { CodexError, ErrorCodes, toErrorInfo } from '../errors.js';
import { AbandonedAttempts } from './abandoned.js';
import { DeadlineQueue } from './deadlines.js';
import type { TaskOverride } from './debug/types.js';
import { ExecutionState, now } from './execution-state.js';
import type { Scope } from './expression.js';
import type { UnitResult } from './loops.js';
import { backoffDelay } from './retry.js';
import { type AttemptState, Context } from './task-context.js';
import { renderDeep, renderTemplate } from './template.js';
import type { PlannedTask } from './types.js';

// Codes that retrying cannot fix.
const FINAL = new Set<string>([
  ErrorCodes.CANCELLED,
  ErrorCodes.WORKFLOW_TIMEOUT,
  ErrorCodes.BUDGET_EXCEEDED,
  ErrorCodes.EXPRESSION,
  ErrorCodes.TEMPLATE,
  ErrorCodes.LOOP_LIMIT,
  ErrorCodes.AGENT_UNKNOWN,
  ErrorCodes.MODEL_NO_MATCH,
  ErrorCodes.CONTEXT_OVERFLOW,
]);

function isRetryable(err: unknown): boolean {
  if (err instanceof CodexError)
    return err.code === ErrorCodes.TASK_TIMEOUT || (!FINAL.has(err.code) && err.retryable !== false);
  return !(err && typeof err === 'object' && (err as { retryable?: unknown }).retryable === false);
}

export type Done = (failed: boolean, value: unknown) => void;

/** One unit of work (a task, or one loop item / iteration) across its attempts. */
interface Unit {
  t: PlannedTask;
  agent: AgentDefinition;
  params: Record<string, unknown>;
  prompt: string;
  item: unknown;
  index: number | undefined;
  iteration: number | undefined;
  cacheKey: string | undefined;
  /** A plain task's agent slot: its end goes to `taskDone`. Loop units report through `done` instead. */
  inst: AgentInstance | undefined;
  done: Done | undefined;
  /** Set once the unit's end has been reported: it is reported exactly once. */
  ended: boolean;
}

const EMPTY: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

function unitOf(st: AttemptState, output: unknown): UnitResult {
  return st.usage ? { output, usage: st.usage, cost: st.cost, model: st.model } : { output };
}

/**
 * Attempts of task bodies: rendering, cache, retries with backoff, timeouts through one deadline queue, and
 * settling exactly once. Callback style on purpose: no async frames or wrapper promises per task.
 */
export abstract class AttemptRunner extends ExecutionState {
  protected readonly deadlines: DeadlineQueue<AttemptState> = new DeadlineQueue((st) => this.onTimeout(st));
  /** Abandoned handlers still running, by unit (its next attempt waits) and by task index (its agent slot waits). */
  protected readonly abandoned = new AbandonedAttempts(this.svc.limits.timeoutGraceMs);
  /** Backoff sleeps in progress (pending attempts live in `deadlines`). */
  protected readonly sleeping = new Set<AttemptState>();

  /** Everything still in flight, for finish() to abort. */
  protected inFlight(): AttemptState[] {
    return [...this.deadlines.pending(), ...this.sleeping];
  }
  protected finished = false;

  /** Runs one unit with its retries; its end goes to `taskDone(inst)` (a task) or `done` (a loop item). */
  protected unit(
    t: PlannedTask,
    agent: AgentDefinition,
    scope: Scope | undefined,
    item: unknown,
    index: number | undefined,
    iteration: number | undefined,
    inst: AgentInstance | undefined,
    done: Done | undefined,
  ): void {
    const u: Unit = {
      t,
      agent,
      params: EMPTY,
      prompt: '',
      item,
      index,
      iteration,
      cacheKey: undefined,
      inst,
      done,
      ended: false,
    };
    // The unit's failure boundary (see guard), written out: no closure per unit on the hot path.
    try {
      const lim = this.svc.limits.expressionLimits;
      u.prompt = scope ? renderTemplate(t.prompt, scope, lim) : (t.prompt as string);
      u.params = (scope && t.templatedParams ? renderDeep(t.def.input, scope, lim) : (t.def.input ?? EMPTY)) as Record<
        string,
        unknown
      >;
      const ov = this.taskOverride(t.index);
      if (ov) {
        if (ov.prompt !== undefined) u.prompt = ov.prompt;
        if (ov.input) u.params = { ...u.params, ...ov.input };
        this.extras.set(t.index, { ...this.extras.get(t.index), edited: true });
      }
      if (t.def.cache) {
        u.cacheKey = this.cacheKey(t, u.prompt, u.params, item);
        if (this.svc.cache.has(u.cacheKey)) {
          this.extras.set(t.index, { ...this.extras.get(t.index), cached: true });
          return this.unitEnd(u, false, { output: this.svc.cache.get(u.cacheKey) });
        }
      }
      this.invoke(u, 1);
    } catch (err) {
      this.failUnit(u, err);
    }
  }

  /** A debugger's edit of task `i` for this run (workflow/debug). */
  protected taskOverride(_i: number): TaskOverride | undefined {
    return undefined;
  }

  /** A plain task's body settled (after retries); implemented by the scheduler. */
  protected abstract taskDone(i: number, inst: AgentInstance, failed: boolean, v: unknown): void;

  /** A throw outside any task's boundary (the scheduler's own bookkeeping): the run fails, the process does not. */
  protected abstract fault(err: unknown): void;

  /**
   * The failure boundary of a unit. Every step the engine takes for it (rendering, cache key, the handler, reading
   * its result, recording, retry timers) runs inside this: a throw ends the unit as failed, exactly once. A throw
   * after the unit has ended is a fault of the run.
   */
  protected guard(u: Unit, step: () => void): void {
    try {
      step();
    } catch (err) {
      this.failUnit(u, err);
    }
  }

  /** What guard does with a throw: the unit ends as failed, once; a throw after its end is a fault of the run. */
  private failUnit(u: Unit, err: unknown): void {
    if (u.ended) return this.fault(err);
    try {
      this.unitEnd(u, true, err);
    } catch (again) {
      this.fault(again);
    }
  }

  /** Loop items and iterations record their attempts under `id#k`. */
  private unitKey(u: Unit): { taskKey: string } | undefined {
    const k = u.index ?? u.iteration;
    return k === undefined ? undefined : { taskKey: this.itemKey(u.t.index, k) };
  }

  private unitEnd(u: Unit, failed: boolean, v: unknown): void {
    if (u.ended) return;
    u.ended = true;
    if (u.done) u.done(failed, v);
    else this.taskDone(u.t.index, u.inst!, failed, v);
  }

  /** Success ends the unit; a retryable failure waits out its backoff and tries again. */
  private afterAttempt(u: Unit, attempt: number, failed: boolean, v: unknown): void {
    const t = u.t;
    if (!failed) {
      if (u.cacheKey !== undefined) this.svc.cache.set(u.cacheKey, (v as UnitResult).output);
      return this.unitEnd(u, false, v);
    }
    if (this.finished || attempt >= t.retry.maxAttempts || !isRetryable(v)) return this.unitEnd(u, true, v);
    const i = t.index;
    const delayMs = backoffDelay(t.retry, attempt);
    const error = toErrorInfo(v);
    this.record(i, 'retrying', attempt, { error, ...this.unitKey(u) });
    if (this.svc.bus.wants('task:retrying')) {
      this.svc.bus.publish(
        'task:retrying',
        Object.assign(this.ref(i), { attempt, delayMs, error, iteration: u.iteration ?? u.index }),
      );
    }
    // The next attempt starts after the backoff and, when this one was abandoned still running, after it settled.
    const next = () => this.guard(u, () => (this.finished ? this.unitEnd(u, true, v) : this.invoke(u, attempt + 1)));
    this.sleep(delayMs, () => this.guard(u, () => this.abandoned.whenQuiet(u, next)));
  }

  /** One attempt: calls the handler (or the model), arms the timeout, settles exactly once. */
  private invoke(u: Unit, attempt: number): void {
    const { t, agent, item, index, iteration } = u;
    const i = t.index;
    this.attempts[i]++;
    const st: AttemptState = {
      settled: false,
      unit: u,
      done: undefined,
      task: t,
      attempt,
      at: 0,
      cancelled: false,
      armed: false,
      ctrl: undefined,
      abortReason: undefined,
      onAbort: undefined,
      usage: undefined,
      cost: undefined,
      model: undefined,
      timer: undefined,
    };
    this.record(i, 'running', attempt, this.unitKey(u));
    if (this.svc.bus.wants('task:started')) {
      this.svc.bus.publish('task:started', {
        executionId: this.executionId,
        workflowId: this.workflowId,
        taskId: t.id,
        agentId: t.def.agentId,
        timestamp: Date.now(),
        attempt,
        // Waiting for a slot happens once; a retry's backoff is not queue time.
        queueWait: attempt === 1 ? now() - this.readyAt[i] : 0,
        iteration: iteration ?? index,
      });
    }
    const ctx = new Context(this, t, agent, st, attempt, u.params, u.prompt, item, index, iteration);
    let v: unknown;
    try {
      // The queue decides where the attempt runs (in process by default, or on a remote worker).
      v = this.svc.queue.run(ctx, agent);
      // Read `then` once: a hostile result's getter or `then` may throw, which fails this attempt like a throw.
      const then =
        v !== null && (typeof v === 'object' || typeof v === 'function') ? (v as PromiseLike<unknown>).then : undefined;
      if (typeof then === 'function') {
        // Pending attempts are tracked by the deadline heap alone (finish() aborts what is left in it).
        this.deadlines.add(t.timeoutMs, st);
        st.armed = true;
        // Each callback is the unit's boundary (guard, written out: no closure per settle).
        then.call(
          v,
          (val: unknown) => {
            try {
              if (!this.settleAttempt(st)) return st.late?.();
              this.finishedAt[i] = now();
              this.afterAttempt(u, attempt, false, unitOf(st, val));
            } catch (thrown) {
              this.failUnit(u, thrown);
            }
          },
          (err: unknown) => {
            try {
              if (this.settleAttempt(st)) this.afterAttempt(u, attempt, true, err);
              else st.late?.();
            } catch (thrown) {
              this.failUnit(u, thrown);
            }
          },
        );
        return;
      }
      st.settled = true;
    } catch (err) {
      // Once the attempt has an outcome, a later throw from its result is of no consequence.
      if (!this.settleAttempt(st)) return;
      this.finishedAt[i] = now();
      return this.afterAttempt(u, attempt, true, err);
    }
    this.finishedAt[i] = now();
    this.afterAttempt(u, attempt, false, unitOf(st, v));
  }

  protected settleAttempt(st: AttemptState): boolean {
    if (st.settled) return false;
    st.settled = true;
    if (st.armed) this.deadlines.cancel(st);
    return true;
  }

  protected readonly onTimeout = (st: AttemptState): void => {
    const t = st.task!;
    this.abortAttempt(
      st,
      new CodexError(
        ErrorCodes.TASK_TIMEOUT,
        `task "${t.id}" timed out after ${t.timeoutMs} ms (attempt ${st.attempt})`,
        { retryable: true },
      ),
    );
  };

  protected abortAttempt(st: AttemptState, reason: unknown): void {
    if (st.settled) return;
    st.settled = true;
    this.sleeping.delete(st);
    if (st.timer) clearTimeout(st.timer);
    st.abortReason = reason;
    st.ctrl?.abort(reason);
    st.onAbort?.(reason);
    const u = st.unit as Unit | undefined;
    // Its handler is still running (it may ignore the signal): its slot stays taken until it settles.
    if (u && st.armed) st.late = this.abandoned.add([u, u.t.index]);
    if (u) this.guard(u, () => this.afterAttempt(u, st.attempt!, true, reason));
    else st.done?.(true, reason);
  }

  protected sleep(ms: number, then: () => void): void {
    const st: AttemptState = { settled: false, done: () => then(), at: 0, cancelled: false, armed: false };
    st.timer = setTimeout(() => {
      if (st.settled) return;
      st.settled = true;
      this.sleeping.delete(st);
      then();
    }, ms);
    this.sleeping.add(st);
  }
}
