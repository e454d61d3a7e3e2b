import type { ExecutionRecord } from '../execution-record.js';
import type { ModelStats, ModelUsage } from '../model-stats.js';
import { median, round } from '../stats.js';
import type { CatalogLookup, DetectorSettings } from '../types.js';
import type { InsightDraft } from './types.js';

export interface ModelOptimizationContext {
  stats: ModelStats;
  catalog?: CatalogLookup;
  agentCapabilities?: (agentId: string) => string[] | undefined;
  /** `agent\u0000from\u0000to` already suggested: each suggestion is made once. */
  reported: Set<string>;
}

/** Cost of `tokensOf`'s token mix at `model`'s prices: catalog prices when known, else its observed rate. */
function costFor(model: ModelUsage, tokensOf: ModelUsage, catalog?: CatalogLookup): number | undefined {
  const c = catalog?.(model.model);
  if (c !== undefined)
    return (tokensOf.inputTokens * c.inputPricePerM + tokensOf.outputTokens * c.outputPricePerM) / 1e6;
  if (model.tokens > 0) return (model.cost / model.tokens) * tokensOf.tokens;
  return model.calls > 0 ? (model.cost / model.calls) * tokensOf.calls : undefined;
}

/**
 * For each agent in this run: another model that served the same agent at least as reliably and about as fast,
 * for markedly less money. Serving the same agent is the evidence it meets the agent's needs; when the catalog
 * and the agent's required capabilities are known, those are checked too.
 */
export function detectModelOptimization(
  rec: ExecutionRecord,
  s: DetectorSettings,
  ctx: ModelOptimizationContext,
): InsightDraft[] {
  const usedHere = new Map<string, Map<string, number>>();
  for (const c of rec.calls) {
    const agent = c.agentId ?? '*';
    let m = usedHere.get(agent);
    if (m === undefined) {
      m = new Map();
      usedHere.set(agent, m);
    }
    m.set(c.model, (m.get(c.model) ?? 0) + 1);
  }
  const out: InsightDraft[] = [];
  for (const [agent, models] of usedHere) {
    const all = ctx.stats.byAgent.get(agent);
    if (all === undefined || all.size < 2) continue;
    const current = [...models.entries()].sort((a, b) => b[1] - a[1])[0][0];
    const cur = all.get(current);
    if (cur === undefined || cur.calls < s.modelMinSamples) continue;
    const curCost = costFor(cur, cur, ctx.catalog);
    if (curCost === undefined || curCost <= 0) continue;
    const curSuccess = cur.successes / cur.calls;
    const curLatency = median(cur.latencies.values());
    const required = ctx.agentCapabilities?.(agent);

    let best: { u: ModelUsage; cost: number; success: number; latency: number } | undefined;
    for (const cand of all.values()) {
      if (cand === cur || cand.calls < s.modelMinSamples) continue;
      const cost = costFor(cand, cur, ctx.catalog);
      if (cost === undefined || cost > curCost * s.modelMaxCostRatio) continue;
      const success = cand.successes / cand.calls;
      if (success < curSuccess - s.modelMaxSuccessDrop) continue;
      const latency = median(cand.latencies.values());
      if (latency > curLatency * s.modelMaxLatencyRatio) continue;
      if (required !== undefined && ctx.catalog !== undefined) {
        const caps = ctx.catalog(cand.model)?.capabilities;
        if (caps === undefined || !required.every((r) => caps.includes(r))) continue;
      }
      if (best === undefined || cost < best.cost) best = { u: cand, cost, success, latency };
    }
    if (best === undefined) continue;
    const key = `${agent}\u0000${current}\u0000${best.u.model}`;
    if (ctx.reported.has(key)) continue;
    ctx.reported.add(key);
    const saving = 1 - best.cost / curCost;
    out.push({
      type: 'model-optimization',
      title: 'Model optimization',
      description: `${best.u.model} served agent '${agent}' with ${round(best.success * 100, 1)} % success and ${round(best.latency)} ms median latency, against ${round(curSuccess * 100, 1)} % and ${round(curLatency)} ms for ${current}, at ${round(saving * 100, 0)} % lower cost.`,
      recommendation: `Prefer ${best.u.model} for agent '${agent}' (model.prefer), or lower its maxCostPerMTokens: about ${round(saving * 100, 0)} % cheaper for the same work.`,
      evidence: {
        agentId: agent,
        currentModel: current,
        suggestedModel: best.u.model,
        currentCalls: cur.calls,
        suggestedCalls: best.u.calls,
        currentSuccessRate: round(curSuccess, 4),
        suggestedSuccessRate: round(best.success, 4),
        currentMedianLatencyMs: round(curLatency),
        suggestedMedianLatencyMs: round(best.latency),
        currentCost: round(curCost, 6),
        suggestedCostForSameTokens: round(best.cost, 6),
        savingShare: round(saving, 3),
        ...(required ? { requiredCapabilities: required } : {}),
      },
      severity: saving >= 0.5 ? 'warning' : 'info',
    });
  }
  return out;
}
