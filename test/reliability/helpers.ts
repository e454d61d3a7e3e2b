import { performance } from 'node:perf_hooks';
import { expect } from 'vitest';

// Sizes: `npm test` runs the CI size; `npm run soak` (SOAK=1) the full one.
export const SOAK = process.env.SOAK === '1';
export const CASES = SOAK ? 10_000 : 1000;

/**
 * Times each case; the slowest must stay under a bound (a hang, not a benchmark: the bound is generous). A case
 * over the bound is timed again alone, up to three times, and judged by its fastest run: a hang is slow every
 * time, a case that merely waited for a busy CPU is not.
 */
export function caseTimer() {
  let max = 0;
  let total = 0;
  let n = 0;
  let slowest: (() => unknown) | undefined;
  const timed = (fn: () => unknown): number => {
    const t0 = performance.now();
    try {
      fn();
    } catch {
      // The case's own outcome was judged on its first run; only its time matters here.
    }
    return performance.now() - t0;
  };
  return {
    time<T>(fn: () => T): T {
      const t0 = performance.now();
      try {
        return fn();
      } finally {
        const dt = performance.now() - t0;
        total += dt;
        n++;
        if (dt > max) {
          max = dt;
          slowest = fn;
        }
      }
    },
    assertUnder(ms: number) {
      expect(n).toBeGreaterThan(0);
      let best = max;
      for (let i = 0; i < 3 && best >= ms && slowest; i++) best = Math.min(best, timed(slowest));
      const what = `slowest case ${max.toFixed(0)} ms, ${best.toFixed(0)} ms alone (mean ${(total / n).toFixed(2)} ms over ${n})`;
      expect(best, what).toBeLessThan(ms);
    },
    get stats() {
      return { n, maxMs: Math.round(max), meanMs: total / n };
    },
  };
}
