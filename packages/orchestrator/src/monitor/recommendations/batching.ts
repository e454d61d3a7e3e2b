import type { ExecutionRecord, ModelCallRecord } from '../execution-record.js';
import { median, round } from '../stats.js';
import type { DetectorSettings } from '../types.js';
import type { InsightDraft } from './types.js';

/** Many small calls to one model inside a short window: candidates for a batch request. */
export function detectBatching(rec: ExecutionRecord, s: DetectorSettings): InsightDraft[] {
  const byModel = new Map<string, ModelCallRecord[]>();
  for (const c of rec.calls) {
    if (c.inputTokens + c.outputTokens > s.batchSmallTokens) continue;
    let l = byModel.get(c.model);
    if (l === undefined) {
      l = [];
      byModel.set(c.model, l);
    }
    l.push(c);
  }
  const out: InsightDraft[] = [];
  for (const [model, calls] of byModel) {
    if (calls.length < s.batchMinCalls) continue;
    const ts = calls.map((c) => c.timestamp).sort((a, b) => a - b);
    let best = 0;
    let j = 0;
    for (let i = 0; i < ts.length; i++) {
      while (ts[i] - ts[j] > s.batchWindowMs) j++;
      best = Math.max(best, i - j + 1);
    }
    if (best < s.batchMinCalls) continue;
    const tokens = median(calls.map((c) => c.inputTokens + c.outputTokens));
    out.push({
      type: 'batching',
      title: 'Batch processing opportunity',
      description: `${calls.length} small calls to ${model} (median ${round(tokens, 0)} tokens), up to ${best} within ${s.batchWindowMs} ms.`,
      recommendation: `Batch requests to ${model} (the model layer's batcher, or one prompt carrying several items) to cut per-request overhead and rate-limit pressure.`,
      evidence: {
        model,
        provider: calls[0].provider,
        smallCalls: calls.length,
        maxCallsInWindow: best,
        windowMs: s.batchWindowMs,
        medianTokens: round(tokens, 0),
      },
      severity: 'info',
    });
  }
  return out;
}
