import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRateLimiter } from '../../src/models/redis-rate-limiter.js';

const url = process.env.REDIS_URL;

// Two limiters on one Redis stand for two processes (orchestrator and worker, or two workers): they share one
// budget. Grants are compared on the limiter's own clock (Redis TIME), never against wall-clock thresholds.

describe.skipIf(!url)('RedisRateLimiter (real Redis)', () => {
  let a: Redis;
  let b: Redis;
  beforeAll(() => {
    a = new Redis(url!);
    b = new Redis(url!);
  });
  afterAll(() => {
    a.disconnect();
    b.disconnect();
  });
  const pair = (windowMs: number, waits?: string[]) => {
    const prefix = `cdx-rl-${randomUUID().slice(0, 8)}`;
    const onWait = waits ? ({ model }: { model: string }) => waits.push(model) : undefined;
    return [
      new RedisRateLimiter(a, prefix, { windowMs, onWait }),
      new RedisRateLimiter(b, prefix, { windowMs, onWait }),
    ];
  };

  it('two limiters share one RPM budget: no sliding window holds more grants than the limit', async () => {
    const win = 300;
    const rpm = 4;
    const [l1, l2] = pair(win);
    for (const l of [l1, l2]) l.setProviderLimit('openai', { rpm });
    const all = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? l1 : l2).acquire('openai', 'gpt-x', 1, 10)),
    );
    const granted = all.map((r) => r.grantedAt).sort((x, y) => x - y);
    // With a budget each, 8 grants would share the first window; shared, any rpm+1 grants span a whole window.
    for (let i = 0; i + rpm < granted.length; i++) expect(granted[i + rpm] - granted[i]).toBeGreaterThanOrEqual(win);
  });

  it('a model TPM budget is shared, and settling a reservation with the real usage frees the difference', async () => {
    const [l1, l2] = pair(60_000);
    for (const l of [l1, l2]) l.setModelLimit('gpt-x', { tpm: 100 });
    const r1 = await l1.acquire('openai', 'gpt-x', 1, 60);
    expect(r1.waitedMs).toBe(0);
    r1.settle(10);
    // Settling is sent without waiting; the next script on Redis runs after it (one connection, in order).
    await a.ping();
    const r2 = await l2.acquire('openai', 'gpt-x', 1, 60);
    expect(r2.waitedMs).toBe(0);
    // 70 of 100 used across both: another 60 does not fit until the window moves on.
    const ctrl = new AbortController();
    const third = l1.acquire('openai', 'gpt-x', 1, 60, ctrl.signal);
    await new Promise((r) => setTimeout(r, 50));
    ctrl.abort(new Error('gave up'));
    await expect(third).rejects.toThrow('gave up');
  });

  it("a provider's retry-after seen by one process pauses the other", async () => {
    const waits: string[] = [];
    const [l1, l2] = pair(60_000, waits);
    for (const l of [l1, l2]) l.setProviderLimit('anthropic', { rpm: 1000 });
    l1.pause('anthropic', undefined, 150);
    await a.ping();
    const r = await l2.acquire('anthropic', 'claude-x', 1, 1);
    expect(waits).toEqual(['claude-x']);
    expect(r.waitedMs).toBeGreaterThan(0);
  });

  it('no limit configured: granted at once without touching Redis', async () => {
    const [l1] = pair(1000);
    expect(await l1.acquire('local', 'local-echo', 1, 1)).toMatchObject({ waitedMs: 0, grantedAt: 0 });
  });
});
