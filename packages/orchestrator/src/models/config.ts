import { z } from 'zod';
import { CodexError, ErrorCodes } from '../errors.js';

// The `models` section of the orchestrator config. Validated once here; the rest of the layer trusts the output.
const rateLimitSchema = z
  .object({ rpm: z.number().positive().optional(), tpm: z.number().positive().optional() })
  .strict();

const providerSchema = z
  .object({
    /** Wire format. Built-in ids (`openai`, `anthropic`, `google`, `local`) imply theirs; others default to OpenAI-compatible. */
    type: z.enum(['openai', 'anthropic', 'google', 'openai-compatible', 'local']).optional(),
    apiKey: z.string().optional(),
    baseURL: z.string().url().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    rateLimit: rateLimitSchema.optional(),
    /** Concurrent in-flight requests to this provider (undefined: unbounded). */
    maxConcurrency: z.number().int().positive().optional(),
    enabled: z.boolean().default(true),
  })
  .strict();

/** zod schema of one catalog model entry (id, provider, capabilities, context window, prices, limits). */
export const catalogModelSchema = z
  .object({
    id: z.string().min(1),
    provider: z.string().min(1),
    providerModel: z.string().optional(),
    capabilities: z.array(z.string()),
    contextWindow: z.number().int().positive(),
    maxOutputTokens: z.number().int().positive().optional(),
    inputPricePerMTok: z.number().min(0),
    outputPricePerMTok: z.number().min(0),
    rateLimit: rateLimitSchema.optional(),
    typicalLatencyMs: z.number().min(0).optional(),
    deprecated: z.boolean().optional(),
    priceSource: z.string().optional(),
    offline: z.boolean().optional(),
  })
  .strict();

/** A partial entry overrides fields of the model with the same id; a full entry adds a model. */
export const catalogOverrideSchema = catalogModelSchema.partial().extend({ id: z.string().min(1) });

const experimentSchema = z
  .object({
    id: z.string().min(1),
    /** Agent whose calls are split; omit to split every agent's calls. */
    agentId: z.string().optional(),
    arms: z.array(z.object({ model: z.string().min(1), weight: z.number().positive() }).strict()).min(2),
    enabled: z.boolean().default(true),
  })
  .strict();

