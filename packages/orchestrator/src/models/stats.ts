// Per-model running figures the selector scores with: exponentially weighted latency and success rate, so
// recent behaviour counts more than old without keeping a history.
/** Running figures of one model: calls, failures, and exponentially weighted latency and success rate. */
export interface ModelStat {
  calls: number;
  failures: number;
  /** EWMA of successful call latency, ms. */
  latencyMs: number;
  /** EWMA of success (1) / failure (0). */
  successRate: number;
}

/** Tracks each model's exponentially weighted latency and success rate for the selector. */
export class ModelStats {
  private readonly stats = new Map<string, ModelStat>();

  constructor(private readonly alpha = 0.2) {}

  get(modelId: string): ModelStat | undefined {
    return this.stats.get(modelId);
  }

  record(modelId: string, ok: boolean, latencyMs: number): void {
    let s = this.stats.get(modelId);
    if (!s) {
      s = { calls: 0, failures: 0, latencyMs, successRate: 1 };
      this.stats.set(modelId, s);
    }
    s.calls++;
    if (!ok) s.failures++;
    const a = this.alpha;
    s.successRate = s.successRate * (1 - a) + (ok ? a : 0);
    if (ok) s.latencyMs = s.calls === 1 ? latencyMs : s.latencyMs * (1 - a) + latencyMs * a;
  }

  snapshot(): Record<string, ModelStat> {
    return Object.fromEntries([...this.stats].map(([k, v]) => [k, { ...v }]));
  }
}
