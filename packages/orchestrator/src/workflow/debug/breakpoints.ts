import { CodexError, ErrorCodes } from '../../errors.js';
import { type Expr, evaluate, parseExpression } from '../expression.js';
import type { PlannedTask } from '../types.js';
import type { DebugHost } from './host.js';
import type { Breakpoint, BreakpointWhen } from './types.js';

/** Breakpoint checking and evaluation: the parsed conditions of the run's breakpoints. */
export class Breakpoints {
  private readonly conds = new Map<Breakpoint, Expr>();

  constructor(private readonly host: Pick<DebugHost, 'plan' | 'limits' | 'scopeOf'>) {}

  /** Checks breakpoints against the plan (unknown task, bad condition): a typed error, nothing changes. */
  validate(bps: Breakpoint[]): Breakpoint[] {
    const out: Breakpoint[] = [];
    const parsed = new Map<Breakpoint, Expr>();
    for (const b of bps) {
      if (!b || typeof b.taskId !== 'string' || !this.host.plan.byId.has(b.taskId))
        throw new CodexError(ErrorCodes.DEBUG_INVALID, `breakpoint on unknown task "${String(b?.taskId)}"`, {
          issues: [{ taskId: String(b?.taskId), message: 'unknown task' }],
        });
      if (b.when !== undefined && b.when !== 'before' && b.when !== 'after')
        throw new CodexError(ErrorCodes.DEBUG_INVALID, `breakpoint "when" must be before or after`);
      const bp: Breakpoint = { taskId: b.taskId, when: b.when ?? 'before' };
      if (b.condition !== undefined) {
        try {
          parsed.set(bp, parseExpression(String(b.condition), this.host.limits.expressionLimits));
        } catch (err) {
          throw new CodexError(ErrorCodes.DEBUG_INVALID, `breakpoint condition: ${(err as Error).message}`, {
            cause: err,
          });
        }
        bp.condition = String(b.condition);
      }
      out.push(bp);
    }
    for (const [bp, c] of parsed) this.conds.set(bp, c);
    return out;
  }

  /** Does one of `list` hold for task `t` at `when` (its condition, if any, true in the task's scope)? */
  hits(list: Breakpoint[], t: PlannedTask, when: BreakpointWhen): boolean {
    for (const b of list) {
      if (b.taskId !== t.id || (b.when ?? 'before') !== when) continue;
      const c = this.conds.get(b);
      if (!c) return true;
      try {
        if (evaluate(c, this.host.scopeOf(t), this.host.limits.expressionLimits)) return true;
      } catch {
        // A condition that cannot be evaluated (an output not there yet) does not hold.
      }
    }
    return false;
  }
}
