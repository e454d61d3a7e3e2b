import type { Redis } from 'ioredis';
import type { Budget, ModelLogger, SharedBudgetLedger } from './types.js';
import { assertWithinBudget } from './usage-ledger.js';

// Workflow budgets across processes (distributed mode): each execution's tokens and cost are one Redis hash that
// every process adds to (one script call: tokens, cost and expiry together) and checks before a call, so calls
// made on different workers count against one budget.

const ADD = `
redis.call('HINCRBY', KEYS[1], 'tokens', ARGV[1])
redis.call('HINCRBYFLOAT', KEYS[1], 'cost', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/** Kept a week after the last call: long enough for a paused run to be resumed. */
const KEEP_MS = 7 * 24 * 3600 * 1000;

/** The budget ledger every process on one Redis shares: `<prefix>:budget:<executionId>` = { tokens, cost }. */
export class RedisBudgetLedger implements SharedBudgetLedger {
  constructor(
    /** The connection (opened on first use by the caller's factory). */
    private readonly redis: () => Redis,
    private readonly prefix: string,
    /** Where a failed totals read is reported; by default a process warning, at most one a minute. */
    private readonly logger: ModelLogger = processWarnings(),
  ) {}

  private key(executionId: string): string {
    return `${this.prefix}:budget:${executionId}`;
  }

  async check(executionId: string, budget: Budget, next: { inputTokens: number; inputCost: number }): Promise<void> {
    let tokens: string | null;
    let cost: string | null;
    try {
      [tokens, cost] = await this.redis().hmget(this.key(executionId), 'tokens', 'cost');
    } catch (err) {
      // Redis unreachable: this process's own ledger was checked already; the run's state writes fail anyway.
      this.logger.warn?.(`shared budget of ${executionId} unreadable: ${(err as Error).message}`);
      return;
    }
    assertWithinBudget(executionId, budget, { tokens: Number(tokens ?? 0), cost: Number(cost ?? 0) }, next);
  }

  async add(executionId: string, usage: { inputTokens: number; outputTokens: number }, cost: number): Promise<void> {
    await this.redis().eval(
      ADD,
      1,
      this.key(executionId),
      usage.inputTokens + usage.outputTokens,
      cost.toFixed(12),
      KEEP_MS,
    );
  }
}

/**
 * A totals read that failed lets the call go ahead on this process's own ledger: said once a minute at most, since
 * with Redis down every budgeted call fails alike.
 */
export function processWarnings(everyMs = 60_000): ModelLogger {
  let last = Number.NEGATIVE_INFINITY;
  return {
    warn(msg) {
      const now = Date.now();
      if (now - last < everyMs) return;
      last = now;
      process.emitWarning(msg, { code: 'CODEXOS_SHARED_BUDGET' });
    },
  };
}
