import type { ZodType } from 'zod';
import type { TokenUsage } from '../events.js';

// The contracts of the model layer. `ModelProvider` is the small interface every provider adapter implements
// (OpenAI, Anthropic, Google, OpenAI-compatible, local, user code); `ModelRunner` is what the workflow engine
// calls for an agent without a code handler.

/** Author of a chat message. */
export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';
/** One message of a conversation sent to a model, including tool calls and tool results. */
export interface ChatMessage {
  role: ChatRole;
  content: string;
  /** Assistant turns that asked for tools. */
  toolCalls?: ToolCall[];
  /** Tool turns: which call this answers (and the tool's name, which Gemini matches on). */
  toolCallId?: string;
  toolName?: string;
  /** Tool turns: the content is an error the model should correct. */
  isError?: boolean;
}

/** A tool as sent to a provider: name, description and the JSON Schema of its arguments. */
export interface ToolSpec {
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
}

/** A tool call the model asked for; `arguments` is the parsed JSON (or the raw text when it did not parse). */
export interface ToolCall {
  id: string;
  name: string;
  arguments: unknown;
}

/** Native structured output: the answer must be JSON matching this schema. */
export interface ResponseSchema {
  name: string;
  schema: Record<string, unknown>;
}

/** One provider call: model name, messages and generation options (tokens, temperature, JSON, tools). */
export interface ModelRequest {
  /** Provider-side model name, e.g. `gpt-4o-mini`. */
  model: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  /** Ask for a JSON object answer where the provider supports it. */
  json?: boolean;
  /** Tools the model may call, in the provider's native format. */
  tools?: ToolSpec[];
  /** Ask for an answer matching this JSON Schema (the provider's native structured output). */
  responseSchema?: ResponseSchema;
}

/** Per-call options every provider honours: the signal aborts a hung or cancelled request. */
export interface ProviderCallOptions {
  signal?: AbortSignal;
}

/** A provider's complete answer: text, model, token usage, finish reason and requested tool calls. */
export interface ModelResponse {
  text: string;
  model: string;
  usage: TokenUsage;
  finishReason?: string;
  /** Tools the model asked to call (the answer is not final while these are pending). */
  toolCalls?: ToolCall[];
}

/** One piece of a streamed answer; the last one carries usage and `done: true`. */
export interface ModelStreamChunk {
  /** Text delta; the final chunk carries `usage` and `done: true`. */
  delta: string;
  done?: boolean;
  usage?: TokenUsage;
  finishReason?: string;
  /** Tool calls assembled from the streamed deltas, on the final chunk. */
  toolCalls?: ToolCall[];
}

/** The interface every model provider implements: `complete` and, optionally, `stream`. */
export interface ModelProvider {
  /** Provider id used in the catalog and config, e.g. `openai`, `anthropic`, `google`, `local`, `my-vllm`. */
  readonly id: string;
  /** True for the offline deterministic provider, so UIs can label its answers. */
  readonly offline?: boolean;
  complete(req: ModelRequest, opts?: { signal?: AbortSignal }): Promise<ModelResponse>;
  stream?(req: ModelRequest, opts?: { signal?: AbortSignal }): AsyncIterable<ModelStreamChunk>;
}

/** A capability a catalog model offers and an agent may require (the listed ones or any custom name). */
export type Capability =
  | 'reasoning'
  | 'code'
  | 'analysis'
  | 'vision'
  | 'long-context'
  | 'json'
  | 'chat'
  | 'fast'
  | (string & {});

/** What an agent asks of a model. */
export interface ModelRequirements {
  capabilities?: Capability[];
  minContextWindow?: number;
  /** Upper bound on the blended price per million tokens (USD). */
  maxCostPerMTokens?: number;
  latency?: 'low' | 'normal' | 'any';
  /** Model ids tried first, in order, when they meet the requirements. */
  prefer?: string[];
  forbid?: string[];
  /** Pin one model id; selection is skipped. */
  model?: string;
  maxTokens?: number;
  temperature?: number;
  /** Ask for a JSON answer (also implies the `json` capability when selecting). */
  json?: boolean;
}

/** A token/cost ceiling; either bound alone is allowed. */
export interface Budget {
  maxTokens?: number;
  maxCostUsd?: number;
}

/**
 * Token and cost totals per execution kept where every process sees them (Redis, in distributed mode), so a
 * workflow's budget holds across the orchestrator and its workers.
 */
export interface SharedBudgetLedger {
  /** Throws BUDGET_EXCEEDED when the execution's totals across processes, plus the next call's input, cross `budget`. */
  check(executionId: string, budget: Budget, next: { inputTokens: number; inputCost: number }): Promise<void>;
  /** Adds one call's tokens and cost to the execution's totals. */
  add(executionId: string, usage: { inputTokens: number; outputTokens: number }, cost: number): Promise<void>;
}

