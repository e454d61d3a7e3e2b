import { CodexError, ErrorCodes, toErrorInfo, type ErrorInfo } from '../errors.js';
import type { EventBus } from '../events.js';
import { Batcher } from './batcher.js';
import { callOnce } from './call.js';
import { ModelCatalog, priceOf, type IndexedModel } from './catalog.js';
import { DEFAULT_CATALOG } from './catalog-data.js';
import { CircuitBreaker, type CircuitState } from './circuit-breaker.js';
import { Semaphore } from './concurrency.js';
import { parseModelsConfig, type ModelsConfig, type ModelsConfigInput } from './config.js';
import { ExperimentRegistry, type ExperimentDefinition } from './experiments.js';
import { ProviderError } from './provider-error.js';
import { createProviders, type Env } from './providers/factory.js';
import { RateLimiter, sleep } from './rate-limiter.js';
import { Redactor } from './redact.js';
import { requestKey } from './request-key.js';
import { ModelSelector, type Selection } from './selector.js';
import { ModelStats } from './stats.js';
import { fitMessages, type ContextSummariser } from './tokens.js';
import type {
  CatalogModel,
  ModelProvider,
  ModelRequest,
  ModelRequirements,
  ModelResponse,
  ModelRunRequest,
  ModelRunResult,
  RateLimit,
} from './types.js';
import { UsageLedger } from './usage-ledger.js';

/** Where the layer reports retries, fallbacks and circuit changes. Messages are already redacted. */
export interface ModelLogger {
  debug?(msg: string, fields?: Record<string, unknown>): void;
  warn?(msg: string, fields?: Record<string, unknown>): void;
}

export interface ModelManagerOptions {
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
}

