import { createHash, randomUUID } from 'node:crypto';
import type { AgentPool, AgentInstance } from '../agents/pool.js';
import type { AgentRegistry } from '../agents/registry.js';
import type { OrchestratorConfig } from '../config.js';
import { CodexError, ErrorCodes, toErrorInfo, type ErrorInfo } from '../errors.js';
import type { EventBus, TokenUsage } from '../events.js';
import type { ModelRunner } from '../models/types.js';
import { STATE_SCHEMA_VERSION, type StateStore, type StoredExecution, type TaskStatus, type TaskTransition } from '../store/types.js';
import { DeadlineQueue } from './deadlines.js';
import { evaluate, type Scope } from './expression.js';
import { backoffDelay } from './retry.js';
import { Context, type AttemptState, type ContextSource } from './task-context.js';
import { renderDeep, renderTemplate } from './template.js';
import type { ExecutionResult, Plan, PlannedTask, TaskResult } from './types.js';

export interface EngineServices {
  bus: EventBus;
  store: StateStore;
  agents: AgentRegistry;
  pool: AgentPool;
  models: ModelRunner;
  cache: Map<string, unknown>;
  limits: OrchestratorConfig['workflow'];
}

const now = (): number => performance.timeOrigin + performance.now();

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
  if (err instanceof CodexError) return err.code === ErrorCodes.TASK_TIMEOUT || (!FINAL.has(err.code) && err.retryable !== false);
  return !(err && typeof err === 'object' && (err as { retryable?: unknown }).retryable === false);
}

interface UnitResult {
  output: unknown;
  usage?: TokenUsage;
  cost?: number;
  model?: string;
}

const enum S {
  Waiting = 0,
  Queued = 1,
  Running = 2,
  Done = 3,
  Failed = 4,
  Skipped = 5,
}

/**
 * One run of a workflow. The scheduler is a ready-queue over in-degree counts: no per-task copy of accumulated
 * state. Transitions are buffered and written to the store in one batch per microtask tick; a completed task's
 * dependents are released only after the batch holding its output is written.
 */
export class Execution implements ContextSource {
  readonly executionId: string;
  readonly workflowId: string;
  readonly taskIds: string[];
  readonly outputs: unknown[];
  private readonly n: number;
  private readonly state: Uint8Array;
  private readonly remaining: Int32Array;
  private readonly liveDeps: Int32Array;
  private readonly attempts: Int32Array;
  private readonly readyAt: Float64Array;
  private readonly startedAt: Float64Array;
  private readonly finishedAt: Float64Array;
  private readonly errors: (ErrorInfo | undefined)[];
  private readonly extras = new Map<number, Partial<TaskResult>>();
  private readonly skipReasons = new Map<number, string>();
  private readonly readyQ: number[] = [];
  private readyHead = 0;
  private running = 0;
  private outstanding = 0;
  private readonly maxConcurrency: number;
  private readonly deadlines = new DeadlineQueue();
  private readonly active = new Set<AttemptState>();
  private pending: TaskTransition[] = [];
  private release: number[] = [];
  private flushScheduled = false;
  private flushing: Promise<void> | undefined;
  private finished = false;
  private workflowTimer?: NodeJS.Timeout;
  private readonly t0 = now();
  private resolve!: (r: ExecutionResult) => void;
  readonly done: Promise<ExecutionResult>;
  private readonly recordQueued: boolean;

