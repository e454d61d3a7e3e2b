import { CodexError, ErrorCodes } from '../errors.js';
import type { TokenUsage } from '../events.js';
import { type ExpressionLimits, evaluate, type Scope } from './expression.js';
import type { PlannedTask } from './types.js';

/** What one invocation of a task body produced. */
export interface UnitResult {
  output: unknown;
  usage?: TokenUsage;
  cost?: number;
  model?: string;
}

export interface LoopResult extends UnitResult {
  iterations: number;
}

/** Runs one unit (an item or iteration) with its retries. */
export type RunUnit = (scope: Scope, item?: unknown, index?: number, iteration?: number) => Promise<UnitResult>;

function addUsage(agg: UnitResult, r: UnitResult): void {
  if (!r.usage) return;
  agg.usage = {
    inputTokens: (agg.usage?.inputTokens ?? 0) + r.usage.inputTokens,
    outputTokens: (agg.usage?.outputTokens ?? 0) + r.usage.outputTokens,
  };
  agg.cost = (agg.cost ?? 0) + (r.cost ?? 0);
  agg.model ??= r.model;
}

/** `forEach`: one unit per item, `width` at a time; the output is the list of unit outputs, in item order. */
export async function runForEach(
  t: PlannedTask,
  scope: Scope,
  width: number,
  run: RunUnit,
  stopped: () => boolean,
  limits: ExpressionLimits,
): Promise<LoopResult> {
  const items = evaluate(t.forEach!, scope, limits);
  if (!Array.isArray(items)) {
    throw new CodexError(
      ErrorCodes.EXPRESSION,
      `task "${t.id}": forEach must yield a list, got ${items === null ? 'null' : typeof items}`,
    );
  }
  if (items.length > t.maxIterations) {
    throw new CodexError(
      ErrorCodes.LOOP_LIMIT,
      `task "${t.id}": forEach has ${items.length} items, more than maxIterations (${t.maxIterations})`,
    );
  }
  const out: unknown[] = new Array(items.length);
  const agg: LoopResult = { output: out, iterations: items.length };
  let next = 0;
  // The first failed item stops the loop: no new items start, and the task fails only after the items already
  // running have settled (so nothing of this task runs after its failure is recorded).
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure && !stopped()) {
      const k = next++;
      try {
        const r = await run({ ...scope, item: items[k], index: k }, items[k], k);
        out[k] = r.output;
        addUsage(agg, r);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(items.length, width)) }, worker));
  if (failure) throw failure.error;
  return agg;
}

/** `while`: checked before each iteration with `iteration` and `last`; the output is the last unit's output. */
export async function runWhile(
  t: PlannedTask,
  scope: Scope,
  run: RunUnit,
  stopped: () => boolean,
  limits: ExpressionLimits,
): Promise<LoopResult> {
  const agg: LoopResult = { output: undefined, iterations: 0 };
  for (let k = 0; ; k++) {
    const s = { ...scope, iteration: k, last: agg.output };
    if (!evaluate(t.whileCond!, s, limits)) break;
    if (k >= t.maxIterations) {
      throw new CodexError(
        ErrorCodes.LOOP_LIMIT,
        `task "${t.id}": while-loop reached maxIterations (${t.maxIterations}) with its condition still true`,
      );
    }
    const r = await run(s, undefined, undefined, k);
    agg.output = r.output;
    agg.iterations = k + 1;
    addUsage(agg, r);
    if (stopped()) break;
  }
  return agg;
}
