import type { EventBus } from '../events.js';
import { Batcher } from './batcher.js';
import { type ArmOutcome, CallPath } from './call-path.js';
import { type IndexedModel, ModelCatalog } from './catalog.js';
import { DEFAULT_CATALOG } from './catalog-data.js';
import type { CircuitState } from './circuit-breaker.js';
import { type ModelsConfig, type ModelsConfigInput, parseModelsConfig } from './config.js';
import { type ExperimentDefinition, ExperimentRegistry } from './experiments.js';
import { ProviderRegistry } from './provider-registry.js';
import { createProviders, type Env } from './providers/factory.js';
import { type ModelRateLimiter, RateLimiter, type RateLimiterOptions } from './rate-limiter.js';
import { Redactor } from './redact.js';
import { ModelSelector, type Selection } from './selector.js';
import { ModelStats } from './stats.js';
import type { ContextSummariser } from './tokens.js';
import { runAgentLoop } from './tools/loop.js';
import { ToolRegistry } from './tools/registry.js';
import type {
  CatalogModel,
  ModelLogger,
  ModelProvider,
  ModelRequirements,
  ModelRunRequest,
  ModelRunResult,
  RateLimit,
  SharedBudgetLedger,
} from './types.js';
import { UsageLedger } from './usage-ledger.js';

export type { ModelLogger } from './types.js';

/** Options of the ModelManager: environment, providers written in code, base catalog, logger and random source. */
export interface ModelManagerOptions {
  /** Builds the rate limiter (e.g. a `RedisRateLimiter` shared by every process); in memory by default. */
  limiter?: (opts: RateLimiterOptions) => ModelRateLimiter;
  /** Budget totals shared by every process (e.g. a `RedisBudgetLedger`); budgets are per process without it. */
  budgetLedger?: SharedBudgetLedger;
  /** Environment for API keys and base URLs; defaults to `process.env`. */
  env?: Env;
  /** Providers written in code (or LangChain adapters), added to those built from config. */
  providers?: ModelProvider[];
  /** Base catalog instead of the shipped one (config overrides still apply). */
  catalog?: CatalogModel[];
  logger?: ModelLogger;
  /** Random source for jitter and experiment splits (seed it in tests). */
  random?: () => number;
  /** Hook for `context.strategy: 'summarise'`. */
  summarise?: ContextSummariser;
  /** Experiments defined in code (with scorers); config experiments are added too. */
  experiments?: ExperimentDefinition[];
  /** Where agents' tool names resolve (the orchestrator passes one that knows its MCP servers). */
  tools?: ToolRegistry;
}

/**
 * The model layer's front door: `run()` selects a model for an agent's requirements, fits the context, calls
 * the provider under rate limits, retries and circuit breakers, falls back along a chain, and records tokens,
 * cost and latency. Implements the engine's `ModelRunner`.
 */
export class ModelManager {
  readonly config: ModelsConfig;
  readonly catalog: ModelCatalog;
  readonly stats = new ModelStats();
  readonly ledger = new UsageLedger();
  readonly limiter: ModelRateLimiter;
  readonly selector: ModelSelector;
  readonly experiments: ExperimentRegistry;
  readonly batcher?: Batcher;
  /** Tools by name for agents that list names (`search`, `github/*`). */
  readonly tools: ToolRegistry;
  private readonly providers: ProviderRegistry;
  private readonly calls: CallPath;
  private readonly redactor = new Redactor();
  private readonly random: () => number;

  constructor(
    config: ModelsConfigInput | ModelsConfig | undefined,
    private readonly bus?: EventBus,
    private readonly opts: ModelManagerOptions = {},
  ) {
    this.config = parseModelsConfig(config ?? {});
    const c = this.config;
    this.random = opts.random ?? Math.random;
    this.catalog = new ModelCatalog(c.catalog.replace ? [] : (opts.catalog ?? DEFAULT_CATALOG));
    if (c.catalog.file) this.catalog.loadFile(c.catalog.file);
    for (const m of c.catalog.models) this.catalog.upsert(m);
    const limiterOpts: RateLimiterOptions = {
      windowMs: c.rateLimits.windowMs,
      onWait: ({ provider, model, waitMs }) => {
        if (this.bus?.wants('model:rate-limited'))
          this.bus.publish('model:rate-limited', { provider, model, waitMs, timestamp: Date.now() });
      },
    };
    this.limiter = opts.limiter?.(limiterOpts) ?? new RateLimiter(limiterOpts);
    this.providers = new ProviderRegistry(c, this.limiter, opts);
    for (const p of createProviders(c.providers, opts.env ?? process.env, this.redactor)) this.registerProvider(p);
    for (const p of opts.providers ?? []) this.registerProvider(p);
    this.applyModelLimits();
    this.selector = new ModelSelector(this.catalog, this.stats, {
      latencyWeight: c.selection.latencyWeight,
      minSamples: c.selection.minSamples,
      isAvailable: (id) => this.isAvailable(id),
      isOpen: (id) => this.providers.circuitState(id) === 'open',
    });
    this.experiments = new ExperimentRegistry(this.random);
    for (const e of c.experiments) this.experiments.add(e);
    for (const e of opts.experiments ?? []) this.experiments.add(e);
    if (c.batching.enabled) {
      this.batcher = new Batcher({
        windowMs: c.batching.windowMs,
        maxBatchSize: c.batching.maxBatchSize,
        concurrency: c.batching.concurrency,
        beforeBatch: async (modelId, size, tokens) => {
          const m = this.catalog.require(modelId);
          await this.limiter.acquire(m.provider, m.id, size, tokens);
        },
      });
    }
    this.tools = opts.tools ?? new ToolRegistry();
    this.calls = new CallPath({
      config: c,
      catalog: this.catalog,
      providers: this.providers,
      limiter: this.limiter,
      stats: this.stats,
      ledger: this.ledger,
      shared: opts.budgetLedger,
      redactor: this.redactor,
      random: this.random,
      batcher: this.batcher,
      bus: this.bus,
      opts,
    });
  }

