import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RateLimiter } from '../../src/models/rate-limiter.js';
import { type Fakes, makeManager, startFakes } from './helpers.js';

let f: Fakes;
beforeAll(async () => {
  f = await startFakes();
});
afterAll(() => f.close());

/** Max number of events inside any window of `windowMs`. */
function maxInWindow(times: number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while ((t[i] as number) - (t[j] as number) >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('rate limits', () => {
  // Grants are checked on the limiter's own clock: when a continuation runs later on a busy machine does not matter.
  it('holds the provider RPM: calls queue instead of failing', async () => {
    const { manager, of } = makeManager(f, {
      providers: { openai: { rateLimit: { rpm: 4 } } },
      rateLimits: { windowMs: 300 },
    });
    const grants: number[] = [];
    const acquire = manager.limiter.acquire.bind(manager.limiter);
    manager.limiter.acquire = async (...args) => {
      const r = await acquire(...args);
      grants.push(r.grantedAt);
      return r;
    };
    const before = f.openai.requests.length;
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        manager.run({ agentId: 'a', requirements: { model: 'oa-small' }, prompt: `q${i}` }),
      ),
    );
    expect(results.map((r) => r.text)).toEqual(Array.from({ length: 12 }, (_, i) => expect.stringContaining(`q${i}`)));
    expect(f.openai.requests.length - before).toBe(12);
    expect(grants).toHaveLength(12);
    expect(maxInWindow(grants, 300)).toBe(4);
    // 12 calls at 4 per window need three windows: the last grant is at least two windows after the first.
    expect(Math.max(...grants) - Math.min(...grants)).toBeGreaterThanOrEqual(2 * 300);
    expect(of('model:rate-limited').length).toBeGreaterThan(0);
  });

  it('holds the per-model TPM using reserved then actual tokens', async () => {
    vi.useFakeTimers();
    try {
      const limiter = new RateLimiter({ windowMs: 1_000 });
      limiter.setModelLimit('m', { tpm: 100 });
      const grants: number[] = [];
      const all = Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const r = await limiter.acquire('p', 'm', 1, 40);
          grants.push(r.grantedAt);
          r.settle(i === 0 ? 10 : 40); // the first call used fewer tokens than it reserved
        }),
      );
      await vi.advanceTimersByTimeAsync(10_000);
      await all;
      const t0 = grants[0] as number;
      // 40 reserved each, 100 per window: two per window, and the first call's unused 30 tokens let a third in.
      expect(grants.map((t) => t - t0)).toEqual([0, 0, 0, 1_000, 1_000, 2_000, 2_000, 3_000]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('honours retry-after from a 429 and pauses the provider', async () => {
    const { manager } = makeManager(f);
    f.anthropic.faults.retryAfterSeconds = 0.15;
    f.anthropic.inject('429');
    const before = f.anthropic.requests.length;
    const r = await manager.run({ agentId: 'a', requirements: { model: 'an-haiku' }, prompt: 'retry me' });
    f.anthropic.faults.retryAfterSeconds = undefined;
    const reqs = f.anthropic.requests.slice(before);
    expect(reqs.map((x) => x.status)).toEqual([429, 200]);
    expect(reqs[1]!.at - reqs[0]!.at).toBeGreaterThanOrEqual(140);
    expect(r.attempts).toBe(2);
  });

  it('reads Gemini RetryInfo when retrying', async () => {
    const { manager } = makeManager(f);
    f.google.faults.retryAfterSeconds = 0.1;
    f.google.inject('429');
    const before = f.google.requests.length;
    await manager.run({ agentId: 'a', requirements: { model: 'gm-flash' }, prompt: 'retry me' });
    f.google.faults.retryAfterSeconds = undefined;
    const reqs = f.google.requests.slice(before);
    expect(reqs.map((x) => x.status)).toEqual([429, 200]);
    expect(reqs[1]!.at - reqs[0]!.at).toBeGreaterThanOrEqual(90);
  });
});
