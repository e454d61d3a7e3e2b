import { CodexError, ErrorCodes, type ErrorInfo, toErrorInfo } from '../errors.js';
import type { EventBus } from '../events.js';
import type { Batcher } from './batcher.js';
import { CallerError } from './call.js';
import { type IndexedModel, type ModelCatalog, priceOf } from './catalog.js';
import type { ModelsConfig } from './config.js';
import { ProviderError } from './provider-error.js';
import type { ProviderRegistry } from './provider-registry.js';
import type { ModelRateLimiter } from './rate-limiter.js';
import type { Redactor } from './redact.js';
import { requestKey } from './request-key.js';
import { type AttemptHooks, Resilience } from './resilience.js';
import type { ModelStats } from './stats.js';
import { type ContextSummariser, fitMessages } from './tokens.js';
import type {
  ModelLogger,
  ModelRequest,
  ModelRequirements,
  ModelResponse,
  ModelRunRequest,
  ModelRunResult,
  SharedBudgetLedger,
} from './types.js';
import type { UsageLedger } from './usage-ledger.js';

/** What the call path needs from the manager that owns it. */
export interface CallPathDeps {
  config: ModelsConfig;
  catalog: ModelCatalog;
  providers: ProviderRegistry;
  limiter: ModelRateLimiter;
  stats: ModelStats;
  ledger: UsageLedger;
  /** Budget totals every process shares (distributed mode). */
  shared?: SharedBudgetLedger;
  redactor: Redactor;
  random: () => number;
  batcher?: Batcher;
  bus?: EventBus;
  /** The manager's options object, read at call time. */
  opts: { logger?: ModelLogger; summarise?: ContextSummariser };
}

/** The A/B arm a run belongs to, told how the run ended. */
export interface ArmOutcome {
  id: string;
  model: string;
  answered(modelId: string, text: string, latencyMs: number, cost: number): Promise<void>;
  failed(): void;
}

/**
 * One run's way through the providers: context fitting and budget check per model, rate-limit reservation or a
 * batch slot, retries with backoff under the provider's circuit breaker, and fallback along the chain.
 */
export class CallPath {
  private readonly resilience: Resilience;

  constructor(private readonly d: CallPathDeps) {
    this.resilience = new Resilience(d);
  }

  /** The primary model, then configured chain entries, then the ranked candidates (available, deduplicated). */
  chainFor(primary: IndexedModel, ranked: IndexedModel[]): IndexedModel[] {
    const f = this.d.config.fallback;
    if (!f.enabled) return [primary];
    const chain = [primary];
    const seen = new Set([primary.id]);
    const push = (m: IndexedModel | undefined): void => {
      if (m && !seen.has(m.id) && this.d.providers.isAvailable(m.provider) && chain.length < f.maxModels) {
        seen.add(m.id);
        chain.push(m);
      }
    };
    for (const id of f.chains[primary.id] ?? []) push(this.d.catalog.get(id));
    for (const m of ranked) push(m);
    return chain;
  }

