// Small robust statistics used by the detectors. No dependencies; all bounded in memory.

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = values.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median absolute deviation around `med`. */
export function mad(values: readonly number[], med = median(values)): number {
  return median(values.map((v) => Math.abs(v - med)));
}

export interface Fit {
  slope: number;
  intercept: number;
  r2: number;
}

/** Least-squares line through (x, y); r2 is 0 when y is constant. */
export function linearFit(xs: readonly number[], ys: readonly number[]): Fit {
  const n = xs.length;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i];
    sy += ys[i];
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i] - mx;
    const dy = ys[i] - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const r2 = sxx === 0 || syy === 0 ? 0 : (sxy * sxy) / (sxx * syy);
  return { slope, intercept: my - slope * mx, r2 };
}

/** Fixed-size window of numbers (oldest dropped first). */
export class Ring {
  private readonly buf: number[] = [];
  private next = 0;
  constructor(readonly capacity: number) {}
  push(v: number): void {
    if (this.buf.length < this.capacity) this.buf.push(v);
    else {
      this.buf[this.next] = v;
      this.next = (this.next + 1) % this.capacity;
    }
  }
  get size(): number {
    return this.buf.length;
  }
  /** Oldest first. */
  values(): number[] {
    return this.buf.length < this.capacity
      ? this.buf.slice()
      : [...this.buf.slice(this.next), ...this.buf.slice(0, this.next)];
  }
}

export interface Verdict {
  expected: number;
  score: number;
  anomalous: boolean;
}

export interface BaselineRule {
  warmup: number;
  minScore: number;
  /** Value must be at least expected × minRatio (upward anomalies only: faster or leaner is never flagged). */
  minRatio: number;
  minDelta: number;
}

/**
 * Median/MAD baseline over a window: robust to the outliers it is meant to find. Used for low-volume series
 * (one point per run or per sample). The MAD has a floor so a perfectly flat history does not make every
 * tiny wobble infinitely anomalous.
 */
export class RobustBaseline {
  private readonly window: Ring;
  constructor(size = 50) {
    this.window = new Ring(size);
  }
  get count(): number {
    return this.window.size;
  }
  /** Judge `v` against the history so far, then add it. */
  check(v: number, rule: BaselineRule): Verdict {
    const verdict = this.judge(v, rule);
    this.window.push(v);
    return verdict;
  }
  judge(v: number, rule: BaselineRule): Verdict {
    if (this.window.size < rule.warmup) return { expected: v, score: 0, anomalous: false };
    const vals = this.window.values();
    const med = median(vals);
    const spread = Math.max(1.4826 * mad(vals, med), Math.abs(med) * 0.05, rule.minDelta / 4, 1e-9);
    const score = (v - med) / spread;
    const anomalous = score >= rule.minScore && v >= med * rule.minRatio && v - med >= rule.minDelta;
    return { expected: med, score, anomalous };
  }
}

let scratch = new Float64Array(64);

/** Median of buf[0..n), sorting that prefix in place (insertion sort: n is a warm-up count, a handful). */
function sortedMedian(buf: Float64Array, n: number): number {
  for (let i = 1; i < n; i++) {
    const v = buf[i];
    let j = i - 1;
    while (j >= 0 && buf[j] > v) {
      buf[j + 1] = buf[j];
      j--;
    }
    buf[j + 1] = v;
  }
  return n % 2 ? buf[n >> 1] : (buf[(n >> 1) - 1] + buf[n >> 1]) / 2;
}

/**
 * Exponentially weighted mean and mean absolute deviation: O(1) per point, for high-volume series
 * (per-task durations, per-call latencies). The baseline starts from the median/MAD of the warm-up points (so
 * an outlier among the first runs does not become "normal"), and outliers are clipped before they update it.
 */
export class EwmaBaseline {
  // Number fields start as non-integers (NaN) and `warm` is never re-typed: thousands of these (one per task)
  // then keep one hidden class, instead of all migrating when a field first holds a double.
  mean = Number.NaN;
  dev = Number.NaN;
  count = 0;
  private warm: number[] = [];
  private warming = true;
  constructor(private readonly alpha = 0.2) {}
  /** Expected value and score of the last `test`. */
  lastExpected = Number.NaN;
  lastScore = Number.NaN;
  check(v: number, rule: BaselineRule): Verdict {
    const anomalous = this.test(v, rule);
    return { expected: this.lastExpected, score: this.lastScore, anomalous };
  }
  /** `check` without the verdict object: the expected value and score are left in lastExpected / lastScore. */
  test(v: number, rule: BaselineRule): boolean {
    if (this.warming) {
      this.count++;
      this.warm.push(v);
      if (this.warm.length >= Math.max(1, rule.warmup)) {
        // Median and MAD in a shared scratch buffer: this runs once per task series, often a thousand at once.
        const warm = this.warm;
        const n = warm.length;
        if (scratch.length < n) scratch = new Float64Array(n * 2);
        for (let i = 0; i < n; i++) scratch[i] = warm[i];
        const med = sortedMedian(scratch, n);
        for (let i = 0; i < n; i++) scratch[i] = Math.abs(warm[i] - med);
        this.mean = med;
        this.dev = 1.4826 * sortedMedian(scratch, n);
        this.warming = false;
        this.warm.length = 0;
      }
      this.lastExpected = v;
      this.lastScore = 0;
      return false;
    }
    const spread = Math.max(1.25 * this.dev, Math.abs(this.mean) * 0.05, rule.minDelta / 4, 1e-9);
    const score = (v - this.mean) / spread;
    const anomalous = score >= rule.minScore && v >= this.mean * rule.minRatio && v - this.mean >= rule.minDelta;
    this.lastExpected = this.mean;
    this.lastScore = score;
    this.update(anomalous ? this.mean + 3 * spread : v);
    return anomalous;
  }
  private update(v: number): void {
    const d = v - this.mean;
    this.mean += this.alpha * d;
    this.dev += this.alpha * (Math.abs(d) - this.dev);
    this.count++;
  }
}

export function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Appends and drops the oldest entries beyond `max` (the monitor's recent insights, alerts, anomalies). */
export function pushBounded<T>(arr: T[], v: T, max = 500): void {
  arr.push(v);
  if (arr.length > max) arr.splice(0, arr.length - max);
}