  constructor(
    private readonly plan: Plan,
    private readonly svc: EngineServices,
    readonly input: unknown,
    private readonly opts: { executionId?: string; signal?: AbortSignal; resumed?: StoredExecution },
  ) {
    this.executionId = opts.resumed?.header.executionId ?? opts.executionId ?? randomUUID();
    this.workflowId = plan.def.id;
    const n = (this.n = plan.tasks.length);
    this.taskIds = plan.tasks.map((t) => t.id);
    this.outputs = new Array(n);
    this.state = new Uint8Array(n);
    this.remaining = new Int32Array(n);
    this.liveDeps = new Int32Array(n);
    this.attempts = new Int32Array(n);
    this.readyAt = new Float64Array(n);
    this.startedAt = new Float64Array(n);
    this.finishedAt = new Float64Array(n);
    this.errors = new Array(n);
    this.maxConcurrency = plan.def.maxConcurrency ?? svc.limits.maxConcurrency;
    this.recordQueued = svc.store.kind !== 'memory';
    this.done = new Promise((r) => {
      this.resolve = r;
    });
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
    await store.saveExecution(header);
    if (bus.wants('workflow:started')) {
      bus.publish('workflow:started', {
        executionId: this.executionId,
        workflowId: this.workflowId,
        timestamp: Date.now(),
        taskCount: this.n,
        resumed,
        tasks: this.plan.tasks.map((t) => ({ id: t.id, agentId: t.def.agentId, type: t.def.type, dependencies: t.deps.map((d) => this.taskIds[d]) })),
      });
    }
    const signal = this.opts.signal;
    if (signal?.aborted) {
      this.finish('cancelled', new CodexError(ErrorCodes.CANCELLED, `Execution cancelled: ${String(signal.reason ?? 'aborted')}`));
      return this.done;
    }
    signal?.addEventListener('abort', () => this.finish('cancelled', new CodexError(ErrorCodes.CANCELLED, `Execution cancelled: ${String(signal.reason ?? 'aborted')}`)), { once: true });
    const wfTimeout = this.plan.def.timeoutMs;
    if (wfTimeout) {
      this.workflowTimer = setTimeout(
        () => this.finish('failed', new CodexError(ErrorCodes.WORKFLOW_TIMEOUT, `Workflow "${this.workflowId}" timed out after ${wfTimeout} ms`)),
        wfTimeout,
      );
    }
    this.seed();
    return this.done;
  }

  cancel(reason: string): void {
    this.finish('cancelled', new CodexError(ErrorCodes.CANCELLED, `Execution cancelled: ${reason}`));
  }

  /** Initial in-degrees; on resume, tasks with a recorded completion (or skip) are taken as they were. */
  private seed(): void {
    const stored = this.opts.resumed?.tasks;
    const { tasks } = this.plan;
    for (let i = 0; i < this.n; i++) {
      const rec = stored?.get(tasks[i].id);
      if (rec?.status === 'completed') {
        this.state[i] = S.Done;
        this.outputs[i] = rec.output;
        this.attempts[i] = rec.attempts;
        this.finishedAt[i] = rec.finishedAt ?? 0;
        this.extras.set(i, { usage: rec.usage, cost: rec.cost });
      } else if (rec?.status === 'skipped') {
        this.state[i] = S.Skipped;
        this.skipReasons.set(i, 'skipped before resume');
      }
    }
    for (let i = 0; i < this.n; i++) {
      const t = tasks[i];
      if (this.state[i] !== S.Waiting || t.fallbackFor !== undefined) continue;
      this.outstanding++;
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
      if (this.state[i] === S.Waiting && this.remaining[i] === 0 && tasks[i].fallbackFor === undefined) this.becomeReady(i);
    }
    this.pump();
  }

