import type { TokenUsage } from '../events.js';
import type { ModelRequirements, ModelRunResult, OutputSpec, ToolRef } from '../models/types.js';

/** What a code handler receives for one attempt of one task. */
export interface TaskContext {
  executionId: string;
  workflowId: string;
  taskId: string;
  agentId: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** The workflow's input. */
  input: unknown;
  /** The task's `input` object with templates rendered. */
  params: Record<string, unknown>;
  /** `params.prompt` rendered, or '' when the task has none. */
  prompt: string;
  /** Outputs of this task's direct dependencies, by task id. */
  readonly deps: Record<string, unknown>;
  /** Outputs of every task completed so far in this execution, by task id. */
  readonly outputs: Record<string, unknown>;
  /** The current item and index for `forEach` tasks, and the iteration number for `while` tasks. */
  item?: unknown;
  index?: number;
  iteration?: number;
  /** Aborted on task timeout, workflow timeout or cancellation. */
  readonly signal: AbortSignal;
  /** Stable per task (and loop item) across retries and resumes; tools get the same key to dedupe side effects. */
  readonly idempotencyKey?: string;
  /** Call the model layer with this agent's requirements (the default behaviour of handler-less agents). */
  callModel(prompt?: string, opts?: { system?: string; context?: string }): Promise<ModelRunResult>;
  /**
   * Waits durably for `orchestrator.signal(executionId, name, payload)` and answers its payload. Until then the
   * attempt ends and the task waits without a slot; once signalled the handler runs again from the start and this
   * call answers at once (code before it runs again: make it idempotent, see `idempotencyKey`). Rejects with
   * CDX_ERR_WAIT_TIMEOUT after `timeoutMs`. Not available on remote workers.
   */
  waitFor?(name: string, opts?: { timeoutMs?: number }): Promise<unknown>;
}

/** A code agent's function: gets the task's context, returns the task's output. */
export type AgentHandler = (ctx: TaskContext) => unknown | Promise<unknown>;

/** An agent: its id, model requirements and instructions, or a code `handler` that runs instead of a model call. */
export interface AgentDefinition {
  id: string;
  name?: string;
  /** System instructions sent to the model. */
  instructions?: string;
  model?: ModelRequirements;
  /**
   * Tools the model may call: definitions `{ name, description, inputSchema, handler }`, or names of tools
   * registered with `registerTool()` or served by an MCP server (`github/create_issue`, `github/*`).
   */
  tools?: ToolRef[];
  /** Structured output for every task of this agent (a task's own `output` wins). */
  output?: OutputSpec;
  /** Tool-loop step limit (default 8). */
  maxSteps?: number;
  /** Code handler: runs instead of a model call. */
  handler?: AgentHandler;
  /** Concurrent tasks one instance of this agent takes. */
  concurrency?: number;
  /**
   * Optional liveness probe run for each instance every `agents.healthCheckInterval`; a throw or `false` marks the
   * instance unhealthy: it takes no new task until a later probe passes (its running tasks finish and still count
   * against its concurrency). While any probe fails, the pool starts no unprobed instance for this agent.
   */
  healthCheck?: (instance: { instanceId: string }) => boolean | Promise<boolean>;
}

export interface AgentInstanceStats {
  instanceId: string;
  active: number;
  completed: number;
  failed: number;
  healthy: boolean;
}

/** One agent's pool: instances, capacity, active and waiting tasks, utilisation, mean allocation time. */
export interface AgentPoolStats {
  agentId: string;
  instances: AgentInstanceStats[];
  capacity: number;
  active: number;
  waiting: number;
  utilisation: number;
  /** Mean time a task waited for a free instance, ms. */
  meanAllocationMs: number;
}

export interface ModelTaskOutput {
  text: string;
  usage: TokenUsage;
  cost: number;
  model: string;
}
