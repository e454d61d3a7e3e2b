// How the orchestrator connects pillars that do not know each other: the monitor's view of the model catalog,
// and the model rate limiter shared through Redis in distributed mode.
import type { OrchestratorConfig } from './config.js';
import { ModelManager, type ModelManagerOptions } from './models/manager.js';
import { RedisBudgetLedger } from './models/redis-budget.js';
import { RedisRateLimiter } from './models/redis-rate-limiter.js';
import type { ModelRunner } from './models/types.js';
import type { CatalogLookup } from './monitor/types.js';
import { connect, redisTarget } from './queue/bullmq/connection.js';

/** The monitor's lookup of a model's capabilities and prices, when the model layer is the built-in ModelManager. */
export function monitorCatalog(models: ModelRunner): CatalogLookup | undefined {
  const catalog = models instanceof ModelManager ? models.catalog : undefined;
  if (!catalog) return undefined;
  return (model) => {
    const m = catalog.get(model);
    return (
      m && { capabilities: m.capabilities, inputPricePerM: m.inputPricePerMTok, outputPricePerM: m.outputPricePerMTok }
    );
  };
}

/**
 * Distributed mode: model rate limits are one budget for every process on the `redis` server. `connected` gets the
 * Redis connection it opens, for the orchestrator to close.
 */
export function sharedLimiter(
  config: OrchestratorConfig,
  connected: (redis: ReturnType<typeof connect>) => void,
): ModelManagerOptions['limiter'] {
  if (config.execution.mode !== 'distributed') return undefined;
  return (opts) => {
    const target = redisTarget(config.redis);
    const redis = connect(target, 'codexos-rate-limits');
    connected(redis);
    return new RedisRateLimiter(redis, target.prefix, opts);
  };
}

/**
 * Distributed mode: workflow budgets count every process's calls (a ledger in Redis). The connection opens on the
 * first budgeted call; `connected` gets it, for the orchestrator to close.
 */
export function sharedBudgets(
  config: OrchestratorConfig,
  connected: (redis: ReturnType<typeof connect>) => void,
): RedisBudgetLedger | undefined {
  if (config.execution.mode !== 'distributed') return undefined;
  const target = redisTarget(config.redis);
  let redis: ReturnType<typeof connect> | undefined;
  return new RedisBudgetLedger(() => {
    if (!redis) {
      redis = connect(target, 'codexos-budgets');
      connected(redis);
    }
    return redis;
  }, target.prefix);
}
