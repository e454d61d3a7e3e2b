import { CodexError, ErrorCodes } from '../errors.js';
import type { Batcher } from './batcher.js';
import { CallerError, callOnce } from './call.js';
import type { IndexedModel } from './catalog.js';
import type { ModelsConfig } from './config.js';
import { ProviderError } from './provider-error.js';
import type { ProviderSlot } from './provider-registry.js';
import { type ModelRateLimiter, sleep } from './rate-limiter.js';
import type { Redactor } from './redact.js';
import type { ModelLogger, ModelRequest, ModelResponse, ModelRunRequest } from './types.js';

// The one place where a call to one model is made resilient. Layers, outermost first:
//   retry (exponential backoff with jitter; a provider's retry-after honoured up to retry.maxRetryAfterMs)
//   → circuit breaker (one per provider; a permit per attempt)
//   → rate limit (per provider and model; a batch takes one reservation for its group)
//   → bulkhead (the provider's maxConcurrency)
//   → timeout (whole request, or each gap between stream chunks: callOnce).
// Fallback to the next model is the call path's job, above this. The engine does not retry what comes out of
// here (see docs/models.md, "Who retries what"). Only a provider's answer is an outcome: a cancellation or the
// caller's own callback throwing is never counted by the breaker or the stats, never retried, and gives a
// half-open probe slot back.

export interface ResilienceDeps {
  config: ModelsConfig;
  limiter: ModelRateLimiter;
  redactor: Redactor;
  random: () => number;
  batcher?: Batcher;
  /** The manager's options object, read at call time. */
  opts: { logger?: ModelLogger };
}

/** What one attempt that reached the provider ended with. */
export type AttemptOutcome =
  | { ok: true; response: ModelResponse; latencyMs: number }
  | { ok: false; error: ProviderError; latencyMs: number };

export interface AttemptHooks {
  /** An attempt is about to go out (it passed the breaker). */
  started(): void;
  /** A provider outcome, success or failure; never called for cancellations or the caller's own errors. */
  outcome(o: AttemptOutcome): void;
}

export interface ResilientCall {
  slot: ProviderSlot;
  model: IndexedModel;
  request: ModelRequest;
  run: ModelRunRequest;
  inputTokens: number;
}

export class Resilience {
  constructor(private readonly d: ResilienceDeps) {}

  /** Calls one model with retries under its provider's breaker; throws the last provider error when they run out. */
  async call(c: ResilientCall, hooks: AttemptHooks): Promise<ModelResponse> {
    const r = this.d.config.retry;
    const { slot, model, run } = c;
    const state = { delivered: false };
    for (let attempt = 1; ; attempt++) {
      const permit = slot.breaker.acquire();
      if (!permit) {
        throw new CodexError(
          ErrorCodes.MODEL_CIRCUIT_OPEN,
          `Circuit open for provider ${slot.provider.id}: retry in ${slot.breaker.retryInMs()} ms`,
          { retryable: true },
        );
      }
      hooks.started();
      const t0 = performance.now();
      let response: ModelResponse;
      try {
        response = await this.attempt(c, attempt, state);
      } catch (err) {
        if (!(err instanceof ProviderError)) {
          permit.cancel();
          throw notAnOutcome(err, run.signal, model.id);
        }
        permit.failure();
        hooks.outcome({ ok: false, error: err, latencyMs: performance.now() - t0 });
        // Text already streamed to the caller cannot be taken back, so a broken stream is not retried.
        if (!err.retryable || state.delivered || attempt >= r.maxAttempts) throw err;
        if (err.retryAfterMs !== undefined && err.retryAfterMs > r.maxRetryAfterMs) throw err;
        const backoff =
          Math.min(r.maxDelayMs, r.initialDelayMs * r.multiplier ** (attempt - 1)) * (1 - r.jitter * this.d.random());
        const delay = Math.max(backoff, err.retryAfterMs ?? 0);
        if (err.kind === 'rate-limit' && err.retryAfterMs !== undefined)
          this.d.limiter.pause(model.provider, model.id, err.retryAfterMs);
        this.d.opts.logger?.debug?.(
          `retrying ${model.id} in ${Math.round(delay)} ms (attempt ${attempt + 1}/${r.maxAttempts}): ${err.message}`,
        );
        await sleep(delay, run.signal).catch((e: unknown) => {
          throw notAnOutcome(e, run.signal, model.id);
        });
        continue;
      }
      permit.success();
      hooks.outcome({ ok: true, response, latencyMs: performance.now() - t0 });
      return response;
    }
  }

  /** One attempt: rate-limit reservation (or a batch slot), the provider's bulkhead, the call with its timeout. */
  private async attempt(c: ResilientCall, attempt: number, state: { delivered: boolean }): Promise<ModelResponse> {
    const { config, batcher, limiter } = this.d;
    const { slot, model, request, run, inputTokens } = c;
    const reserveTokens = inputTokens + (request.maxTokens ?? config.context.reserveOutputTokens);
    const t = config.timeouts;
    const call = (): Promise<ModelResponse> => {
      const go = () =>
        callOnce(request, {
          provider: slot.provider,
          modelId: model.id,
          redactor: this.d.redactor,
          signal: run.signal,
          requestTimeoutMs: t.requestMs,
          idleTimeoutMs: t.idleMs,
          onDelta: run.onDelta,
          state,
          estimatedInputTokens: inputTokens,
        });
      return slot.semaphore ? slot.semaphore.run(go, run.signal) : go();
    };
    const b = config.batching;
    if (batcher && attempt === 1 && !run.onDelta && inputTokens <= b.maxPromptTokens) {
      return batcher.submit(model.id, reserveTokens, call);
    }
    const reservation = await limiter.acquire(model.provider, model.id, 1, reserveTokens, run.signal);
    const res = await call();
    reservation.settle(res.usage.inputTokens + res.usage.outputTokens);
    return res;
  }
}

/**
 * An error that is no provider outcome, as the caller should see it: the caller's own callback error stays a
 * CallerError (the call path unwraps it), anything thrown after the caller aborted becomes CANCELLED.
 */
function notAnOutcome(err: unknown, signal: AbortSignal | undefined, modelId: string): unknown {
  if (err instanceof CallerError) return err;
  if (err instanceof CodexError && err.code === ErrorCodes.CANCELLED) return err;
  if (signal?.aborted) return new CodexError(ErrorCodes.CANCELLED, `Call to ${modelId} cancelled`, { cause: err });
  return err;
}
