import type { JobsOptions } from 'bullmq';
import { CodexError, ErrorCodes } from '../../errors.js';
import { type Expr, evaluate, parseExpression } from '../../workflow/expression.js';
import type { FlowRule } from '../config.js';
import type { DispatchContext, TaskJobData } from '../types.js';

interface CompiledRule {
  key?: Expr;
  priority?: Expr | number;
}

/**
 * The per-agent flow rules of `execution.flow` as the orchestrator applies them to each job: the flow key (an
 * expression over the task's input) that workers limit concurrency by, and the job's priority. Expressions are
 * parsed once, when the queue opens, so a bad one is a config error before any task runs.
 */
export class FlowRules {
  private readonly rules = new Map<string, CompiledRule>();

  /** Parses an agent's rule; a bad expression is CDX_ERR_CONFIG_INVALID naming `execution.flow.<agent>`. */
  add(agentId: string, rule: FlowRule): void {
    const c: CompiledRule = {};
    try {
      if (rule.key) c.key = parseExpression(rule.key);
      if (typeof rule.priority === 'string') c.priority = parseExpression(rule.priority);
      else if (rule.priority !== undefined) c.priority = rule.priority;
    } catch (err) {
      throw new CodexError(ErrorCodes.CONFIG_INVALID, `execution.flow.${agentId}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.rules.set(agentId, c);
  }

  /** Sets the job's flow key and priority from its agent's rule, if it has one. */
  apply(agentId: string, ctx: DispatchContext, data: TaskJobData, opts: JobsOptions): void {
    const rule = this.rules.get(agentId);
    if (!rule) return;
    const scope = { input: ctx.input, params: ctx.params, item: ctx.item };
    if (rule.key) data.flowKey = String(evaluate(rule.key, scope));
    if (rule.priority !== undefined) {
      const p = typeof rule.priority === 'number' ? rule.priority : Number(evaluate(rule.priority, scope));
      if (Number.isInteger(p) && p > 0) opts.priority = p;
    }
  }
}
