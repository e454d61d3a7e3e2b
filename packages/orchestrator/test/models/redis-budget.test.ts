import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisBudgetLedger } from '../../src/models/redis-budget.js';

// A shared budget whose totals cannot be read lets the call go ahead on the process's own ledger; that must be
// said somewhere a user sees it (a process warning), and once, not once per call.

const seen: Error[] = [];
const onWarning = (w: Error) => {
  if ((w as Error & { code?: string }).code === 'CODEXOS_SHARED_BUDGET') seen.push(w);
};
afterEach(() => {
  process.off('warning', onWarning);
  seen.length = 0;
});

describe('the shared budget ledger when Redis is unreachable', () => {
  it('lets calls go ahead and reports it as one process warning naming the execution', async () => {
    process.on('warning', onWarning);
    // Nothing listens on port 1: every command fails at once (no offline queue, no retries).
    const down = new Redis({
      host: '127.0.0.1',
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    down.on('error', () => {});
    const ledger = new RedisBudgetLedger(() => down, 'cdx-test');
    const next = { inputTokens: 10, inputCost: 0 };
    await expect(ledger.check('exec-1', { maxTokens: 100 }, next)).resolves.toBeUndefined();
    await expect(ledger.check('exec-2', { maxTokens: 100 }, next)).resolves.toBeUndefined();
    await new Promise((r) => setImmediate(r));
    expect(seen).toHaveLength(1);
    expect(seen[0].message).toContain('shared budget of exec-1 unreadable');
    down.disconnect();
  });
});
