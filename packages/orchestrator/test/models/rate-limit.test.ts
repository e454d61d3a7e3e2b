import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  it('holds the provider RPM: calls queue instead of failing', async () => {
    const { manager, of } = makeManager(f, {
      providers: { openai: { rateLimit: { rpm: 4 } } },
      rateLimits: { windowMs: 500 },
    });
    // Record when each call leaves for the provider (server receive times drift on a loaded box; send times do not).
    const inner = manager.provider('openai')!;
    const sent: number[] = [];
    manager.registerProvider({ id: 'openai', complete: (req, o) => (sent.push(Date.now()), inner.complete(req, o)) });
    // Warm the SDK client: its first request does one-off synchronous setup that would delay the recorded sends.
    await manager.run({ agentId: 'a', requirements: { model: 'oa-small' }, prompt: 'warm-up' });
    await new Promise((r) => setTimeout(r, 550));
    sent.length = 0;
    const before = f.openai.requests.length;
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => manager.run({ agentId: 'a', requirements: { model: 'oa-small' }, prompt: `q${i}` })));
    expect(results).toHaveLength(12);
    expect(f.openai.requests.length - before).toBe(12);
    expect(sent).toHaveLength(12);
    // The limiter grants on its own clock a moment before the send is recorded: allow 100 ms of that skew.
    expect(maxInWindow(sent, 400)).toBeLessThanOrEqual(4);
    // 12 calls at 4 per 500 ms cannot finish inside two windows.
    expect(Math.max(...sent) - Math.min(...sent)).toBeGreaterThanOrEqual(900);
    expect(of('model:rate-limited').length).toBeGreaterThan(0);
  });

  it('holds the per-model TPM using reserved then actual tokens', async () => {
    // Windows long enough that a continuation delayed by a busy machine (up to 100 ms) cannot fake a breach.
    const limiter = new RateLimiter({ windowMs: 400 });
    limiter.setModelLimit('m', { tpm: 100 });
    const starts: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const r = await limiter.acquire('p', 'm', 1, 40);
        starts.push(Date.now());
        r.settle(40);
      }),
    );
    // 40 tokens each, 100 per window: at most 2 per window.
    expect(maxInWindow(starts, 300)).toBeLessThanOrEqual(2);
    // And it did not simply serialise everything: 8 grants at 2 per window span at least 3 windows.
    expect(Math.max(...starts) - Math.min(...starts)).toBeGreaterThanOrEqual(3 * 400 - 50);
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
    expect((reqs[1]!.at - reqs[0]!.at)).toBeGreaterThanOrEqual(140);
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
