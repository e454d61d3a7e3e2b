import type { TokenUsage } from '../events.js';

// The contracts of the model layer. `ModelProvider` is the small interface every provider adapter implements
// (OpenAI, Anthropic, Google, OpenAI-compatible, local, user code); `ModelRunner` is what the workflow engine
// calls for an agent without a code handler.

export type ChatRole = 'system' | 'user' | 'assistant';
export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface ModelRequest {
  /** Provider-side model name, e.g. `gpt-4o-mini`. */
  model: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  /** Ask for a JSON object answer where the provider supports it. */
  json?: boolean;
}

/** Per-call options every provider honours: the signal aborts a hung or cancelled request. */
export interface ProviderCallOptions {
  signal?: AbortSignal;
}

export interface ModelResponse {
  text: string;
  model: string;
  usage: TokenUsage;
  finishReason?: string;
}

export interface ModelStreamChunk {
  /** Text delta; the final chunk carries `usage` and `done: true`. */
  delta: string;
  done?: boolean;
  usage?: TokenUsage;
  finishReason?: string;
}

export interface ModelProvider {
  /** Provider id used in the catalog and config, e.g. `openai`, `anthropic`, `google`, `local`, `my-vllm`. */
  readonly id: string;
  /** True for the offline deterministic provider, so UIs can label its answers. */
  readonly offline?: boolean;
  complete(req: ModelRequest, opts?: { signal?: AbortSignal }): Promise<ModelResponse>;
  stream?(req: ModelRequest, opts?: { signal?: AbortSignal }): AsyncIterable<ModelStreamChunk>;
}

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
}

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
}

export interface ModelRunner {
  run(req: ModelRunRequest): Promise<ModelRunResult>;
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
