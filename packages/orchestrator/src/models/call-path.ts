import { CodexError, ErrorCodes, type ErrorInfo, toErrorInfo } from '../errors.js';
import type { EventBus } from '../events.js';
import type { Batcher } from './batcher.js';
import { callOnce } from './call.js';
import { type IndexedModel, type ModelCatalog, priceOf } from './catalog.js';
import type { ModelsConfig } from './config.js';
import { ProviderError } from './provider-error.js';
import type { ProviderRegistry, ProviderSlot } from './provider-registry.js';
import { type RateLimiter, sleep } from './rate-limiter.js';
import type { Redactor } from './redact.js';
import { requestKey } from './request-key.js';
import type { ModelStats } from './stats.js';
import { type ContextSummariser, fitMessages } from './tokens.js';
import type {
  ModelLogger,
  ModelRequest,
  ModelRequirements,
  ModelResponse,
  ModelRunRequest,
  ModelRunResult,
} from './types.js';
import type { UsageLedger } from './usage-ledger.js';

/** What the call path needs from the manager that owns it. */
export interface CallPathDeps {
  config: ModelsConfig;
  catalog: ModelCatalog;
  providers: ProviderRegistry;
  limiter: RateLimiter;
  stats: ModelStats;
  ledger: UsageLedger;
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
  constructor(private readonly d: CallPathDeps) {}

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
          this.d.ledger.checkBudget(budgetKey, budget, {
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
        };
      } catch (err) {
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

  private async callWithRetries(
    slot: ProviderSlot,
    model: IndexedModel,
    request: ModelRequest,
    req: ModelRunRequest,
    inputTokens: number,
    countAttempt: (n: number) => void,
  ): Promise<ModelResponse> {
    const r = this.d.config.retry;
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
        this.d.stats.record(model.id, true, latencyMs);
        const cost = priceOf(model, res.usage.inputTokens, res.usage.outputTokens);
        this.d.ledger.record({
          executionId: req.executionId,
          workflowId: req.workflowId,
          taskId: req.taskId,
          model: model.id,
          provider: model.provider,
          usage: res.usage,
          cost,
        });
        if (this.d.bus?.wants('model:call')) {
          key ??= requestKey(request);
          this.emitCall(req, model, latencyMs, res.usage, cost, true, undefined, key);
        }
        return res;
      } catch (err) {
        const latencyMs = performance.now() - t0;
        if (isCodex(err, ErrorCodes.CANCELLED)) throw err;
        slot.breaker.failure();
        this.d.stats.record(model.id, false, latencyMs);
        if (this.d.bus?.wants('model:call')) {
          key ??= requestKey(request);
          this.emitCall(req, model, latencyMs, { inputTokens: 0, outputTokens: 0 }, 0, false, toErrorInfo(err), key);
        }
        const pe = err instanceof ProviderError ? err : undefined;
        // Text already streamed to the caller cannot be taken back, so a broken stream is not retried.
        if (!pe?.retryable || state.delivered || attempt >= r.maxAttempts) throw err;
        if (pe.retryAfterMs !== undefined && pe.retryAfterMs > r.maxRetryAfterMs) throw err;
        const backoff =
          Math.min(r.maxDelayMs, r.initialDelayMs * r.multiplier ** (attempt - 1)) * (1 - r.jitter * this.d.random());
        const delay = Math.max(backoff, pe.retryAfterMs ?? 0);
        if (pe.kind === 'rate-limit' && pe.retryAfterMs !== undefined)
          this.d.limiter.pause(model.provider, model.id, pe.retryAfterMs);
        this.d.opts.logger?.debug?.(
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
    const { config, batcher, limiter } = this.d;
    const reserveTokens = inputTokens + (request.maxTokens ?? config.context.reserveOutputTokens);
    const t = config.timeouts;
    const call = (): Promise<ModelResponse> => {
      const go = () =>
        callOnce(request, {
          provider: slot.provider,
          modelId: model.id,
          redactor: this.d.redactor,
          signal: req.signal,
          requestTimeoutMs: t.requestMs,
          idleTimeoutMs: t.idleMs,
          onDelta: req.onDelta,
          state,
          estimatedInputTokens: inputTokens,
        });
      return slot.semaphore ? slot.semaphore.run(go) : go();
    };
    const b = config.batching;
    if (batcher && attempt === 1 && !req.onDelta && inputTokens <= b.maxPromptTokens) {
      return batcher.submit(model.id, reserveTokens, call);
    }
    const reservation = await limiter.acquire(model.provider, model.id, 1, reserveTokens, req.signal);
    const res = await call();
    reservation.settle(res.usage.inputTokens + res.usage.outputTokens);
    return res;
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

function finalError(last: unknown, tried: string[]): CodexError {
  if (last instanceof CodexError && tried.length <= 1) return last;
  const info = toErrorInfo(last);
  const code = last instanceof CodexError ? last.code : ErrorCodes.MODEL;
  return new CodexError(code, `All ${tried.length} models failed (${tried.join(' → ')}); last error: ${info.message}`, {
    retryable: last instanceof CodexError ? last.retryable : true,
  });
}
