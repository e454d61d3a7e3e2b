import type { AgentDefinition, TaskContext } from '../agents/types.js';
import { CodexError, ErrorCodes } from '../errors.js';
import type { EventBus } from '../events.js';
import type { ModelRunner, ModelRunResult, ToolCallRecord } from '../models/types.js';
import type { OutputChanges, RemoteModelCall } from '../queue/types.js';
import { DeltaBatcher } from './deltas.js';
import type { PlannedTask } from './types.js';

/** Everything about one attempt that the engine tracks; also the handler's `ctx` (its fields are getters). */
export interface AttemptState {
  ctrl?: AbortController;
  abortReason?: unknown;
  /** A queue's abort callback (DispatchContext.onAbort): told of an abort without an AbortController. */
  onAbort?: (reason: unknown) => void;
  settled: boolean;
  /** The unit this attempt belongs to (attempts), or a callback (backoff sleeps); settled exactly once. */
  unit?: unknown;
  done?: (failed: boolean, value: unknown) => void;
  task?: PlannedTask;
  attempt?: number;
  /** Deadline bookkeeping (see DeadlineQueue): when the attempt times out, and whether that was called off. */
  at: number;
  cancelled: boolean;
  armed: boolean;
  timer?: NodeJS.Timeout;
  /** Set when the attempt was abandoned while its handler runs: called once that handler settles. */
  late?: () => void;
  /** Model usage from `ctx.callModel()` calls made by a code handler, attributed to the task. */
  usage?: { inputTokens: number; outputTokens: number };
  cost?: number;
  model?: string;
}

export interface ContextSource {
  executionId: string;
  workflowId: string;
  input: unknown;
  outputs: unknown[];
  outputsById(): Record<string, unknown>;
  outputLog: number[];
  taskIds: string[];
  models: ModelRunner;
  /** The workflow's token/cost budget, enforced by the model layer per execution. */
  budget?: { maxTokens?: number; maxCostUsd?: number };
  /** Upstream outputs rendered as text for a model prompt. */
  upstreamText(t: PlannedTask): string;
  /** For `task:delta` streaming and tool-call records. */
  bus?: EventBus;
  recordToolCall?(taskIndex: number, rec: ToolCallRecord): void;
  /** The run was resumed by this process (see DispatchContext.resumed). */
  resumed?: boolean;
  /** Durable waitpoints (workflow/debug). */
  waitFor?(taskIndex: number, name: string, timeoutMs?: number): unknown;
}

/**
 * The handler's view of a task attempt. `deps`, `outputs` and `signal` are built on first read, so a handler that
 * does not use them costs nothing extra (the engine's per-task budget is a few microseconds).
 */
export class Context implements TaskContext {
  private _deps?: Record<string, unknown>;

  constructor(
    private readonly src: ContextSource,
    private readonly task: PlannedTask,
    private readonly agent: AgentDefinition,
    private readonly state: AttemptState,
    readonly attempt: number,
    readonly params: Record<string, unknown>,
    readonly prompt: string,
    readonly item?: unknown,
    readonly index?: number,
    readonly iteration?: number,
  ) {}

  get executionId(): string {
    return this.src.executionId;
  }
  get workflowId(): string {
    return this.src.workflowId;
  }
  get taskId(): string {
    return this.task.id;
  }
  get agentId(): string {
    return this.agent.id;
  }
  get input(): unknown {
    return this.src.input;
  }
  get resumed(): boolean {
    return this.src.resumed === true;
  }

  get deps(): Record<string, unknown> {
    if (!this._deps) {
      const d: Record<string, unknown> = Object.create(null);
      for (const i of this.task.deps) d[this.src.taskIds[i]] = this.src.outputs[i];
      this._deps = d;
    }
    return this._deps;
  }

  get outputs(): Record<string, unknown> {
    return this.src.outputsById();
  }

  get signal(): AbortSignal {
    const s = this.state;
    if (!s.ctrl) {
      s.ctrl = new AbortController();
      if (s.abortReason !== undefined) s.ctrl.abort(s.abortReason);
    }
    return s.ctrl.signal;
  }