  private becomeReady(i: number): void {
    const t = this.plan.tasks[i];
    if (t.deps.length > 0 && this.liveDeps[i] === 0) return this.skip(i, 'all dependencies were skipped');
    if (t.when) {
      let ok: unknown;
      try {
        ok = evaluate(t.when, this.scope(t));
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
    while (this.running < this.maxConcurrency && this.readyHead < this.readyQ.length && !this.finished) {
      const i = this.readyQ[this.readyHead++];
      this.running++;
      void this.runTask(i);
    }
    if (this.readyHead > 4096 && this.readyHead === this.readyQ.length) {
      this.readyQ.length = 0;
      this.readyHead = 0;
    }
  }

  private async runTask(i: number): Promise<void> {
    const t = this.plan.tasks[i];
    const agentId = t.def.agentId;
    let inst: AgentInstance | undefined;
    try {
      const agent = this.svc.agents.get(agentId);
      const got = this.svc.pool.acquire(agentId);
      inst = got instanceof Promise ? await got : got;
      if (this.finished) return;
      this.state[i] = S.Running;
      this.startedAt[i] = now();
      const scope = t.forEach || t.whileCond || typeof t.prompt !== 'string' || t.templatedParams ? this.scope(t) : undefined;
      let result: UnitResult;
      if (t.forEach) result = await this.runForEach(t, agent, scope!);
      else if (t.whileCond) result = await this.runWhile(t, agent, scope!);
      else result = await this.runUnit(t, agent, scope);
      if (this.finished) return;
      this.svc.pool.release(inst, true);
      inst = undefined;
      this.complete(i, result);
    } catch (err) {
      if (inst) this.svc.pool.release(inst, false);
      if (!this.finished) this.fail(i, err);
    } finally {
      this.running--;
      if (!this.finished) this.pump();
    }
  }

  private async runForEach(t: PlannedTask, agent: ReturnType<AgentRegistry['get']>, scope: Scope): Promise<UnitResult> {
    const items = evaluate(t.forEach!, scope);
    if (!Array.isArray(items)) {
      throw new CodexError(ErrorCodes.EXPRESSION, `task "${t.id}": forEach must yield a list, got ${items === null ? 'null' : typeof items}`);
    }
    if (items.length > t.maxIterations) {
      throw new CodexError(ErrorCodes.LOOP_LIMIT, `task "${t.id}": forEach has ${items.length} items, more than maxIterations (${t.maxIterations})`);
    }
    const out: unknown[] = new Array(items.length);
    const agg: { usage?: TokenUsage; cost?: number; model?: string } = {};
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length && !this.finished) {
        const k = next++;
        const r = await this.runUnit(t, agent, { ...scope, item: items[k], index: k }, items[k], k);
        out[k] = r.output;
        this.addUsage(agg, r);
      }
    };
    const width = Math.max(1, Math.min(items.length, this.plan.def.maxConcurrency ?? 16));
    await Promise.all(Array.from({ length: width }, worker));
    this.extras.set(t.index, { ...this.extras.get(t.index), iterations: items.length });
    return { output: out, ...agg };
  }

  private async runWhile(t: PlannedTask, agent: ReturnType<AgentRegistry['get']>, scope: Scope): Promise<UnitResult> {
    const agg: { usage?: TokenUsage; cost?: number; model?: string } = {};
    let last: unknown;
    let k = 0;
    for (; ; k++) {
      const s = { ...scope, iteration: k, last };
      if (!evaluate(t.whileCond!, s)) break;
      if (k >= t.maxIterations) {
        throw new CodexError(
          ErrorCodes.LOOP_LIMIT,
          `task "${t.id}": while-loop reached maxIterations (${t.maxIterations}) with its condition still true`,
        );
      }
      const r = await this.runUnit(t, agent, s, undefined, undefined, k);
      last = r.output;
      this.addUsage(agg, r);
      if (this.finished) break;
    }
    this.extras.set(t.index, { ...this.extras.get(t.index), iterations: k });
    return { output: last, ...agg };
  }

  private addUsage(agg: { usage?: TokenUsage; cost?: number; model?: string }, r: UnitResult): void {
    if (!r.usage) return;
    agg.usage = { inputTokens: (agg.usage?.inputTokens ?? 0) + r.usage.inputTokens, outputTokens: (agg.usage?.outputTokens ?? 0) + r.usage.outputTokens };
    agg.cost = (agg.cost ?? 0) + (r.cost ?? 0);
    agg.model ??= r.model;
  }

  /** One invocation (one item / iteration, or the task itself) with its retries. */
  private async runUnit(
    t: PlannedTask,
    agent: ReturnType<AgentRegistry['get']>,
    scope: Scope | undefined,
    item?: unknown,
    index?: number,
    iteration?: number,
  ): Promise<UnitResult> {
    const i = t.index;
    const prompt = scope ? renderTemplate(t.prompt, scope) : (t.prompt as string);
    const params = (scope && t.templatedParams ? renderDeep(t.def.input, scope) : t.def.input ?? {}) as Record<string, unknown>;
    let cacheKey: string | undefined;
    if (t.def.cache) {
      cacheKey = this.cacheKey(t, prompt, params, item);
      if (this.svc.cache.has(cacheKey)) {
        this.extras.set(i, { ...this.extras.get(i), cached: true });
        return { output: this.svc.cache.get(cacheKey) };
      }
    }
    for (let attempt = 1; ; attempt++) {
      this.attempts[i]++;
      try {
        const r = await this.attempt(t, agent, attempt, params, prompt, item, index, iteration);
        if (cacheKey !== undefined) this.svc.cache.set(cacheKey, r.output);
        return r;
      } catch (err) {
        if (this.finished || attempt >= t.retry.maxAttempts || !isRetryable(err)) throw err;
        const delayMs = backoffDelay(t.retry, attempt);
        const error = toErrorInfo(err);
        this.record(i, 'retrying', attempt, { error });
        if (this.svc.bus.wants('task:retrying')) this.svc.bus.publish('task:retrying', { ...this.ref(i), attempt, delayMs, error, iteration: iteration ?? index });
        await this.sleep(delayMs);
        if (this.finished) throw err;
      }
    }
  }

