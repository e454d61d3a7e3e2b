import type { StoredTaskState, TaskTransition } from '../store/types.js';
import type { DebugController } from './debug/attach.js';
import type { ExecutionOptions } from './execution-state.js';
import { S } from './result.js';

/** The recorded task states a run starts from: its own when resumed, its parent's when it is a re-run. */
export function startingStates(opts: ExecutionOptions): Map<string, StoredTaskState> | undefined {
  return opts.resumed?.tasks ?? opts.reuse?.tasks;
}

/**
 * A re-run's reused outputs, as transitions of the new run: they are written as its own, so it stands alone (and
 * resumes) like any run.
 */
export function reusedTransitions(
  executionId: string,
  taskIds: readonly string[],
  state: Uint8Array,
  attempts: Int32Array,
  outputs: readonly unknown[],
): TaskTransition[] {
  const at = Date.now();
  const out: TaskTransition[] = [];
  for (let i = 0; i < taskIds.length; i++) {
    if (state[i] !== S.Done) continue;
    out.push({ executionId, taskKey: taskIds[i], status: 'completed', attempt: attempts[i], at, output: outputs[i] });
  }
  return out;
}

/** The edit a re-run was started with (a changed prompt or input of one task), applied before anything runs. */
export function applyReuseEdit(dbg: DebugController | undefined, reuse: ExecutionOptions['reuse']): void {
  if (reuse?.edit) dbg!.editTask(reuse.edit.taskId, reuse.edit.change, reuse.edit.by);
}
