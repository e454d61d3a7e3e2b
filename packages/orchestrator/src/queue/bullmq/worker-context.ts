import type { AgentDefinition, TaskContext } from '../../agents/types.js';
import { CodexError, ErrorCodes } from '../../errors.js';
import type { EventBus } from '../../events.js';
import type { ModelRunner, ModelRunResult, ToolCallRecord } from '../../models/types.js';
import { DeltaBatcher } from '../../workflow/deltas.js';
import type { RemoteModelCall } from '../types.js';
import { jobIdempotencyKey, type unpackValues, type WorkerJobData } from './job-data.js';
import { needsOwnDefinition } from './own-agents.js';

/**
 * A handler's `ctx` on a worker: built from the job's data. `outputs` holds every output of the execution so far
 * (the worker's replica, at least as recent as the dispatch), as in process.
 */
export class WorkerContext implements TaskContext {
  usage?: { inputTokens: number; outputTokens: number };
  cost = 0;
  model?: string;
  /** Tool calls of a model-backed task run with this worker's own definition of the agent. */
  readonly toolCalls: ToolCallRecord[] = [];
  private _outputs?: Record<string, unknown>;

  constructor(
    private readonly d: WorkerJobData,
    /** The job's values, unpacked ({@link unpackValues}). */
    private readonly v: ReturnType<typeof unpackValues>,
    private readonly agent: AgentDefinition,
    private readonly abort: { readonly signal: AbortSignal },
    private readonly models: ModelRunner | undefined,
    private readonly allOutputs: Record<string, unknown>,
    /** Streamed text goes out on it as `task:delta` (relayed to the orchestrators). */
    private readonly bus?: EventBus,
  ) {}

  get signal(): AbortSignal {
    return this.abort.signal;
  }
  get executionId() {
    return this.d.executionId;
  }
  get workflowId() {
    return this.d.workflowId;
  }
  get taskId() {
    return this.d.taskId;
  }
  get agentId() {
    return this.d.agentId;
  }
  get attempt() {
    return this.d.attempt;
  }
  get input() {
    return this.v.input;
  }
  get params() {
    return this.v.params;
  }
  get prompt() {
    return this.d.prompt;
  }
  get deps() {
    return this.v.deps;
  }
  get outputs() {
    // A copy: the replica is shared by every task of the execution on this worker.
    this._outputs ??= Object.assign(Object.create(null), this.allOutputs);
    return this._outputs!;
  }
  get idempotencyKey() {
    return jobIdempotencyKey(this.d);
  }
  get item() {
    return this.v.item;
  }
  get index() {
    return this.d.index;
  }
  get iteration() {
    return this.d.iteration;
  }

  /** A model-backed task's call, as the orchestrator would have made it; answers the task's output. */
  async runModelTask(call: RemoteModelCall): Promise<unknown> {
    if (!this.models) throw new CodexError(ErrorCodes.MODEL, 'this worker has no model layer configured');
    const own = call.ownDefinition === true;
    // Sent to a worker that has not registered the agent's code (it serves the agent's plain calls): another will.
    if (own && !needsOwnDefinition(this.agent))
      throw new CodexError(
        ErrorCodes.QUEUE,
        `worker has no definition of agent "${this.agent.id}" with its tools or output schema`,
        { retryable: true },
      );
    const deltas = this.deltas();
    const r = await this.models
      .run({
        agentId: this.agent.id,
        requirements: call.requirements,
        system: call.system,
        prompt: call.prompt,
        context: call.context,
        executionId: this.d.executionId,
        workflowId: this.d.workflowId,
        taskId: this.d.taskId,
        signal: this.signal,
        budget: call.budget,
        output: call.output ?? (own ? this.agent.output : undefined),
        tools: own && this.agent.tools?.length ? this.agent.tools : undefined,
        onToolCall: own ? (rec) => this.toolCalls.push(rec) : undefined,
        maxSteps: call.maxSteps,
        idempotencyKey: this.idempotencyKey,
        iteration: this.d.index ?? this.d.iteration,
        onDelta: deltas?.push,
      })
      .finally(() => deltas?.flush());
    // One tick for the relay's batched PUBLISH of the last deltas to go out before the task's result.
    if (deltas) await new Promise(setImmediate);
    this.note(r);
    // With an output schema the parsed value is the output; otherwise the answer's text (as in process).
    return r.output !== undefined ? r.output : r.text;
  }

  private note(r: ModelRunResult): void {
    this.usage = {
      inputTokens: (this.usage?.inputTokens ?? 0) + r.usage.inputTokens,
      outputTokens: (this.usage?.outputTokens ?? 0) + r.usage.outputTokens,
    };
    this.cost += r.cost;
    this.model ??= r.model;
  }

  async callModel(prompt?: string, opts: { system?: string; context?: string } = {}): Promise<ModelRunResult> {
    if (!this.models) throw new CodexError(ErrorCodes.MODEL, 'this worker has no model layer configured');
    const deltas = this.deltas();
    const r = await this.models
      .run({
        agentId: this.agent.id,
        requirements: { ...this.agent.model },
        system: opts.system ?? this.agent.instructions,
        prompt: prompt ?? (this.d.prompt || this.d.taskId),
        context: opts.context ?? '',
        executionId: this.d.executionId,
        workflowId: this.d.workflowId,
        taskId: this.d.taskId,
        signal: this.signal,
        onDelta: deltas?.push,
      })
      .finally(() => deltas?.flush());
    this.note(r);
    return r;
  }

  /** Streamed text as `task:delta` events, one per tick at most, as in process. */
  private deltas(): DeltaBatcher | undefined {
    if (!this.bus?.wants('task:delta')) return undefined;
    return new DeltaBatcher(this.bus, {
      executionId: this.d.executionId,
      workflowId: this.d.workflowId,
      taskId: this.d.taskId,
      agentId: this.d.agentId,
      iteration: this.d.index ?? this.d.iteration,
    });
  }
}