  private attempt(
    t: PlannedTask,
    agent: ReturnType<AgentRegistry['get']>,
    attempt: number,
    params: Record<string, unknown>,
    prompt: string,
    item?: unknown,
    index?: number,
    iteration?: number,
  ): Promise<UnitResult> {
    const i = t.index;
    const st: AttemptState = { settled: false };
    const started = now();
    this.record(i, 'running', attempt);
    if (this.svc.bus.wants('task:started')) {
      this.svc.bus.publish('task:started', { ...this.ref(i), attempt, queueWait: started - this.readyAt[i], iteration: iteration ?? index });
    }
    const ctx = new Context(this, t, agent, st, attempt, params, prompt, item, index, iteration);
    return new Promise<UnitResult>((resolve, reject) => {
      st.reject = reject;
      this.active.add(st);
      const deadline = this.deadlines.add(t.timeoutMs, () =>
        this.abortAttempt(st, new CodexError(ErrorCodes.TASK_TIMEOUT, `task "${t.id}" timed out after ${t.timeoutMs} ms (attempt ${attempt})`, { retryable: true })),
      );
      const settle = (): boolean => {
        if (st.settled) return false;
        st.settled = true;
        this.active.delete(st);
        this.deadlines.cancel(deadline);
        return true;
      };
      let p: Promise<unknown>;
      try {
        p = agent.handler ? Promise.resolve(agent.handler(ctx)) : ctx.callModel().then((r) => r.text);
      } catch (err) {
        p = Promise.reject(err);
      }
      p.then(
        (v) => {
          if (!settle()) return;
          this.finishedAt[i] = now();
          resolve(st.usage ? { output: v, usage: st.usage, cost: st.cost, model: st.model } : { output: v });
        },
        (err) => {
          if (settle()) reject(err);
        },
      );
    });
  }

  private abortAttempt(st: AttemptState, reason: unknown): void {
    if (st.settled) return;
    st.settled = true;
    this.active.delete(st);
    st.abortReason = reason;
    st.ctrl?.abort(reason);
    st.reject?.(reason);
  }

  private complete(i: number, r: UnitResult): void {
    this.state[i] = S.Done;
    this.outputs[i] = r.output;
    this.finishedAt[i] ||= now();
    if (r.usage || r.cost !== undefined || r.model) this.extras.set(i, { ...this.extras.get(i), usage: r.usage, cost: r.cost, model: r.model });
    this.record(i, 'completed', this.attempts[i], { output: r.output, usage: r.usage, cost: r.cost });
    this.release.push(i);
    this.scheduleFlush();
  }

  private fail(i: number, err: unknown): void {
    const t = this.plan.tasks[i];
    const error = toErrorInfo(err);
    this.state[i] = S.Failed;
    this.errors[i] = error;
    this.finishedAt[i] = now();
    const handled = t.onError !== 'fail';
    this.record(i, 'failed', this.attempts[i], { error });
    if (this.svc.bus.wants('task:failed')) {
      this.svc.bus.publish('task:failed', { ...this.ref(i), duration: this.finishedAt[i] - (this.startedAt[i] || this.finishedAt[i]), attempts: this.attempts[i], error, handled });
    }
    if (t.onError === 'continue') {
      // A failed-but-continued task counts as settled for its dependents; they run and see no output.
      this.release.push(i);
      this.scheduleFlush();
      return;
    }
    if (t.fallback !== undefined) {
      const f = t.fallback;
      if (this.state[f] === S.Done) {
        this.outputs[i] = this.outputs[f];
        this.release.push(i);
        this.scheduleFlush();
      } else {
        this.outstanding++;
        this.becomeReady(f);
        this.pump();
      }
      return;
    }
    const wrapped = new CodexError(ErrorCodes.TASK_FAILED, `task "${t.id}" failed after ${this.attempts[i]} attempt(s): ${error.message}`, { cause: err });
    this.finish('failed', wrapped, error);
  }

