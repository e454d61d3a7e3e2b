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
}

export interface ModelRunResult {
  text: string;
  provider: string;
  model: string;
  usage: TokenUsage;
  cost: number;
  latencyMs: number;
  offline?: boolean;
}

export interface ModelRunner {
  run(req: ModelRunRequest): Promise<ModelRunResult>;
}
