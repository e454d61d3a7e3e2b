import { z } from 'zod';
import { collabConfigSchema } from './collab/schemas.js';
import { CodexError, ErrorCodes } from './errors.js';
import { modelsConfigSchema } from './models/config.js';
import { mcpConfigSchema } from './models/mcp/types.js';
import { executionConfigSchema } from './queue/config.js';
import { DEFAULT_EXPRESSION_LIMITS } from './workflow/expression-budget.js';
import { MAX_TIMER_MS } from './workflow/schema.js';

// The seed's configuration object. Every section is optional with defaults; sections a feature reads are
// validated here once so the rest of the code trusts typed values.
const redisSchema = z
  .object({
    host: z.string().default('localhost'),
    port: z.coerce.number().int().min(1).max(65535).default(6379),
    password: z.string().optional(),
    db: z.number().int().min(0).optional(),
    url: z.string().optional(),
    keyPrefix: z.string().default('codexos'),
  })
  .strict();

const workflowSchema = z
  .object({
    maxDepth: z.number().int().positive().default(10),
    maxTasks: z.number().int().positive().default(100),
    defaultTimeout: z.number().int().positive().max(MAX_TIMER_MS).default(30_000),
    /**
     * A timed-out or cancelled attempt whose handler ignores its signal keeps its slot (its retry, its agent
     * instance) until the handler settles, or at most this long.
     */
    timeoutGraceMs: z.number().int().min(0).max(MAX_TIMER_MS).default(5000),
    enableValidation: z.boolean().default(true),
    maxConcurrency: z.number().int().positive().default(64),
    defaultRetry: z
      .object({
        maxAttempts: z.number().int().min(1).default(3),
        initialDelayMs: z.number().min(0).max(MAX_TIMER_MS).default(100),
        maxDelayMs: z.number().min(0).max(MAX_TIMER_MS).default(10_000),
        backoffMultiplier: z.number().min(1).default(2),
        jitter: z.number().min(0).max(1).default(0.2),
      })
      .strict()
      .prefault({}),
    /** Budgets for `when`, `forEach`, `while` and `{{ }}` templates (see docs/workflows.md). */
    expressionLimits: z
      .object({
        maxDepth: z.number().int().min(1).max(1000).default(DEFAULT_EXPRESSION_LIMITS.maxDepth),
        maxSteps: z.number().int().positive().default(DEFAULT_EXPRESSION_LIMITS.maxSteps),
        maxStringLength: z
          .number()
          .int()
          .positive()
          .max(2 ** 29)
          .default(DEFAULT_EXPRESSION_LIMITS.maxStringLength),
        maxListLength: z
          .number()
          .int()
          .positive()
          .max(2 ** 27)
          .default(DEFAULT_EXPRESSION_LIMITS.maxListLength),
        maxAllocation: z.number().int().positive().default(DEFAULT_EXPRESSION_LIMITS.maxAllocation),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const agentsSchema = z
  .object({
    minAgents: z.number().int().min(0).default(2),
    maxAgents: z.number().int().positive().default(10),
    scaleUpThreshold: z.number().min(0).max(100).default(80),
    scaleDownThreshold: z.number().min(0).max(100).default(20),
    healthCheckInterval: z.number().int().positive().max(MAX_TIMER_MS).default(5000),
  })
  .strict()
  .refine((a) => a.minAgents <= a.maxAgents, { message: 'minAgents must be <= maxAgents' });

const monitoringSchema = z
  .object({
    enableMetrics: z.boolean().default(true),
    enableTracing: z.boolean().default(false),
    enableProfiling: z.boolean().default(true),
    alertThresholds: z
      .object({
        taskFailureRate: z.number().min(0).max(100).default(10),
        executionDuration: z.number().positive().default(60_000),
        memoryUsage: z.number().positive().default(536_870_912),
        cpuUsage: z.number().min(0).max(100).default(80),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const storeSchema = z
  .object({
    /** `sqlite` (default, embedded), `memory`, or `redis` (connection from the `redis` section, localhost:6379 by default). */
    type: z.enum(['sqlite', 'memory', 'redis']).default('sqlite'),
    path: z.string().default('.codexos/state.db'),
    /**
     * Execution lease, ms: the process driving a run renews it every third of this; a run whose lease ran out
     * (its process died) reads as `interrupted` and can be resumed by another process.
     */
    leaseMs: z.number().int().min(100).max(2_147_483_647).default(15_000),
  })
  .strict();

/** The zod schema of the orchestrator config. */
export const orchestratorConfigSchema = z
  .object({
    redis: redisSchema.optional(),
    workflow: workflowSchema.prefault({}),
    agents: agentsSchema.prefault({}),
    monitoring: monitoringSchema.prefault({}),
    collaboration: collabConfigSchema.prefault({}),
    store: storeSchema.prefault({}),
    /** Where tasks run: in process (default) or on `codexos worker` processes through BullMQ. */
    execution: executionConfigSchema.prefault({}),
    /** Model layer: providers, catalog overrides, selection, rate limits, budgets, batching, experiments. */
    models: modelsConfigSchema.prefault({}),
    /** MCP servers whose tools agents can name (`server/tool`, `server/*`). */
    mcp: mcpConfigSchema.prefault({}),
  })
  .strict();

/** The orchestrator config as written (the seed's shape; every section optional). */
export type OrchestratorConfigInput = z.input<typeof orchestratorConfigSchema>;
/** The validated orchestrator config, defaults filled in. */
export type OrchestratorConfig = z.output<typeof orchestratorConfigSchema>;

/** Validates an orchestrator config object and fills in the defaults; throws `CDX_ERR_CONFIG_INVALID` naming the field. */
export function parseConfig(input: unknown = {}): OrchestratorConfig {
  const r = orchestratorConfigSchema.safeParse(input ?? {});
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new CodexError(
      ErrorCodes.CONFIG_INVALID,
      `Invalid orchestrator config: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
      { issues },
    );
  }
  return r.data;
}