  /** Adds (or replaces) a provider; `rateLimit`/`maxConcurrency` default to `models.providers.<id>` config. */
  registerProvider(provider: ModelProvider, opts: { rateLimit?: RateLimit; maxConcurrency?: number } = {}): void {
    this.providers.register(provider, opts);
  }

  provider(id: string): ModelProvider | undefined {
    return this.providers.slot(id)?.provider;
  }

  circuitState(providerId: string): CircuitState | undefined {
    return this.providers.circuitState(providerId);
  }

  /** The offline provider is a candidate only when no real provider is configured. */
  isAvailable(providerId: string): boolean {
    return this.providers.isAvailable(providerId);
  }

  /** Selection for an agent's requirements; emits `model:selected`. */
  select(
    requirements: ModelRequirements,
    ref: { agentId?: string; taskId?: string; executionId?: string } = {},
  ): Selection {
    const reqs = this.withDefault(requirements);
    const sel = this.selector.select(reqs);
    this.emitSelected(sel.model, sel.reason, ref);
    return sel;
  }

  /** One answer for an agent: with tools, the tool loop; with an output schema, a parsed and validated value. */
  async run(req: ModelRunRequest): Promise<ModelRunResult> {
    if (!req.tools?.length && !req.output) return this.runOne(req);
    const tools = req.tools?.length ? await this.tools.resolve(req.tools) : [];
    return runAgentLoop({ step: (r) => this.runOne(r), bus: this.bus, redactor: this.redactor }, req, tools);
  }

  private async runOne(req: ModelRunRequest): Promise<ModelRunResult> {
    const started = performance.now();
    const reqs = this.withDefault(req.requirements ?? {});
    const exp = reqs.model ? undefined : this.experiments.pick(req.agentId);
    let chain: IndexedModel[];
    if (exp) {
      const arm = this.catalog.require(exp.model);
      chain = this.calls.chainFor(arm, this.rankedOrEmpty({ ...reqs, forbid: [...(reqs.forbid ?? []), arm.id] }));
      this.emitSelected(arm, `experiment ${exp.id}: arm ${arm.id}`, req);
    } else {
      const sel = this.selector.select(reqs);
      chain = this.calls.chainFor(sel.model, sel.ranked);
      this.emitSelected(sel.model, sel.reason, req);
    }
    return this.calls.run(chain, req, reqs, started, exp && this.armOutcome(exp, req));
  }

  /** The execution has ended: its usage figures are kept for a bounded number of newer runs, then dropped. */
  release(executionId: string): void {
    this.ledger.finish(executionId);
  }

  /** Dispatch pending batches now (call before shutdown). */
  flush(): void {
    this.batcher?.flushAll();
  }

  private rankedOrEmpty(reqs: ModelRequirements): IndexedModel[] {
    try {
      return this.selector.select(reqs).ranked;
    } catch {
      return [];
    }
  }

  private withDefault(reqs: ModelRequirements): ModelRequirements {
    const d = this.config.defaultModel;
    if (!d || reqs.model) return reqs;
    const stated =
      reqs.capabilities?.length || reqs.minContextWindow || reqs.maxCostPerMTokens !== undefined || reqs.prefer?.length;
    return stated ? reqs : { ...reqs, model: d };
  }

  private applyModelLimits(): void {
    const rl = this.config.rateLimits;
    for (const m of this.catalog.list()) {
      const limit = rl.models[m.id] ?? (rl.fromCatalog ? m.rateLimit : undefined);
      if (limit) this.limiter.setModelLimit(m.id, limit);
    }
  }

  /** Records a run in its experiment arm: success (with the scorer's quality) only when the arm itself answered. */
  private armOutcome(exp: { id: string; model: string }, req: ModelRunRequest): ArmOutcome {
    return {
      id: exp.id,
      model: exp.model,
      answered: async (modelId, text, latencyMs, cost) => {
        const scorer = req.scorer ?? this.experiments.get(exp.id)?.scorer;
        let quality: number | undefined;
        if (scorer) {
          try {
            quality = await scorer(text, req);
          } catch (err) {
            this.opts.logger?.warn?.(
              `experiment ${exp.id} scorer threw: ${this.redactor.redact(String((err as Error)?.message ?? err))}`,
            );
          }
        }
        this.experiments.record(exp.id, exp.model, { ok: modelId === exp.model, latencyMs, cost, quality });
      },
      failed: () => this.experiments.record(exp.id, exp.model, { ok: false, latencyMs: 0, cost: 0 }),
    };
  }

  private emitSelected(
    model: IndexedModel,
    reason: string,
    ref: { agentId?: string; taskId?: string; executionId?: string },
  ): void {
    if (!this.bus?.wants('model:selected')) return;
    this.bus.publish('model:selected', {
      agentId: ref.agentId,
      taskId: ref.taskId,
      executionId: ref.executionId,
      provider: model.provider,
      model: model.id,
      reason: model.offline ? `${reason} [offline local model: no provider key configured]` : reason,
      timestamp: Date.now(),
    });
  }
}
