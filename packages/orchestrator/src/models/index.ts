// Public API of the model layer.

export { Batcher, type BatcherOptions, type BatchStats } from './batcher.js';
export { type IndexedModel, ModelCatalog, priceOf } from './catalog.js';
export { DEFAULT_CATALOG, PRICES_AS_OF } from './catalog-data.js';
export { CircuitBreaker, type CircuitBreakerOptions, type CircuitState } from './circuit-breaker.js';
export type { CatalogOverride, ExperimentConfig, ModelsConfig, ModelsConfigInput, ProviderConfig } from './config.js';
export { catalogModelSchema, modelsConfigSchema, parseModelsConfig } from './config.js';
export { type ArmReport, type ExperimentDefinition, ExperimentRegistry, type ExperimentReport } from './experiments.js';
export { estimateTokens, LocalProvider } from './local-provider.js';
export { type ModelLogger, ModelManager, type ModelManagerOptions } from './manager.js';
export { McpManager } from './mcp/manager.js';
export { type McpConfig, type McpConfigInput, type McpServerConfig, mcpConfigSchema } from './mcp/types.js';
export { type FailureKind, ProviderError, parseRetryAfter } from './provider-error.js';
export { ANTHROPIC_DEFAULT_BASE_URL, AnthropicProvider, type AnthropicProviderOptions } from './providers/anthropic.js';
export { defineProvider } from './providers/code.js';
export { createProviders } from './providers/factory.js';
export { GOOGLE_DEFAULT_BASE_URL, GoogleProvider, type GoogleProviderOptions } from './providers/google.js';
export {
  type LangChainChatModelLike,
  LangChainProvider,
  type LangChainProviderOptions,
} from './providers/langchain.js';
export { OPENAI_DEFAULT_BASE_URL, OpenAIProvider, type OpenAIProviderOptions } from './providers/openai.js';
export { type ModelRateLimiter, RateLimiter, type Reservation, WindowLimiter } from './rate-limiter.js';
export { Redactor } from './redact.js';
export { RedisBudgetLedger } from './redis-budget.js';
export { RedisRateLimiter } from './redis-rate-limiter.js';
export { requestKey } from './request-key.js';
export { type NormalisedSchema, normaliseSchema } from './schema.js';
export { sampleFromSchema } from './schema-sample.js';
export { ModelSelector, type Selection, type SelectorOptions } from './selector.js';
export { type ModelStat, ModelStats } from './stats.js';
export { extractJson, parseStructured } from './structured-output.js';
export { type ContextSummariser, countMessageTokens, fitMessages, trimMiddle } from './tokens.js';
export { DEFAULT_MAX_STEPS, runAgentLoop } from './tools/loop.js';
export { type ResolvedTool, ToolRegistry, type ToolSource } from './tools/registry.js';
export * from './types.js';
export { UsageLedger, type UsageRecord, type UsageTotals } from './usage-ledger.js';