interface ProviderSlot {
  provider: ModelProvider;
  breaker: CircuitBreaker;
  semaphore?: Semaphore;
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
  readonly limiter: RateLimiter;
  readonly selector: ModelSelector;
  readonly experiments: ExperimentRegistry;
  readonly batcher?: Batcher;
  private readonly slots = new Map<string, ProviderSlot>();
  private readonly redactor = new Redactor();
  private readonly random: () => number;
  private realProviders = 0;

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
    this.limiter = new RateLimiter({
      windowMs: c.rateLimits.windowMs,
      onWait: ({ provider, model, waitMs }) => {
        if (this.bus?.wants('model:rate-limited'))
          this.bus.publish('model:rate-limited', { provider, model, waitMs, timestamp: Date.now() });
      },
    });
    for (const p of createProviders(c.providers, opts.env ?? process.env, this.redactor)) this.registerProvider(p);
    for (const p of opts.providers ?? []) this.registerProvider(p);
    this.applyModelLimits();
    this.selector = new ModelSelector(this.catalog, this.stats, {
      latencyWeight: c.selection.latencyWeight,
      minSamples: c.selection.minSamples,
      isAvailable: (id) => this.isAvailable(id),
      isOpen: (id) => this.slots.get(id)?.breaker.state === 'open',
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
  }

  /** Adds (or replaces) a provider; `rateLimit`/`maxConcurrency` default to `models.providers.<id>` config. */
  registerProvider(provider: ModelProvider, opts: { rateLimit?: RateLimit; maxConcurrency?: number } = {}): void {
    const cfg = this.config.providers[provider.id];
    const cb = this.config.circuitBreaker;
    const prev = this.slots.get(provider.id);
    if (prev && !prev.provider.offline) this.realProviders--;
    const maxConc = opts.maxConcurrency ?? cfg?.maxConcurrency;
    this.slots.set(provider.id, {
      provider,
      breaker: new CircuitBreaker({
        ...cb,
        onStateChange: (to, from) =>
          this.opts.logger?.warn?.(`circuit for provider ${provider.id}: ${from} → ${to}`, { provider: provider.id }),
      }),
      semaphore: maxConc ? new Semaphore(maxConc) : undefined,
    });
    if (!provider.offline) this.realProviders++;
    this.limiter.setProviderLimit(provider.id, opts.rateLimit ?? cfg?.rateLimit);
  }

  provider(id: string): ModelProvider | undefined {
    return this.slots.get(id)?.provider;
  }

  circuitState(providerId: string): CircuitState | undefined {
    return this.slots.get(providerId)?.breaker.state;
  }

  /** The offline provider is a candidate only when no real provider is configured. */
  isAvailable(providerId: string): boolean {
    const s = this.slots.get(providerId);
    if (!s) return false;
    return !s.provider.offline || this.realProviders === 0;
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

  async run(req: ModelRunRequest): Promise<ModelRunResult> {
    const started = performance.now();
    const reqs = this.withDefault(req.requirements ?? {});
    const exp = reqs.model ? undefined : this.experiments.pick(req.agentId);
    let chain: IndexedModel[];
    if (exp) {
      const arm = this.catalog.require(exp.model);
      chain = this.chainFor(arm, this.rankedOrEmpty({ ...reqs, forbid: [...(reqs.forbid ?? []), arm.id] }));
      this.emitSelected(arm, `experiment ${exp.id}: arm ${arm.id}`, req);
    } else {
      const sel = this.selector.select(reqs);
      chain = this.chainFor(sel.model, sel.ranked);
      this.emitSelected(sel.model, sel.reason, req);
    }

    const maxTokens = req.maxTokens ?? reqs.maxTokens ?? this.config.budgets.perTaskMaxTokens;
    const budgetKey = req.executionId ?? req.workflowId;
    const budget = req.budget ?? this.config.budgets.perWorkflow;
    const tried: string[] = [];
    let attempts = 0;
    let lastError: unknown;
    for (let i = 0; i < chain.length; i++) {
      const model = chain[i] as IndexedModel;
      const slot = this.slots.get(model.provider);
      try {
        if (!slot)
          throw new CodexError(
            ErrorCodes.MODEL_NOT_FOUND,
            `Provider '${model.provider}' for model ${model.id} is not configured`,
          );
        const fit = await fitMessages({
          system: req.system,
          prompt: req.prompt,
          context: req.context,
          modelId: model.id,
          contextWindow: model.contextWindow,
          reserveOutputTokens:
            maxTokens ??
            Math.min(
              this.config.context.reserveOutputTokens,
              model.maxOutputTokens ?? Infinity,
              Math.floor(model.contextWindow / 4),
            ),
          strategy: this.config.context.strategy,
          summarise: this.opts.summarise,
        });
        if (fit.trimmedTokens > 0) {
          this.opts.logger?.warn?.(`trimmed ~${fit.trimmedTokens} tokens of upstream context to fit ${model.id}`, {
            taskId: req.taskId,
          });
        }
        if (budgetKey) {
          this.ledger.checkBudget(budgetKey, budget, {
            inputTokens: fit.inputTokens,
            inputCost: priceOf(model, fit.inputTokens, 0),
          });
        }
        const request: ModelRequest = {
          model: model.providerModel ?? model.id,
          messages: fit.messages,
          maxTokens,
          temperature: reqs.temperature,
          json: reqs.json,
        };
        const out = await this.callWithRetries(slot, model, request, req, fit.inputTokens, (n) => (attempts += n));
        const latencyMs = performance.now() - started;
        const cost = priceOf(model, out.usage.inputTokens, out.usage.outputTokens);
        if (exp) await this.recordExperiment(exp, model.id, req, out.text, latencyMs, cost);
        return {
          text: out.text,
          provider: model.provider,
          model: model.id,
          usage: out.usage,
          cost,
          latencyMs,
          offline: slot.provider.offline || undefined,
          attempts,
          fallbacks: tried.length ? tried : undefined,
          contextTrimmedTokens: fit.trimmedTokens || undefined,
          experiment: exp ? { id: exp.id, arm: exp.model } : undefined,
        };
      } catch (err) {
        if (isFatal(err)) {
          if (exp) this.experiments.record(exp.id, exp.model, { ok: false, latencyMs: 0, cost: 0 });
          throw err;
        }
        lastError = err;
        tried.push(model.id);
        const next = chain[i + 1];
        if (next) {
          const info = toErrorInfo(err);
          this.opts.logger?.warn?.(`falling back from ${model.id} to ${next.id}: ${info.message}`, { code: info.code });
          if (this.bus?.wants('model:fallback')) {
            this.bus.publish('model:fallback', {
              from: model.id,
              to: next.id,
              error: info,
              taskId: req.taskId,
              executionId: req.executionId,
              timestamp: Date.now(),
            });
          }
        }
      }
    }
    if (exp) this.experiments.record(exp.id, exp.model, { ok: false, latencyMs: 0, cost: 0 });
    throw finalError(lastError, tried);
  }

  /** Dispatch pending batches now (call before shutdown). */
  flush(): void {
    this.batcher?.flushAll();
  }

  private async callWithRetries(
    slot: ProviderSlot,
    model: IndexedModel,
    request: ModelRequest,
    req: ModelRunRequest,
    inputTokens: number,
    countAttempt: (n: number) => void,
  ): Promise<ModelResponse> {
    const r = this.config.retry;
    const state = { delivered: false };
    let key: string | undefined;
    for (let attempt = 1; ; attempt++) {
      if (!slot.breaker.tryPass()) {
        throw new CodexError(
          ErrorCodes.MODEL_CIRCUIT_OPEN,
          `Circuit open for provider ${slot.provider.id}: retry in ${slot.breaker.retryInMs()} ms`,
          {
            retryable: true,
          },
        );
      }
      countAttempt(1);
      const t0 = performance.now();
      try {
        const res = await this.dispatch(slot, model, request, req, inputTokens, attempt, state);
        const latencyMs = performance.now() - t0;
        slot.breaker.success();
        this.stats.record(model.id, true, latencyMs);
        const cost = priceOf(model, res.usage.inputTokens, res.usage.outputTokens);
        this.ledger.record({
          executionId: req.executionId,
          workflowId: req.workflowId,
          taskId: req.taskId,
          model: model.id,
          provider: model.provider,
          usage: res.usage,
          cost,
        });
        if (this.bus?.wants('model:call')) {
          key ??= requestKey(request);
          this.emitCall(req, model, latencyMs, res.usage, cost, true, undefined, key);
        }
        return res;
      } catch (err) {
        const latencyMs = performance.now() - t0;
        if (isCodex(err, ErrorCodes.CANCELLED)) throw err;
        slot.breaker.failure();
        this.stats.record(model.id, false, latencyMs);
        if (this.bus?.wants('model:call')) {
          key ??= requestKey(request);
          this.emitCall(req, model, latencyMs, { inputTokens: 0, outputTokens: 0 }, 0, false, toErrorInfo(err), key);
        }
        const pe = err instanceof ProviderError ? err : undefined;
        // Text already streamed to the caller cannot be taken back, so a broken stream is not retried.
        if (!pe?.retryable || state.delivered || attempt >= r.maxAttempts) throw err;
        if (pe.retryAfterMs !== undefined && pe.retryAfterMs > r.maxRetryAfterMs) throw err;
        const backoff =
          Math.min(r.maxDelayMs, r.initialDelayMs * r.multiplier ** (attempt - 1)) * (1 - r.jitter * this.random());
        const delay = Math.max(backoff, pe.retryAfterMs ?? 0);
        if (pe.kind === 'rate-limit' && pe.retryAfterMs !== undefined)
          this.limiter.pause(model.provider, model.id, pe.retryAfterMs);
        this.opts.logger?.debug?.(
          `retrying ${model.id} in ${Math.round(delay)} ms (attempt ${attempt + 1}/${r.maxAttempts}): ${pe.message}`,
        );
        await sleep(delay, req.signal).catch(() => {
          throw new CodexError(ErrorCodes.CANCELLED, `Call to ${model.id} cancelled`);
        });
      }
    }
  }

  /** One attempt: rate-limit reservation (or a batch slot), provider concurrency bound, the call itself. */
  private async dispatch(
    slot: ProviderSlot,
    model: IndexedModel,
    request: ModelRequest,
    req: ModelRunRequest,
    inputTokens: number,
    attempt: number,
    state: { delivered: boolean },
  ): Promise<ModelResponse> {
    const reserveTokens = inputTokens + (request.maxTokens ?? this.config.context.reserveOutputTokens);
    const t = this.config.timeouts;
    const call = (): Promise<ModelResponse> => {
      const go = () =>
        callOnce(request, {
          provider: slot.provider,
          modelId: model.id,
          redactor: this.redactor,
          signal: req.signal,
          requestTimeoutMs: t.requestMs,
          idleTimeoutMs: t.idleMs,
          onDelta: req.onDelta,
          state,
          estimatedInputTokens: inputTokens,
        });
      return slot.semaphore ? slot.semaphore.run(go) : go();
    };
    const b = this.config.batching;
    if (this.batcher && attempt === 1 && !req.onDelta && inputTokens <= b.maxPromptTokens) {
      return this.batcher.submit(model.id, reserveTokens, call);
    }
    const reservation = await this.limiter.acquire(model.provider, model.id, 1, reserveTokens, req.signal);
    const res = await call();
    reservation.settle(res.usage.inputTokens + res.usage.outputTokens);
    return res;
  }

  private chainFor(primary: IndexedModel, ranked: IndexedModel[]): IndexedModel[] {
    const f = this.config.fallback;
    if (!f.enabled) return [primary];
    const chain = [primary];
    const seen = new Set([primary.id]);
    const push = (m: IndexedModel | undefined): void => {
      if (m && !seen.has(m.id) && this.isAvailable(m.provider) && chain.length < f.maxModels) {
        seen.add(m.id);
        chain.push(m);
      }
    };
    for (const id of f.chains[primary.id] ?? []) push(this.catalog.get(id));
    for (const m of ranked) push(m);
    return chain;
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

  private async recordExperiment(
    exp: { id: string; model: string },
    modelId: string,
    req: ModelRunRequest,
    text: string,
    latencyMs: number,
    cost: number,
  ) {
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

  private emitCall(
    req: ModelRunRequest,
    model: IndexedModel,
    latencyMs: number,
    usage: ModelResponse['usage'],
    cost: number,
    success: boolean,
    error: ErrorInfo | undefined,
    key: string,
  ): void {
    this.bus?.publish('model:call', {
      executionId: req.executionId,
      taskId: req.taskId,
      agentId: req.agentId,
      provider: model.provider,
      model: model.id,
      latencyMs,
      usage,
      cost,
      success,
      error,
      requestKey: key,
      timestamp: Date.now(),
    });
  }
}

function isCodex(err: unknown, code: string): boolean {
  return err instanceof CodexError && err.code === code;
}

/** Errors no other model can fix: cancellation and budgets. */
function isFatal(err: unknown): boolean {
  return isCodex(err, ErrorCodes.CANCELLED) || isCodex(err, ErrorCodes.BUDGET_EXCEEDED);
}

function finalError(last: unknown, tried: string[]): CodexError {
  if (last instanceof CodexError && tried.length <= 1) return last;
  const info = toErrorInfo(last);
  const code = last instanceof CodexError ? last.code : ErrorCodes.MODEL;
  return new CodexError(code, `All ${tried.length} models failed (${tried.join(' → ')}); last error: ${info.message}`, {
    retryable: last instanceof CodexError ? last.retryable : true,
  });
}
