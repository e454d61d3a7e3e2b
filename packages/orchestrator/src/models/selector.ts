import { CodexError, ErrorCodes } from '../errors.js';
import type { IndexedModel, ModelCatalog } from './catalog.js';
import type { ModelStats } from './stats.js';
import type { ModelRequirements } from './types.js';

/** Options of model selection: latency weight, samples needed before measured figures count, and provider health checks. */
export interface SelectorOptions {
  /** Weight of latency (seconds) against price in the score. */
  latencyWeight?: number;
  /** Measured calls needed before tracked latency/success replace nominal figures. */
  minSamples?: number;
  /** Whether a provider can take calls (configured, enabled). */
  isAvailable?: (provider: string) => boolean;
  /** Providers whose circuit is open are ranked after every healthy candidate. */
  isOpen?: (provider: string) => boolean;
}

/** The model chosen for a request, every eligible model in fallback order, and why. */
export interface Selection {
  model: IndexedModel;
  /** Every model meeting the requirements, best first (the chosen one included): the fallback order. */
  ranked: IndexedModel[];
  reason: string;
}

const LATENCY_FACTOR = { any: 0, normal: 1, low: 10 } as const;

/**
 * Picks the model that meets every requirement at the best cost/performance score:
 * score = blended price / success rate × (1 + weight × latency in seconds); lower wins.
 * Preferred models that qualify go first, in the order given.
 */
export class ModelSelector {
  private readonly latencyWeight: number;
  private readonly minSamples: number;
  private readonly isAvailable: (provider: string) => boolean;
  private readonly isOpen: (provider: string) => boolean;
  // Scratch arrays reused between decisions: selection runs once per task and must stay allocation-light.
  private readonly scratch: IndexedModel[] = [];
  private readonly scores = new Map<IndexedModel, number>();

  constructor(
    private readonly catalog: ModelCatalog,
    private readonly stats?: ModelStats,
    opts: SelectorOptions = {},
  ) {
    this.latencyWeight = opts.latencyWeight ?? 0.1;
    this.minSamples = opts.minSamples ?? 3;
    this.isAvailable = opts.isAvailable ?? (() => true);
    this.isOpen = opts.isOpen ?? (() => false);
  }

  select(req: ModelRequirements = {}): Selection {
    if (req.model) {
      const m = this.catalog.require(req.model);
      return { model: m, ranked: [m], reason: `pinned to ${m.id}` };
    }
    const caps =
      req.json && !req.capabilities?.includes('json') ? [...(req.capabilities ?? []), 'json'] : req.capabilities;
    const mask = this.catalog.capabilityMask(caps);
    const minCtx = req.minContextWindow ?? 0;
    const maxCost = req.maxCostPerMTokens ?? Number.POSITIVE_INFINITY;
    const forbid = req.forbid;
    const prefer = req.prefer;
    const lf = this.latencyWeight * LATENCY_FACTOR[req.latency ?? 'normal'];

    const cands = this.scratch;
    cands.length = 0;
    this.scores.clear();
    let rejected = 0;
    for (const m of this.catalog.list()) {
      if ((m.capMask & mask) !== mask || m.contextWindow < minCtx || m.blendedPrice > maxCost) {
        rejected++;
        continue;
      }
      if (forbid?.includes(m.id) || !this.isAvailable(m.provider)) continue;
      if (m.deprecated && !prefer?.includes(m.id)) continue;
      cands.push(m);
      this.scores.set(m, this.score(m, lf));
    }
    if (cands.length === 0) {
      throw new CodexError(
        ErrorCodes.MODEL_NO_MATCH,
        `No available model meets the requirements ${describe(req)} (${rejected} catalog models lack a capability, context or price bound; ` +
          'the rest are forbidden, deprecated, or their provider is not configured)',
      );
    }
    const scores = this.scores;
    const prefRank = (m: IndexedModel): number => {
      const i = prefer ? prefer.indexOf(m.id) : -1;
      return i < 0 ? Number.MAX_SAFE_INTEGER : i;
    };
    cands.sort((a, b) => {
      const oa = this.isOpen(a.provider) ? 1 : 0;
      const ob = this.isOpen(b.provider) ? 1 : 0;
      if (oa !== ob) return oa - ob;
      const pa = prefRank(a);
      const pb = prefRank(b);
      if (pa !== pb) return pa - pb;
      return (scores.get(a) as number) - (scores.get(b) as number) || a.id.localeCompare(b.id);
    });
    const model = cands[0] as IndexedModel;
    const preferred = prefRank(model) !== Number.MAX_SAFE_INTEGER;
    const reason = preferred
      ? `preferred model ${model.id} meets ${describe(req)}`
      : `best cost/performance of ${cands.length} capable models for ${describe(req)}: ${model.id} at $${round(model.blendedPrice)}/Mtok ` +
        `(score ${round(scores.get(model) as number)})`;
    return { model, ranked: cands.slice(), reason };
  }

  /** Lower is better. Exposed for reports and tests. */
  score(m: IndexedModel, latencyFactor = this.latencyWeight): number {
    const s = this.stats?.get(m.id);
    const measured = s !== undefined && s.calls >= this.minSamples;
    const success = measured ? Math.max(s.successRate, 0.01) : 1;
    const latencyMs = measured ? s.latencyMs : (m.typicalLatencyMs ?? 1000);
    return (m.blendedPrice / success) * (1 + (latencyFactor * latencyMs) / 1000);
  }
}

function describe(req: ModelRequirements): string {
  const parts: string[] = [];
  if (req.capabilities?.length) parts.push(`capabilities [${req.capabilities.join(', ')}]`);
  if (req.minContextWindow) parts.push(`context ≥ ${req.minContextWindow}`);
  if (req.maxCostPerMTokens !== undefined) parts.push(`price ≤ $${req.maxCostPerMTokens}/Mtok`);
  if (req.latency) parts.push(`latency ${req.latency}`);
  return parts.length ? parts.join(', ') : '(none)';
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
