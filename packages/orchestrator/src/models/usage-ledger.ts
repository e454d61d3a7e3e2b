import { CodexError, ErrorCodes } from '../errors.js';
import type { TokenUsage } from '../events.js';
import type { Budget } from './types.js';

export interface UsageTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** USD. */
  cost: number;
  /** Calls whose token figures were estimated (the provider reported none). */
  estimatedCalls: number;
}

export interface UsageRecord {
  executionId?: string;
  workflowId?: string;
  taskId?: string;
  model: string;
  provider: string;
  usage: TokenUsage;
  cost: number;
}

const empty = (): UsageTotals => ({ calls: 0, inputTokens: 0, outputTokens: 0, cost: 0, estimatedCalls: 0 });

/** Tokens and cost per call, summed per task, execution, workflow, model and overall. */
export class UsageLedger {
  private readonly total = empty();
  private readonly byModel = new Map<string, UsageTotals>();
  private readonly byExecution = new Map<string, UsageTotals>();
  private readonly byWorkflow = new Map<string, UsageTotals>();
  private readonly byTask = new Map<string, UsageTotals>();

  record(r: UsageRecord): void {
    add(this.total, r);
    add(bucket(this.byModel, r.model), r);
    if (r.executionId) add(bucket(this.byExecution, r.executionId), r);
    if (r.workflowId) add(bucket(this.byWorkflow, r.workflowId), r);
    if (r.executionId && r.taskId) add(bucket(this.byTask, `${r.executionId}\u0000${r.taskId}`), r);
  }

  totals(): UsageTotals {
    return { ...this.total };
  }
  model(id: string): UsageTotals {
    return { ...(this.byModel.get(id) ?? empty()) };
  }
  execution(id: string): UsageTotals {
    return { ...(this.byExecution.get(id) ?? empty()) };
  }
  workflow(id: string): UsageTotals {
    return { ...(this.byWorkflow.get(id) ?? empty()) };
  }
  task(executionId: string, taskId: string): UsageTotals {
    return { ...(this.byTask.get(`${executionId}\u0000${taskId}`) ?? empty()) };
  }
  models(): Record<string, UsageTotals> {
    return Object.fromEntries([...this.byModel].map(([k, v]) => [k, { ...v }]));
  }

  /**
   * Throws BUDGET_EXCEEDED when the execution has spent its budget or the next call's input alone would cross it.
   */
  checkBudget(executionId: string, budget: Budget | undefined, next: { inputTokens: number; inputCost: number }): void {
    if (!budget) return;
    const spent = this.byExecution.get(executionId) ?? empty();
    const tokens = spent.inputTokens + spent.outputTokens;
    if (budget.maxTokens !== undefined && tokens + next.inputTokens > budget.maxTokens) {
      throw new CodexError(
        ErrorCodes.BUDGET_EXCEEDED,
        `Token budget exceeded for execution ${executionId}: ${tokens} used + ~${next.inputTokens} for the next call > ${budget.maxTokens}`,
      );
    }
    if (budget.maxCostUsd !== undefined && spent.cost + next.inputCost > budget.maxCostUsd) {
      throw new CodexError(
        ErrorCodes.BUDGET_EXCEEDED,
        `Cost budget exceeded for execution ${executionId}: $${spent.cost.toFixed(6)} spent + ~$${next.inputCost.toFixed(6)} > $${budget.maxCostUsd}`,
      );
    }
  }

  /** Forget an execution's per-task figures (model and workflow totals stay). */
  release(executionId: string): void {
    this.byExecution.delete(executionId);
    const prefix = `${executionId}\u0000`;
    for (const k of this.byTask.keys()) if (k.startsWith(prefix)) this.byTask.delete(k);
  }
}

function bucket(map: Map<string, UsageTotals>, key: string): UsageTotals {
  let t = map.get(key);
  if (!t) {
    t = empty();
    map.set(key, t);
  }
  return t;
}

function add(t: UsageTotals, r: UsageRecord): void {
  t.calls++;
  t.inputTokens += r.usage.inputTokens;
  t.outputTokens += r.usage.outputTokens;
  t.cost += r.cost;
  if (r.usage.estimated) t.estimatedCalls++;
}
