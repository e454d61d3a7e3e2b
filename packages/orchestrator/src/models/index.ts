// Public API of the model layer.
export * from './types.js';
export { LocalProvider, estimateTokens } from './local-provider.js';
export { modelsConfigSchema, catalogModelSchema, parseModelsConfig } from './config.js';
export type { ModelsConfig, ModelsConfigInput, ProviderConfig, ExperimentConfig, CatalogOverride } from './config.js';
export { DEFAULT_CATALOG, PRICES_AS_OF } from './catalog-data.js';
export { ModelCatalog, priceOf, type IndexedModel } from './catalog.js';
export { ModelSelector, type Selection, type SelectorOptions } from './selector.js';
export { ModelStats, type ModelStat } from './stats.js';
export { RateLimiter, WindowLimiter, type Reservation } from './rate-limiter.js';
export { CircuitBreaker, type CircuitState, type CircuitBreakerOptions } from './circuit-breaker.js';
export { UsageLedger, type UsageTotals, type UsageRecord } from './usage-ledger.js';
export { Batcher, type BatcherOptions, type BatchStats } from './batcher.js';
export { ExperimentRegistry, type ExperimentDefinition, type ExperimentReport, type ArmReport } from './experiments.js';
export { ProviderError, parseRetryAfter, type FailureKind } from './provider-error.js';
export { Redactor } from './redact.js';
export { requestKey } from './request-key.js';
export { countMessageTokens, fitMessages, trimMiddle, type ContextSummariser } from './tokens.js';
export { ModelManager, type ModelManagerOptions, type ModelLogger } from './manager.js';
export { OpenAIProvider, OPENAI_DEFAULT_BASE_URL, type OpenAIProviderOptions } from './providers/openai.js';
export { AnthropicProvider, ANTHROPIC_DEFAULT_BASE_URL, type AnthropicProviderOptions } from './providers/anthropic.js';
export { GoogleProvider, GOOGLE_DEFAULT_BASE_URL, type GoogleProviderOptions } from './providers/google.js';
export {
  LangChainProvider,
  type LangChainChatModelLike,
  type LangChainProviderOptions,
} from './providers/langchain.js';
export { defineProvider } from './providers/code.js';
export { createProviders } from './providers/factory.js';
export { ToolRegistry, type ResolvedTool, type ToolSource } from './tools/registry.js';
export { runAgentLoop, DEFAULT_MAX_STEPS } from './tools/loop.js';
export { normaliseSchema, type NormalisedSchema } from './schema.js';
export { extractJson, parseStructured } from './structured-output.js';
export { McpManager } from './mcp/manager.js';
export { mcpConfigSchema, type McpConfig, type McpConfigInput, type McpServerConfig } from './mcp/types.js';
export { sampleFromSchema } from './schema-sample.js';