  private skip(i: number, reason: string): void {
    this.state[i] = S.Skipped;
    this.skipReasons.set(i, reason);
    this.record(i, 'skipped', 0);
    if (this.svc.bus.wants('task:skipped')) this.svc.bus.publish('task:skipped', { ...this.ref(i), reason });
    this.release.push(i);
    this.scheduleFlush();
  }

  private record(i: number, status: TaskStatus, attempt: number, extra?: Partial<TaskTransition>): void {
    const t: TaskTransition = { executionId: this.executionId, taskKey: this.taskIds[i], status, attempt, at: Date.now() };
    if (extra) Object.assign(t, extra);
    this.pending.push(t);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** Writes buffered transitions, then releases the dependents of tasks settled in this tick. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.finished) return;
    const batch = this.pending;
    const released = this.release;
    this.pending = [];
    this.release = [];
    let written: void | Promise<void>;
    try {
      written = batch.length ? this.svc.store.appendTransitions(batch) : undefined;
    } catch (err) {
      return this.finish('failed', new CodexError(ErrorCodes.STORE, `state store write failed: ${(err as Error).message}`, { cause: err }));
    }
    if (written instanceof Promise) {
      const p = written.then(
        () => this.settle(released),
        (err) => this.finish('failed', new CodexError(ErrorCodes.STORE, `state store write failed: ${(err as Error).message}`, { cause: err })),
      );
      this.flushing = p.finally(() => {
        if (this.flushing === p) this.flushing = undefined;
      });
    } else this.settle(released);
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
          ...this.ref(i),
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
        this.outputs[target] = this.outputs[i];
        this.outstanding--;
      }
      const live = s === S.Done || s === S.Failed;
      for (const d of tasks[target].dependents) {
        if (live) this.liveDeps[d]++;
        if (--this.remaining[d] === 0 && this.state[d] === S.Waiting) this.becomeReady(d);
      }
      this.outstanding--;
    }
    if (this.outstanding === 0) return this.finish('completed');
    this.pump();
  }

  private finish(status: ExecutionResult['status'], err?: CodexError, cause?: ErrorInfo): void {
    if (this.finished) return;
    this.finished = true;
    if (this.workflowTimer) clearTimeout(this.workflowTimer);
    this.deadlines.dispose();
    for (const st of [...this.active]) this.abortAttempt(st, err ?? new CodexError(ErrorCodes.CANCELLED, 'execution finished'));
    const finishedAt = Date.now();
    const error = err ? { code: cause?.code === ErrorCodes.TASK_TIMEOUT ? cause.code : err.code, message: err.message } : undefined;
    const result = this.result(status, finishedAt, error);
    const { store, bus } = this.svc;
    const persist = async (): Promise<void> => {
      if (this.flushing) await this.flushing.catch(() => undefined);
      if (this.pending.length) await store.appendTransitions(this.pending);
      this.pending = [];
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
      const base = { executionId: this.executionId, workflowId: this.workflowId, timestamp: finishedAt, duration: result.duration };
      if (status === 'completed') bus.publish('workflow:completed', { ...base, usage: result.usage, cost: result.cost });
      else if (status === 'cancelled') bus.publish('workflow:cancelled', { ...base, reason: error?.message ?? 'cancelled' });
      else bus.publish('workflow:failed', { ...base, error: error! });
      this.resolve(result);
    };
    persist().then(emit, (e) => {
      result.status = 'failed';
      result.error = { code: ErrorCodes.STORE, message: `state store write failed: ${(e as Error).message}` };
      emit();
    });
  }

  private result(status: ExecutionResult['status'], finishedAt: number, error?: ErrorInfo): ExecutionResult {
    const tasks: Record<string, TaskResult> = {};
    const output: Record<string, unknown> = {};
    const usage = { inputTokens: 0, outputTokens: 0 };
    let cost = 0;
    const names: Record<number, TaskStatus> = { [S.Waiting]: 'skipped', [S.Queued]: 'skipped', [S.Running]: 'failed', [S.Done]: 'completed', [S.Failed]: 'failed', [S.Skipped]: 'skipped' };
    for (const t of this.plan.tasks) {
      const i = t.index;
      const s = this.state[i];
      if (t.fallbackFor !== undefined && s === S.Waiting) continue;
      const x = this.extras.get(i);
      const r: TaskResult = {
        taskId: t.id,
        agentId: t.def.agentId,
        status: names[s],
        attempts: this.attempts[i],
        output: s === S.Done || (s === S.Failed && t.fallback !== undefined) ? this.outputs[i] : undefined,
        ...(x ?? {}),
      };
      if (this.startedAt[i]) {
        r.startedAt = this.startedAt[i];
        r.queueWait = this.startedAt[i] - this.readyAt[i];
      }
      if (this.finishedAt[i]) {
        r.finishedAt = this.finishedAt[i];
        if (this.startedAt[i]) r.duration = this.finishedAt[i] - this.startedAt[i];
      }
      if (this.errors[i]) r.error = this.errors[i];
      else if (s === S.Running) r.error = error;
      if (s === S.Skipped) r.skippedReason = this.skipReasons.get(i);
      else if (s === S.Waiting || s === S.Queued) r.skippedReason = `workflow ${status} before the task started`;
      if (x?.usage) {
        usage.inputTokens += x.usage.inputTokens;
        usage.outputTokens += x.usage.outputTokens;
      }
      cost += x?.cost ?? 0;
      tasks[t.id] = r;
      if (t.dependents.length === 0 && t.fallbackFor === undefined && s === S.Done) output[t.id] = this.outputs[i];
    }
    const startedAt = this.opts.resumed?.header.startedAt ?? this.t0;
    return {
      executionId: this.executionId,
      workflowId: this.workflowId,
      status,
      input: this.input,
      tasks,
      output,
      startedAt,
      finishedAt,
      duration: finishedAt - startedAt,
      error,
      usage,
      cost,
      resumed: !!this.opts.resumed,
    };
  }

  private ref(i: number) {
    return { executionId: this.executionId, workflowId: this.workflowId, taskId: this.taskIds[i], agentId: this.plan.tasks[i].def.agentId, timestamp: Date.now() };
  }

  private scope(t: PlannedTask): Scope {
    return { input: this.input, outputs: this.outputsById(), tasks: this.tasksScope(), workflow: { id: this.workflowId }, task: { id: t.id } };
  }

  outputsById(): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < this.n; i++) if (this.state[i] === S.Done || this.outputs[i] !== undefined) o[this.taskIds[i]] = this.outputs[i];
    return o;
  }

  private tasksScope(): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    const names = ['waiting', 'queued', 'running', 'completed', 'failed', 'skipped'];
    for (let i = 0; i < this.n; i++) o[this.taskIds[i]] = { output: this.outputs[i], status: names[this.state[i]], error: this.errors[i] };
    return o;
  }

  upstreamText(t: PlannedTask): string {
    return t.deps
      .filter((d) => this.outputs[d] !== undefined)
      .map((d) => `## ${this.taskIds[d]}\n${typeof this.outputs[d] === 'string' ? this.outputs[d] : JSON.stringify(this.outputs[d])}`)
      .join('\n\n');
  }

  get models(): ModelRunner {
    return this.svc.models;
  }

  private cacheKey(t: PlannedTask, prompt: string, params: unknown, item: unknown): string {
    const deps = t.deps.map((d) => this.outputs[d]);
    return createHash('sha256').update(JSON.stringify([this.workflowId, t.id, t.def.agentId, prompt, params, deps, item ?? null])).digest('hex');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((res) => {
      const st: AttemptState = { settled: false };
      const timer = setTimeout(() => {
        this.active.delete(st);
        res();
      }, ms);
      st.reject = () => {
        clearTimeout(timer);
        res();
      };
      this.active.add(st);
    });
  }
}
