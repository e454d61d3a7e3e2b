import { MAX_TIMER_MS } from './schema.js';
import type { RetryPolicy } from './types.js';

/** Delay before attempt `attempt + 1`: exponential growth capped at maxDelayMs, ± jitter fraction. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.backoffMultiplier ** (attempt - 1));
  const spread = base * policy.jitter;
  return Math.min(MAX_TIMER_MS, Math.max(0, Math.round(base - spread + random() * 2 * spread)));
}
