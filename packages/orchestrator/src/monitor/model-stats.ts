import type { OrchestratorEvents } from '../events.js';
import { Ring } from './stats.js';

// Cross-run model statistics the recommendations need: per (agent, model) success/latency/cost, and per
// request key how often and in how many executions the same call was made. Both are bounded.

export class ModelUsage {
  calls = 0;
  successes = 0;
  cost = 0;
  tokens = 0;
  inputTokens = 0;
  outputTokens = 0;
  readonly latencies = new Ring(200);
  constructor(
    readonly model: string,
    readonly provider: string,
  ) {}
}

export interface RequestKeyStats {
  model: string;
  calls: number;
  executions: string[];
  tasks: string[];
  cost: number;
  latencyMs: number;
  reported: boolean;
}

const MAX_KEYS = 10_000;
const MAX_IDS = 16;

export class ModelStats {
  /** agentId (or `*` when unknown) → model → usage. */
  readonly byAgent = new Map<string, Map<string, ModelUsage>>();
  readonly byKey = new Map<string, RequestKeyStats>();

  record(p: OrchestratorEvents['model:call']): void {
    const agent = p.agentId ?? '*';
    let models = this.byAgent.get(agent);
    if (models === undefined) {
      models = new Map();
      this.byAgent.set(agent, models);
    }
    let u = models.get(p.model);
    if (u === undefined) {
      u = new ModelUsage(p.model, p.provider);
      models.set(p.model, u);
    }
    u.calls++;
    if (p.success) u.successes++;
    u.cost += p.cost;
    u.inputTokens += p.usage.inputTokens;
    u.outputTokens += p.usage.outputTokens;
    u.tokens += p.usage.inputTokens + p.usage.outputTokens;
    u.latencies.push(p.latencyMs);

    if (p.requestKey === undefined || !p.success) return;
    let k = this.byKey.get(p.requestKey);
    if (k === undefined) {
      if (this.byKey.size >= MAX_KEYS) {
        const oldest = this.byKey.keys().next().value;
        if (oldest !== undefined) this.byKey.delete(oldest);
      }
      k = { model: p.model, calls: 0, executions: [], tasks: [], cost: 0, latencyMs: 0, reported: false };
      this.byKey.set(p.requestKey, k);
    }
    k.calls++;
    k.cost += p.cost;
    k.latencyMs += p.latencyMs;
    const ex = p.executionId ?? '(none)';
    if (k.executions.length < MAX_IDS && !k.executions.includes(ex)) k.executions.push(ex);
    if (p.taskId !== undefined && k.tasks.length < MAX_IDS && !k.tasks.includes(p.taskId)) k.tasks.push(p.taskId);
  }
}
