import type { ExpressionLimits, Scope } from './expression.js';
import { type LoopResult, type RunUnit, runForEach, runWhile, type UnitResult } from './loops.js';
import type { PlannedTask } from './types.js';

/** Starts one item or iteration with its retries; `done` gets its end exactly once. */
export type StartUnit = (
  scope: Scope,
  item: unknown,
  index: number | undefined,
  iteration: number | undefined,
  done: (failed: boolean, v: unknown) => void,
) => void;

/** What a forEach / while task needs from its run. */
export interface LoopTask {
  t: PlannedTask;
  scope: Scope;
  /** How many items run at once (forEach). */
  width: number;
  limits: ExpressionLimits;
  /** Items / iterations recorded as completed before a resume: taken as they were, not run again. */
  kept: Map<number, UnitResult> | undefined;
  start: StartUnit;
  /** Records a finished item; answers the error that fails it (an output that cannot be stored), if any. */
  checkpoint: (k: number, r: UnitResult) => unknown;
  stopped: () => boolean;
}

/** Runs a forEach or while task's items / iterations, each checkpointed under `id#k` as it finishes. */
export function runLoopTask(x: LoopTask): Promise<LoopResult> {
  const run: RunUnit = (s, item, index, iteration) => {
    const k = (index ?? iteration)!;
    const kept = x.kept?.get(k);
    if (kept) return Promise.resolve(kept);
    return new Promise((res, rej) =>
      x.start(s, item, index, iteration, (failed, v) => {
        const err = failed ? v : x.checkpoint(k, v as UnitResult);
        return err === undefined ? res(v as UnitResult) : rej(err);
      }),
    );
  };
  return x.t.forEach
    ? runForEach(x.t, x.scope, x.width, run, x.stopped, x.limits)
    : runWhile(x.t, x.scope, run, x.stopped, x.limits);
}
