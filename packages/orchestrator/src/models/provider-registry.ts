import { CircuitBreaker, type CircuitState } from './circuit-breaker.js';
import { Semaphore } from './concurrency.js';
import type { ModelsConfig } from './config.js';
import type { ModelRateLimiter } from './rate-limiter.js';
import type { ModelLogger, ModelProvider, RateLimit } from './types.js';

/** A registered provider with its own circuit breaker and optional concurrency bound. */
export interface ProviderSlot {
  provider: ModelProvider;
  breaker: CircuitBreaker;
  semaphore?: Semaphore;
}

/**
 * The providers a manager can call, and which of them are candidates: the offline provider only counts
 * while no real provider is registered.
 */
export class ProviderRegistry {
  private readonly slots = new Map<string, ProviderSlot>();
  private realProviders = 0;

  constructor(
    private readonly config: ModelsConfig,
    private readonly limiter: ModelRateLimiter,
    // Read on each circuit change, so a logger set on the options later is still used.
    private readonly opts: { logger?: ModelLogger },
  ) {}

  /** Adds (or replaces) a provider; `rateLimit`/`maxConcurrency` default to `models.providers.<id>` config. */
  register(provider: ModelProvider, opts: { rateLimit?: RateLimit; maxConcurrency?: number } = {}): void {
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

  slot(providerId: string): ProviderSlot | undefined {
    return this.slots.get(providerId);
  }

  circuitState(providerId: string): CircuitState | undefined {
    return this.slots.get(providerId)?.breaker.state;
  }

  isAvailable(providerId: string): boolean {
    const s = this.slots.get(providerId);
    if (!s) return false;
    return !s.provider.offline || this.realProviders === 0;
  }
}