/** What the engine hands the model layer for one task attempt. */
export interface ModelRunRequest {
  agentId: string;
  requirements: ModelRequirements;
  system?: string;
  prompt: string;
  /** Upstream outputs already rendered as text, fitted into the model's window by the model layer. */
  context?: string;
  executionId?: string;
  workflowId?: string;
  taskId?: string;
  signal?: AbortSignal;
  /** Cap on output tokens for this call (overrides `requirements.maxTokens`). */
  maxTokens?: number;
  /** Per-workflow (execution) budget; overrides `models.budgets.perWorkflow` from config. */
  budget?: Budget;
  /** Stream the answer: called with each text delta as it arrives. */
  onDelta?: (delta: string) => void;
  /** Scores an answer in [0, 1] for A/B experiments (quality per arm). */
  scorer?: (text: string, req: ModelRunRequest) => number | Promise<number>;
  /** Turns after the prompt (assistant tool calls and tool results of a tool loop). */
  messages?: ChatMessage[];
  /** Tools the model may call: definitions with handlers, or names (`search`, `github/*`) resolved by the registry. */
  tools?: ToolRef[];
  /** Structured output: the answer is parsed and validated against this schema. */
  output?: OutputSpec;
  /** Tool-loop step limit (default 8). */
  maxSteps?: number;
  /** Passed to tool handlers: stable per task (and loop item) across retries and resumes. */
  idempotencyKey?: string;
  /** Loop item index / iteration, for tool events. */
  iteration?: number;
  /** Called with each tool call's record as it settles (the engine keeps them on the attempt). */
  onToolCall?: (record: ToolCallRecord) => void;
  /** Native wire-level schema for one step (set by the structured-output layer). */
  responseSchema?: ResponseSchema;
  /** Tool specs for one step (set by the tool loop). */
  toolSpecs?: ToolSpec[];
}

/** A tool definition or a name/pattern (`search`, `github/*`). Objects without a handler are looked up by name. */
export type ToolRef = string | ToolDefinition | { name: string; description?: string };

/** A schema given as zod or as JSON Schema. */
export type SchemaLike = ZodType | Record<string, unknown>;

/** Structured output wanted from a model: the schema its answer must match and the name sent to the provider. */
export interface OutputSpec {
  schema: SchemaLike;
  /** Name sent to providers that want one (default `output`). */
  name?: string;
}

/** What a tool handler receives besides its validated arguments. */
export interface ToolContext {
  /** Aborted on task timeout, workflow timeout or cancellation. */
  signal: AbortSignal;
  /** The task's idempotency key (the same across retries and after a resume): dedupe side effects with it. */
  idempotencyKey: string;
  toolCallId: string;
  step: number;
  executionId?: string;
  taskId?: string;
  agentId?: string;
}

/** A tool a model may call: name, description, argument schema and the handler that runs it. */
export interface ToolDefinition<A = any> {
  name: string;
  description?: string;
  /** zod schema or JSON Schema of the arguments (default: any object). */
  inputSchema?: SchemaLike;
  handler: (args: A, ctx: ToolContext) => unknown | Promise<unknown>;
}

/** One tool call as recorded on the task's attempt. Never holds credentials: arguments are the model's. */
export interface ToolCallRecord {
  step: number;
  id: string;
  tool: string;
  arguments: unknown;
  status: 'completed' | 'failed' | 'invalid';
  result?: unknown;
  error?: { code: string; message: string };
  durationMs: number;
  /** The task attempt and loop item (set by the engine). */
  attempt?: number;
  iteration?: number;
}

/** Result of a model run for a task: text, chosen provider and model, usage, cost, latency and attempts. */
export interface ModelRunResult {
  text: string;
  provider: string;
  model: string;
  usage: TokenUsage;
  cost: number;
  latencyMs: number;
  offline?: boolean;
  /** Provider calls made, retries and fallbacks included. */
  attempts?: number;
  /** Models tried before the one that answered. */
  fallbacks?: string[];
  /** Tokens of upstream context dropped to fit the model's window (0 or absent: none). */
  contextTrimmedTokens?: number;
  /** Set when the call belonged to an A/B experiment arm. */
  experiment?: { id: string; arm: string };
  /** Tools the model asked for in this step (only on single steps inside a tool loop). */
  toolCalls?: ToolCall[];
  /** Tool calls made across the loop, in order. */
  tools?: ToolCallRecord[];
  /** Model calls in the tool loop / structured-output retries (1 for a plain answer). */
  steps?: number;
  /** The parsed, validated structured output (when `output` was asked for). */
  output?: unknown;
}

/** What the workflow engine calls to run an agent that has no code handler on a model. */
export interface ModelRunner {
  run(req: ModelRunRequest): Promise<ModelRunResult>;
  /** The execution has ended (any status): per-execution state may be let go. */
  release?(executionId: string): void;
}

/** One model in the catalog. Prices are USD per million tokens. */
export interface CatalogModel {
  /** Catalog id used in requirements and config, e.g. `claude-3-sonnet`. */
  id: string;
  provider: string;
  /** Name sent to the provider; defaults to `id`. */
  providerModel?: string;
  capabilities: Capability[];
  contextWindow: number;
  maxOutputTokens?: number;
  inputPricePerMTok: number;
  outputPricePerMTok: number;
  rateLimit?: RateLimit;
  /** Nominal latency to first answer (ms) used until real calls are measured. */
  typicalLatencyMs?: number;
  /** Legacy/retired models stay selectable only when pinned or preferred. */
  deprecated?: boolean;
  /** Where the price came from, e.g. a pricing page and date, or a note when it is an estimate. */
  priceSource?: string;
  offline?: boolean;
}

/** Request and token rate limit of a provider or model, per window. */
export interface RateLimit {
  /** Requests per window (minute by default). */
  rpm?: number;
  /** Tokens (input + reserved output) per window. */
  tpm?: number;
}

/** Where the model layer reports retries, fallbacks and circuit changes. Messages are already redacted. */
export interface ModelLogger {
  debug?(msg: string, fields?: Record<string, unknown>): void;
  warn?(msg: string, fields?: Record<string, unknown>): void;
}
