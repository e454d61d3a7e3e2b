import type { ModelRequirements } from '../../models/types.js';
import type { StoredExecution, StoredTaskState } from '../../store/types.js';
import type { Plan } from '../types.js';
import type { DebugOptions } from './types.js';

/** `rerunFrom` options: what to change for the new run. */
export interface RerunOptions {
  /** Replace the chosen task's input for the new run (recorded as an edit). */
  input?: Record<string, unknown>;
  prompt?: string;
  /** Run the chosen task on another agent. */
  agentId?: string;
  /** Run the chosen task with these model requirements (merged over its own, e.g. `{ model: 'gpt-4o' }`). */
  model?: ModelRequirements;
  /** Run on this (newer) version of the workflow; tasks are matched by id. */
  definition?: unknown;
  debug?: DebugOptions;
  executionId?: string;
  by?: string;
}

type RawTask = { id?: unknown; model?: Record<string, unknown> };

/**
 * The definition a re-run runs: the parent's, or the newer version given, with the chosen task's agent and model
 * changed as asked. Left unvalidated: planning the run validates it.
 */
export function rerunDefinition(parent: StoredExecution, taskId: string, o: RerunOptions): unknown {
  const def = (o.definition ?? parent.header.definition) as { tasks?: unknown };
  if ((!o.agentId && !o.model) || !Array.isArray(def?.tasks)) return def;
  const tasks = (def.tasks as RawTask[]).map((t) => {
    if (t?.id !== taskId) return t;
    const next: Record<string, unknown> = { ...t };
    if (o.agentId) next.agentId = o.agentId;
    if (o.model) next.model = { ...t.model, ...o.model };
    return next;
  });
  return { ...def, tasks };
}

/** Task ids a re-run from task `from` runs again: that task, its dependents and their fallbacks, transitively. */
export function rerunSet(plan: Plan, from: number): Set<string> {
  const rerun = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const i = stack.pop()!;
    const id = plan.tasks[i].id;
    if (rerun.has(id)) continue;
    rerun.add(id);
    stack.push(...plan.tasks[i].dependents);
    if (plan.tasks[i].fallback !== undefined) stack.push(plan.tasks[i].fallback!);
  }
  return rerun;
}

/** The parent's recorded states a re-run reuses: completed or skipped tasks (loop items too) it does not re-run. */
export function reusedTasks(parent: StoredExecution, plan: Plan, rerun: Set<string>): Map<string, StoredTaskState> {
  const tasks = new Map<string, StoredTaskState>();
  for (const [key, s] of parent.tasks) {
    if (key.startsWith('$')) continue;
    const base = key.includes('#') ? key.slice(0, key.lastIndexOf('#')) : key;
    if (!plan.byId.has(base) || rerun.has(base) || (s.status !== 'completed' && s.status !== 'skipped')) continue;
    tasks.set(key, s);
  }
  return tasks;
}
