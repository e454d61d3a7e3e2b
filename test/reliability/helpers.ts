import { performance } from 'node:perf_hooks';
import { expect } from 'vitest';

// Sizes: `npm test` runs the CI size; `npm run soak` (SOAK=1) the full one.
export const SOAK = process.env.SOAK === '1';
export const CASES = SOAK ? 10_000 : 1000;

/** Times each case; the slowest must stay under a bound (a hang, not a benchmark: the bound is generous). */
export function caseTimer() {
  let max = 0;
  let total = 0;
  let n = 0;
  return {
    time<T>(fn: () => T): T {
      const t0 = performance.now();
      try {
        return fn();
      } finally {
        const dt = performance.now() - t0;
        total += dt;
        n++;
        if (dt > max) max = dt;
      }
    },
    assertUnder(ms: number) {
      expect(n).toBeGreaterThan(0);
      expect(max, `slowest case ${max.toFixed(0)} ms (mean ${(total / n).toFixed(2)} ms over ${n})`).toBeLessThan(ms);
    },
    get stats() {
      return { n, maxMs: Math.round(max), meanMs: total / n };
    },
  };
}
