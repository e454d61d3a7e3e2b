import { CodexError, ErrorCodes } from '../errors.js';
import type { TokenUsage } from '../events.js';
import type { Budget } from './types.js';

/** Summed calls, tokens and USD cost over a set of model calls. */
export interface UsageTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** USD. */
  cost: number;
  /** Calls whose token figures were estimated (the provider reported none). */
  estimatedCalls: number;
}

/** One model call's usage and cost, with the execution, workflow and task it belongs to. */
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

interface ExecutionUsage {
  totals: UsageTotals;
  tasks: Map<string, UsageTotals>;
}

export interface UsageLedgerOptions {
  /** Finished executions whose per-execution and per-task figures stay readable (oldest forgotten first). */
  retainFinished?: number;
}

/**
 * Tokens and cost per call, summed per task, execution, workflow, model and overall. Per-execution figures live
 * while the execution runs and for the last `retainFinished` finished ones, so memory does not grow with runs.
 */
export class UsageLedger {
  private readonly total = empty();
  private readonly byModel = new Map<string, UsageTotals>();
  private readonly byExecution = new Map<string, ExecutionUsage>();
  private readonly byWorkflow = new Map<string, UsageTotals>();
  /** Finished executions, oldest first (a Set keeps insertion order). */
  private readonly finished = new Set<string>();
  private readonly retainFinished: number;

  constructor(opts: UsageLedgerOptions = {}) {
    this.retainFinished = opts.retainFinished ?? 100;
  }

  record(r: UsageRecord): void {
    add(this.total, r);
    add(bucket(this.byModel, r.model), r);
    if (r.workflowId) add(bucket(this.byWorkflow, r.workflowId), r);
    if (r.executionId) {
      let e = this.byExecution.get(r.executionId);
      if (!e) {
        e = { totals: empty(), tasks: new Map() };
        this.byExecution.set(r.executionId, e);
      }
      add(e.totals, r);
      if (r.taskId) add(bucket(e.tasks, r.taskId), r);
    }
  }

  totals(): UsageTotals {
    return { ...this.total };
  }
  model(id: string): UsageTotals {
    return { ...(this.byModel.get(id) ?? empty()) };
  }
  execution(id: string): UsageTotals {
    return { ...(this.byExecution.get(id)?.totals ?? empty()) };
  }
  workflow(id: string): UsageTotals {
    return { ...(this.byWorkflow.get(id) ?? empty()) };
  }
  task(executionId: string, taskId: string): UsageTotals {
    return { ...(this.byExecution.get(executionId)?.tasks.get(taskId) ?? empty()) };
  }
  models(): Record<string, UsageTotals> {
    return Object.fromEntries([...this.byModel].map(([k, v]) => [k, { ...v }]));
  }

  /** Entries held per execution and per task (bounded by running + `retainFinished` executions). */
  get size(): { executions: number; tasks: number } {
    let tasks = 0;
    for (const e of this.byExecution.values()) tasks += e.tasks.size;
    return { executions: this.byExecution.size, tasks };
  }

  /**
   * Throws BUDGET_EXCEEDED when the execution has spent its budget or the next call's input alone would cross it.
   */
  checkBudget(executionId: string, budget: Budget | undefined, next: { inputTokens: number; inputCost: number }): void {
    if (!budget) return;
    const spent = this.byExecution.get(executionId)?.totals ?? empty();
    assertWithinBudget(executionId, budget, { tokens: spent.inputTokens + spent.outputTokens, cost: spent.cost }, next);
  }

  /** The execution ended: its figures stay readable until `retainFinished` newer executions have ended. */
  finish(executionId: string): void {
    this.finished.delete(executionId);
    if (!this.byExecution.has(executionId)) return;
    this.finished.add(executionId);
    for (const id of this.finished) {
      if (this.finished.size <= this.retainFinished) break;
      this.release(id);
    }
  }

  /** Forget an execution's per-execution and per-task figures now (model and workflow totals stay). */
  release(executionId: string): void {
    this.byExecution.delete(executionId);
    this.finished.delete(executionId);
  }
}

/** Throws BUDGET_EXCEEDED when `spent` has reached `budget` or the next call's input alone would cross it. */
export function assertWithinBudget(
  executionId: string,
  budget: Budget,
  spent: { tokens: number; cost: number },
  next: { inputTokens: number; inputCost: number },
): void {
  const { tokens, cost } = spent;
  if (budget.maxTokens !== undefined && tokens + next.inputTokens > budget.maxTokens) {
    throw new CodexError(
      ErrorCodes.BUDGET_EXCEEDED,
      `Token budget exceeded for execution ${executionId}: ${tokens} used + ~${next.inputTokens} for the next call > ${budget.maxTokens}`,
    );
  }
  if (budget.maxCostUsd !== undefined && cost + next.inputCost > budget.maxCostUsd) {
    throw new CodexError(
      ErrorCodes.BUDGET_EXCEEDED,
      `Cost budget exceeded for execution ${executionId}: $${cost.toFixed(6)} spent + ~$${next.inputCost.toFixed(6)} > $${budget.maxCostUsd}`,
    );
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
