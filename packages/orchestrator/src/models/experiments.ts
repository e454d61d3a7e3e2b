import { CodexError, ErrorCodes } from '../errors.js';

export interface ExperimentArm {
  model: string;
  weight: number;
}

/** An A/B experiment: the agent whose calls are split, the weighted model arms and an optional answer scorer. */
export interface ExperimentDefinition {
  id: string;
  /** Agent whose calls are split; omit for every agent. */
  agentId?: string;
  arms: ExperimentArm[];
  enabled?: boolean;
  /** Scores an answer in [0, 1]; a per-call scorer on the run request takes precedence. */
  scorer?: (text: string) => number | Promise<number>;
}

/** Results of one experiment arm: calls, success rate, latency, cost and mean score. */
export interface ArmReport {
  model: string;
  weight: number;
  calls: number;
  successes: number;
  successRate: number;
  latencyP50Ms: number;
  latencyMeanMs: number;
  costTotal: number;
  costMean: number;
  /** Mean score over scored calls; undefined when nothing was scored. */
  quality?: number;
  scored: number;
}

/** Results of an experiment, one report per arm. */
export interface ExperimentReport {
  id: string;
  agentId?: string;
  arms: ArmReport[];
}

interface ArmState extends ExperimentArm {
  calls: number;
  successes: number;
  latencies: number[];
  cost: number;
  qualitySum: number;
  scored: number;
}

interface Experiment {
  def: ExperimentDefinition;
  arms: ArmState[];
  totalWeight: number;
}

/** A/B (or A/B/n) experiments: split an agent's calls between models by weight and report per arm. */
export class ExperimentRegistry {
  private readonly experiments = new Map<string, Experiment>();

  constructor(private readonly random: () => number = Math.random) {}

  add(def: ExperimentDefinition): void {
    if (def.arms.length < 2)
      throw new CodexError(ErrorCodes.CONFIG_INVALID, `Experiment '${def.id}' needs at least two arms`);
    const arms = def.arms.map((a) => ({
      ...a,
      calls: 0,
      successes: 0,
      latencies: [],
      cost: 0,
      qualitySum: 0,
      scored: 0,
    }));
    this.experiments.set(def.id, { def, arms, totalWeight: arms.reduce((s, a) => s + a.weight, 0) });
  }

  remove(id: string): boolean {
    return this.experiments.delete(id);
  }

  get(id: string): ExperimentDefinition | undefined {
    return this.experiments.get(id)?.def;
  }

  /** The experiment and arm for this agent's next call, if one applies. */
  pick(agentId: string | undefined): { id: string; model: string } | undefined {
    for (const e of this.experiments.values()) {
      if (e.def.enabled === false || (e.def.agentId !== undefined && e.def.agentId !== agentId)) continue;
      let r = this.random() * e.totalWeight;
      for (const a of e.arms) {
        r -= a.weight;
        if (r < 0) return { id: e.def.id, model: a.model };
      }
      return { id: e.def.id, model: (e.arms.at(-1) as ArmState).model };
    }
    return undefined;
  }

  record(id: string, model: string, outcome: { ok: boolean; latencyMs: number; cost: number; quality?: number }): void {
    const arm = this.experiments.get(id)?.arms.find((a) => a.model === model);
    if (!arm) return;
    arm.calls++;
    if (outcome.ok) {
      arm.successes++;
      arm.latencies.push(outcome.latencyMs);
      arm.cost += outcome.cost;
    }
    if (outcome.quality !== undefined && Number.isFinite(outcome.quality)) {
      arm.qualitySum += outcome.quality;
      arm.scored++;
    }
  }

  report(id: string): ExperimentReport {
    const e = this.experiments.get(id);
    if (!e) throw new CodexError(ErrorCodes.MODEL_NOT_FOUND, `No experiment '${id}'`);
    return {
      id,
      agentId: e.def.agentId,
      arms: e.arms.map((a) => {
        const sorted = [...a.latencies].sort((x, y) => x - y);
        return {
          model: a.model,
          weight: a.weight,
          calls: a.calls,
          successes: a.successes,
          successRate: a.calls ? a.successes / a.calls : 0,
          latencyP50Ms: sorted.length ? (sorted[Math.floor((sorted.length - 1) / 2)] as number) : 0,
          latencyMeanMs: sorted.length ? sorted.reduce((s, x) => s + x, 0) / sorted.length : 0,
          costTotal: a.cost,
          costMean: a.successes ? a.cost / a.successes : 0,
          quality: a.scored ? a.qualitySum / a.scored : undefined,
          scored: a.scored,
        };
      }),
    };
  }

  reports(): ExperimentReport[] {
    return [...this.experiments.keys()].map((id) => this.report(id));
  }
}