  async run(
    chain: IndexedModel[],
    req: ModelRunRequest,
    reqs: ModelRequirements,
    started: number,
    exp?: ArmOutcome,
  ): Promise<ModelRunResult> {
    const { config, opts, bus } = this.d;
    const maxTokens = req.maxTokens ?? reqs.maxTokens ?? config.budgets.perTaskMaxTokens;
    const budgetKey = req.executionId ?? req.workflowId;
    const budget = req.budget ?? config.budgets.perWorkflow;
    const tried: string[] = [];
    let attempts = 0;
    let lastError: unknown;
    for (let i = 0; i < chain.length; i++) {
      const model = chain[i] as IndexedModel;
      const slot = this.d.providers.slot(model.provider);
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
              config.context.reserveOutputTokens,
              model.maxOutputTokens ?? Infinity,
              Math.floor(model.contextWindow / 4),
            ),
          strategy: config.context.strategy,
          summarise: opts.summarise,
        });
        if (fit.trimmedTokens > 0) {
          opts.logger?.warn?.(`trimmed ~${fit.trimmedTokens} tokens of upstream context to fit ${model.id}`, {
            taskId: req.taskId,
          });
        }
        if (budgetKey) {
          const next = { inputTokens: fit.inputTokens, inputCost: priceOf(model, fit.inputTokens, 0) };
          this.d.ledger.checkBudget(budgetKey, budget, next);
          // What other processes spent on this execution counts too.
          if (budget && this.d.shared) await this.d.shared.check(budgetKey, budget, next);
        }
        const request: ModelRequest = {
          model: model.providerModel ?? model.id,
          messages: req.messages ? [...fit.messages, ...req.messages] : fit.messages,
          maxTokens,
          temperature: reqs.temperature,
          json: reqs.json,
        };
        if (req.toolSpecs?.length) request.tools = req.toolSpecs;
        if (req.responseSchema) request.responseSchema = req.responseSchema;
        const out = await this.resilience.call(
          { slot, model, request, run: req, inputTokens: fit.inputTokens },
          this.hooks(model, request, req, () => attempts++),
        );
        const latencyMs = performance.now() - started;
        const cost = priceOf(model, out.usage.inputTokens, out.usage.outputTokens);
        if (exp) await exp.answered(model.id, out.text, latencyMs, cost);
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
          toolCalls: out.toolCalls,
        };
      } catch (err) {
        if (err instanceof CallerError) {
          exp?.failed();
          throw err.cause;
        }
        if (isFatal(err)) {
          exp?.failed();
          throw err;
        }
        lastError = err;
        tried.push(model.id);
        const next = chain[i + 1];
        if (next) {
          const info = toErrorInfo(err);
          opts.logger?.warn?.(`falling back from ${model.id} to ${next.id}: ${info.message}`, { code: info.code });
          if (bus?.wants('model:fallback')) {
            bus.publish('model:fallback', {
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
    exp?.failed();
    throw finalError(lastError, tried);
  }

  /** Records one provider outcome: breaker-independent stats, ledger and the `model:call` event. */
  private hooks(
    model: IndexedModel,
    request: ModelRequest,
    req: ModelRunRequest,
    countAttempt: () => void,
  ): AttemptHooks {
    let key: string | undefined;
    return {
      started: countAttempt,
      outcome: (o) => {
        this.d.stats.record(model.id, o.ok, o.latencyMs);
        const wants = this.d.bus?.wants('model:call');
        if (!o.ok) {
          if (wants) {
            key ??= requestKey(request);
            this.emitCall(
              req,
              model,
              o.latencyMs,
              { inputTokens: 0, outputTokens: 0 },
              0,
              false,
              toErrorInfo(o.error),
              key,
            );
          }
          return;
        }
        const usage = o.response.usage;
        const cost = priceOf(model, usage.inputTokens, usage.outputTokens);
        this.d.ledger.record({
          executionId: req.executionId,
          workflowId: req.workflowId,
          taskId: req.taskId,
          model: model.id,
          provider: model.provider,
          usage,
          cost,
        });
        const budgetKey = req.executionId ?? req.workflowId;
        if (budgetKey && this.d.shared && (req.budget ?? this.d.config.budgets.perWorkflow))
          this.d.shared.add(budgetKey, usage, cost).catch((err: Error) => {
            this.d.opts.logger?.warn?.(`shared budget of ${budgetKey} not updated: ${err.message}`);
          });
        if (wants) {
          key ??= requestKey(request);
          this.emitCall(req, model, o.latencyMs, usage, cost, true, undefined, key);
        }
      },
    };
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
    this.d.bus?.publish('model:call', {
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

/**
 * The error a run ends with once retries and fallback are spent. It is never `retryable`: the model layer is the
 * one owner of retries for model calls, so the engine must not multiply them (see docs/models.md).
 */
function finalError(last: unknown, tried: string[]): CodexError {
  if (last instanceof ProviderError && tried.length <= 1) return last.final();
  if (last instanceof CodexError && tried.length <= 1 && !last.retryable) return last;
  const info = toErrorInfo(last);
  const code = last instanceof CodexError ? last.code : ErrorCodes.MODEL;
  const message =
    tried.length <= 1
      ? info.message
      : `All ${tried.length} models failed (${tried.join(' → ')}); last error: ${info.message}`;
  return new CodexError(code, message, { retryable: false, cause: last });
}
