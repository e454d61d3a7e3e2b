import type { AgentDefinition, TaskContext } from '../../agents/types.js';
import { CodexError, ErrorCodes } from '../../errors.js';
import type { ModelRunner, ModelRunResult } from '../../models/types.js';
import type { TaskJobData } from '../types.js';

/** A handler's `ctx` on a worker: built from the job's data. `outputs` holds the direct dependencies' outputs. */
export class WorkerContext implements TaskContext {
  usage?: { inputTokens: number; outputTokens: number };
  cost = 0;
  model?: string;

  constructor(
    private readonly d: TaskJobData,
    private readonly agent: AgentDefinition,
    readonly signal: AbortSignal,
    private readonly models?: ModelRunner,
  ) {}

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
    return this.d.input;
  }
  get params() {
    return this.d.params;
  }
  get prompt() {
    return this.d.prompt;
  }
  get deps() {
    return this.d.deps;
  }
  get outputs() {
    return this.d.deps;
  }
  get idempotencyKey() {
    return this.d.idempotencyKey;
  }
  get item() {
    return this.d.item;
  }
  get index() {
    return this.d.index;
  }
  get iteration() {
    return this.d.iteration;
  }

  async callModel(prompt?: string, opts: { system?: string; context?: string } = {}): Promise<ModelRunResult> {
    if (!this.models) throw new CodexError(ErrorCodes.MODEL, 'this worker has no model layer configured');
    const r = await this.models.run({
      agentId: this.agent.id,
      requirements: { ...this.agent.model },
      system: opts.system ?? this.agent.instructions,
      prompt: prompt ?? (this.d.prompt || this.d.taskId),
      context: opts.context ?? '',
      executionId: this.d.executionId,
      workflowId: this.d.workflowId,
      taskId: this.d.taskId,
      signal: this.signal,
    });
    this.usage = {
      inputTokens: (this.usage?.inputTokens ?? 0) + r.usage.inputTokens,
      outputTokens: (this.usage?.outputTokens ?? 0) + r.usage.outputTokens,
    };
    this.cost += r.cost;
    this.model ??= r.model;
    return r;
  }
}