  /** See DispatchContext.onAbort. */
  onAbort(fn: (reason: unknown) => void): boolean {
    if (this.state.abortReason !== undefined) return false;
    this.state.onAbort = fn;
    return true;
  }

  get idempotencyKey(): string {
    return idempotencyKeyOf(this.src.executionId, this.task.id, this.index ?? this.iteration);
  }

  async waitFor(name: string, opts: { timeoutMs?: number } = {}): Promise<unknown> {
    if (!this.src.waitFor) throw new CodexError(ErrorCodes.DEBUG_INVALID, 'waitFor is not available here');
    return this.src.waitFor(this.task.index, name, opts.timeoutMs);
  }

  async callModel(prompt?: string, opts: { system?: string; context?: string } = {}): Promise<ModelRunResult> {
    const bus = this.src.bus;
    const iteration = this.index ?? this.iteration;
    // Streamed text goes out as `task:delta` events, batched per tick, only while someone listens.
    const deltas = bus?.wants('task:delta')
      ? new DeltaBatcher(bus, {
          executionId: this.src.executionId,
          workflowId: this.src.workflowId,
          taskId: this.task.id,
          agentId: this.agent.id,
          iteration,
        })
      : undefined;
    const call = this.modelCall();
    const r = await this.src.models
      .run({
        agentId: this.agent.id,
        requirements: call.requirements,
        system: opts.system ?? call.system,
        prompt: prompt ?? call.prompt,
        context: opts.context ?? call.context,
        executionId: this.src.executionId,
        workflowId: this.src.workflowId,
        taskId: this.task.id,
        signal: this.signal,
        budget: call.budget,
        tools: this.agent.tools?.length ? this.agent.tools : undefined,
        output: call.output,
        maxSteps: call.maxSteps,
        idempotencyKey: this.idempotencyKey,
        iteration,
        onDelta: deltas?.push,
        onToolCall: this.src.recordToolCall
          ? (rec) => this.src.recordToolCall?.(this.task.index, { ...rec, attempt: this.attempt, iteration })
          : undefined,
      })
      .finally(() => deltas?.flush());
    this.recordUsage(r);
    return r;
  }

  /** Outputs set since position `from` of this run's output log (see DispatchContext.outputChanges). */
  outputChanges(from: number): OutputChanges {
    const { outputLog: log, outputs, taskIds } = this.src;
    const set: Record<string, unknown> = Object.create(null);
    for (let k = from; k < log.length; k++) set[taskIds[log[k]]] = outputs[log[k]];
    return { log, to: log.length, set };
  }

  /** The call `callModel()` makes with no arguments, as data: a worker makes it for a model-backed task. */
  modelCall(): RemoteModelCall {
    return {
      requirements: { ...this.agent.model, ...this.task.def.model },
      system: this.agent.instructions,
      prompt: this.prompt || this.task.def.name || this.task.id,
      context: this.src.upstreamText(this.task),
      output: this.task.def.output ?? this.agent.output,
      maxSteps: this.agent.maxSteps,
      budget: this.src.budget,
    };
  }

  /** Keeps tool calls made on a remote worker on this attempt's result, as a local call records them. */
  recordToolCalls(records: ToolCallRecord[]): void {
    const iteration = this.index ?? this.iteration;
    for (const rec of records) this.src.recordToolCall?.(this.task.index, { ...rec, attempt: this.attempt, iteration });
  }

  /** Attributes model usage to this attempt (also usage measured on a remote worker). */
  recordUsage(r: { usage: { inputTokens: number; outputTokens: number }; cost: number; model: string }): void {
    const st = this.state;
    st.usage = {
      inputTokens: (st.usage?.inputTokens ?? 0) + r.usage.inputTokens,
      outputTokens: (st.usage?.outputTokens ?? 0) + r.usage.outputTokens,
    };
    st.cost = (st.cost ?? 0) + r.cost;
    st.model ??= r.model;
  }
}

/** A task's idempotency key: stable across retries and resumes, per loop item (`slot`: its index or iteration). */
export function idempotencyKeyOf(executionId: string, taskId: string, slot: number | undefined): string {
  return `${executionId}:${taskId}${slot === undefined ? '' : `#${slot}`}`;
}