/** zod schema of the `models` config section, with defaults. */
export const modelsConfigSchema = z
  .object({
    /** Named providers. Keys are provider ids used by catalog entries. */
    providers: z.record(z.string(), providerSchema).default({}),
    catalog: z
      .object({
        /** JSON file with an array of catalog entries/overrides, read at startup. */
        file: z.string().optional(),
        models: z.array(catalogOverrideSchema).default([]),
        /** Drop the shipped catalog and use only `models` / `file`. */
        replace: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    /** Model used when an agent states no requirements at all (else the selector picks). */
    defaultModel: z.string().optional(),
    selection: z
      .object({
        /** Weight of measured latency (seconds) against price; `low` latency preference multiplies it by 10. */
        latencyWeight: z.number().min(0).default(0.1),
        /** Calls observed before measured latency/success replace the catalog's nominal figures. */
        minSamples: z.number().int().min(0).default(3),
      })
      .strict()
      .prefault({}),
    retry: z
      .object({
        maxAttempts: z.number().int().min(1).default(3),
        initialDelayMs: z.number().min(0).default(250),
        maxDelayMs: z.number().min(0).default(8_000),
        multiplier: z.number().min(1).default(2),
        jitter: z.number().min(0).max(1).default(0.2),
        /** Longest `retry-after` honoured before giving up on this model and falling back. */
        maxRetryAfterMs: z.number().min(0).default(60_000),
      })
      .strict()
      .prefault({}),
    timeouts: z
      .object({
        /** Whole-request limit for non-streaming calls: a hung request is aborted and retried. */
        requestMs: z.number().positive().default(120_000),
        /** Longest silence between stream chunks (and before the first) before the stream is aborted. */
        idleMs: z.number().positive().default(60_000),
      })
      .strict()
      .prefault({}),
    circuitBreaker: z
      .object({
        /** Outcomes remembered per provider. */
        windowSize: z.number().int().positive().default(50),
        minCalls: z.number().int().positive().default(20),
        /** Failure ratio over the window that opens the circuit: high, so scattered faults that retries absorb never trip it. */
        failureRate: z.number().gt(0).max(1).default(0.8),
        /** Time open before one probe call is let through (half-open). */
        cooldownMs: z.number().min(0).default(30_000),
      })
      .strict()
      .prefault({}),
    fallback: z
      .object({
        enabled: z.boolean().default(true),
        /** Models tried per call, the first included. */
        maxModels: z.number().int().positive().default(3),
        /** Explicit chains: model id → models to try next, in order (before the selector's ranking). */
        chains: z.record(z.string(), z.array(z.string())).default({}),
      })
      .strict()
      .prefault({}),
    rateLimits: z
      .object({
        /** Window the rpm/tpm figures apply to; 60 000 ms for per-minute limits. */
        windowMs: z.number().positive().default(60_000),
        /** Enforce the catalog's per-model limits (entry-tier defaults) when config gives none. */
        fromCatalog: z.boolean().default(false),
        models: z.record(z.string(), rateLimitSchema).default({}),
      })
      .strict()
      .prefault({}),
    budgets: z
      .object({
        perWorkflow: z
          .object({ maxTokens: z.number().positive().optional(), maxCostUsd: z.number().positive().optional() })
          .strict()
          .optional(),
        /** Default output-token cap per task when the agent sets none. */
        perTaskMaxTokens: z.number().int().positive().optional(),
      })
      .strict()
      .prefault({}),
    context: z
      .object({
        /** What to do when upstream context does not fit: trim the middle, summarise (via a hook), or fail. */
        strategy: z.enum(['trim', 'summarise', 'fail']).default('trim'),
        /** Output tokens reserved when the call sets no maxTokens. */
        reserveOutputTokens: z.number().int().positive().default(1_024),
      })
      .strict()
      .prefault({}),
    batching: z
      .object({
        enabled: z.boolean().default(false),
        /** Requests to the same model arriving within this window are dispatched together. */
        windowMs: z.number().min(0).default(10),
        maxBatchSize: z.number().int().positive().default(32),
        /** In-flight calls per batch. */
        concurrency: z.number().int().positive().default(8),
        /** Only prompts up to this many tokens are batched ("small" requests). */
        maxPromptTokens: z.number().int().positive().default(2_000),
      })
      .strict()
      .prefault({}),
    experiments: z.array(experimentSchema).default([]),
  })
  .strict();

/** The `models` config section as a user writes it (defaults not yet applied). */
export type ModelsConfigInput = z.input<typeof modelsConfigSchema>;
/** The validated `models` config section: providers, catalog, selection, retries, limits, budgets, batching and experiments. */
export type ModelsConfig = z.output<typeof modelsConfigSchema>;
/** One configured provider: wire format, key, base URL, headers, rate limit, concurrency and whether it is enabled. */
export type ProviderConfig = z.output<typeof providerSchema>;
/** A configured A/B experiment: an id, an optional agent and the weighted model arms its calls are split between. */
export type ExperimentConfig = z.output<typeof experimentSchema>;
/** A catalog entry from config: a new model, or fields that replace those of the shipped entry with the same id. */
export type CatalogOverride = z.output<typeof catalogOverrideSchema>;

/** Validates the `models` section of the config (providers, catalog overrides, budgets, limits). */
export function parseModelsConfig(input: unknown): ModelsConfig {
  const r = modelsConfigSchema.safeParse(input ?? {});
  if (r.success) return r.data;
  // Zod issues carry paths and messages, never the offending values, so keys cannot leak through here.
  const issues = r.error.issues.map((i) => ({ path: `models.${i.path.join('.')}`, message: i.message }));
  throw new CodexError(
    ErrorCodes.CONFIG_INVALID,
    `Invalid models config: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    {
      issues,
    },
  );
}
