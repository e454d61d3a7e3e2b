import type { CostBreakdown, CostLine, CostQuery } from './types.js';

// Every priced unit of work (a model call, or a task that reported its own cost) as one entry; breakdowns
// by model / task / agent / workflow over any time range are folded on demand. Bounded: oldest entries go.

export interface CostEntry {
  timestamp: number;
  executionId?: string;
  workflowId?: string;
  taskId?: string;
  agentId?: string;
  model: string;
  cost: number;
  inputTokens: number;
  outputTokens: number;
}

export class CostLedger {
  private entries: CostEntry[] = [];
  constructor(private readonly capacity = 100_000) {}

  add(e: CostEntry): void {
    if (this.entries.length >= this.capacity) this.entries = this.entries.slice(this.capacity >> 2);
    this.entries.push(e);
  }

  get size(): number {
    return this.entries.length;
  }

  breakdown(q: CostQuery = {}): CostBreakdown {
    return foldCosts(
      this.entries.filter(
        (e) =>
          (q.from === undefined || e.timestamp >= q.from) &&
          (q.to === undefined || e.timestamp <= q.to) &&
          (q.executionId === undefined || e.executionId === q.executionId) &&
          (q.workflowId === undefined || e.workflowId === q.workflowId),
      ),
      q,
    );
  }
}

function bump(m: Map<string, CostLine>, key: string, e: CostEntry): void {
  let l = m.get(key);
  if (l === undefined) {
    l = { key, cost: 0, calls: 0, inputTokens: 0, outputTokens: 0 };
    m.set(key, l);
  }
  l.cost += e.cost;
  l.calls++;
  l.inputTokens += e.inputTokens;
  l.outputTokens += e.outputTokens;
}

const sorted = (m: Map<string, CostLine>): CostLine[] =>
  [...m.values()].sort((a, b) => b.cost - a.cost || a.key.localeCompare(b.key));

export function foldCosts(entries: Iterable<CostEntry>, q: CostQuery = {}): CostBreakdown {
  const byModel = new Map<string, CostLine>();
  const byTask = new Map<string, CostLine>();
  const byAgent = new Map<string, CostLine>();
  const byWorkflow = new Map<string, CostLine>();
  let total = 0;
  let calls = 0;
  let inputTokens = 0;
  let outputTokens = 0;
  for (const e of entries) {
    total += e.cost;
    calls++;
    inputTokens += e.inputTokens;
    outputTokens += e.outputTokens;
    bump(byModel, e.model, e);
    bump(byTask, e.taskId ?? '(none)', e);
    bump(byAgent, e.agentId ?? '(none)', e);
    bump(byWorkflow, e.workflowId ?? '(none)', e);
  }
  const out: CostBreakdown = {
    currency: 'USD',
    total,
    calls,
    inputTokens,
    outputTokens,
    byModel: sorted(byModel),
    byTask: sorted(byTask),
    byAgent: sorted(byAgent),
    byWorkflow: sorted(byWorkflow),
  };
  if (q.from !== undefined) out.from = q.from;
  if (q.to !== undefined) out.to = q.to;
  return out;
}
