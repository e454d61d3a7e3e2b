import type { AgentDefinition } from '../agents/types.js';
import { CodexError, ErrorCodes, toErrorInfo } from '../errors.js';
import { DeadlineQueue } from './deadlines.js';
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
  done: Done;
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
  protected readonly active = new Set<AttemptState>();
  protected finished = false;

  protected unit(
    t: PlannedTask,
    agent: AgentDefinition,
    scope: Scope | undefined,
    item: unknown,
    index: number | undefined,
    iteration: number | undefined,
    done: Done,
  ): void {
    const i = t.index;
    let prompt: string;
    let params: Record<string, unknown>;
    try {
      prompt = scope ? renderTemplate(t.prompt, scope) : (t.prompt as string);
      params = (scope && t.templatedParams ? renderDeep(t.def.input, scope) : (t.def.input ?? EMPTY)) as Record<
        string,
        unknown
      >;
    } catch (err) {
      return done(true, err);
    }
    let cacheKey: string | undefined;
    if (t.def.cache) {
      cacheKey = this.cacheKey(t, prompt, params, item);
      if (this.svc.cache.has(cacheKey)) {
        this.extras.set(i, { ...this.extras.get(i), cached: true });
        return done(false, { output: this.svc.cache.get(cacheKey) });
      }
    }
    this.attemptUnit({ t, agent, params, prompt, item, index, iteration, cacheKey, done }, 1);
  }

  private attemptUnit(u: Unit, attempt: number): void {
    this.attempts[u.t.index]++;
    this.invoke(u.t, u.agent, attempt, u.params, u.prompt, u.item, u.index, u.iteration, (failed, v) =>
      this.afterAttempt(u, attempt, failed, v),
    );
  }

  /** Success ends the unit; a retryable failure waits out its backoff and tries again. */
  private afterAttempt(u: Unit, attempt: number, failed: boolean, v: unknown): void {
    const { t, done } = u;
    if (!failed) {
      if (u.cacheKey !== undefined) this.svc.cache.set(u.cacheKey, (v as UnitResult).output);
      return done(false, v);
    }
    if (this.finished || attempt >= t.retry.maxAttempts || !isRetryable(v)) return done(true, v);
    const i = t.index;
    const delayMs = backoffDelay(t.retry, attempt);
    const error = toErrorInfo(v);
    this.record(i, 'retrying', attempt, { error });
    if (this.svc.bus.wants('task:retrying')) {
      this.svc.bus.publish(
        'task:retrying',
        Object.assign(this.ref(i), { attempt, delayMs, error, iteration: u.iteration ?? u.index }),
      );
    }
    this.sleep(delayMs, () => (this.finished ? done(true, v) : this.attemptUnit(u, attempt + 1)));
  }

  /** One attempt: calls the handler (or the model), arms the timeout, settles exactly once. */
  protected invoke(
    t: PlannedTask,
    agent: AgentDefinition,
    attempt: number,
    params: Record<string, unknown>,
    prompt: string,
    item: unknown,
    index: number | undefined,
    iteration: number | undefined,
    done: Done,
  ): void {
    const i = t.index;
    const st: AttemptState = {
      settled: false,
      done,
      task: t,
      attempt,
      at: 0,
      cancelled: false,
      armed: false,
      ctrl: undefined,
      abortReason: undefined,
      usage: undefined,
      cost: undefined,
      model: undefined,
      timer: undefined,
    };
    this.record(i, 'running', attempt);
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
    const ctx = new Context(this, t, agent, st, attempt, params, prompt, item, index, iteration);
    let v: unknown;
    try {
      v = agent.handler ? agent.handler(ctx) : ctx.callModel().then((r) => r.text);
    } catch (err) {
      this.finishedAt[i] = now();
      return done(true, err);
    }
    if (
      v === null ||
      (typeof v !== 'object' && typeof v !== 'function') ||
      typeof (v as PromiseLike<unknown>).then !== 'function'
    ) {
      this.finishedAt[i] = now();
      return done(false, unitOf(st, v));
    }
    this.deadlines.add(t.timeoutMs, st);
    st.armed = true;
    this.active.add(st);
    (v as PromiseLike<unknown>).then(
      (val) => {
        if (!this.settleAttempt(st)) return;
        this.finishedAt[i] = now();
        done(false, unitOf(st, val));
      },
      (err) => {
        if (this.settleAttempt(st)) done(true, err);
      },
    );
  }

  protected settleAttempt(st: AttemptState): boolean {
    if (st.settled) return false;
    st.settled = true;
    this.active.delete(st);
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
    this.active.delete(st);
    if (st.timer) clearTimeout(st.timer);
    st.abortReason = reason;
    st.ctrl?.abort(reason);
    st.done(true, reason);
  }

  protected sleep(ms: number, then: () => void): void {
    const st: AttemptState = { settled: false, done: () => then(), at: 0, cancelled: false, armed: false };
    st.timer = setTimeout(() => {
      if (st.settled) return;
      st.settled = true;
      this.active.delete(st);
      then();
    }, ms);
    this.active.add(st);
  }
}
