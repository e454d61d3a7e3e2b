import type { EventBus } from '../events.js';
import type { ExecutionResult, Plan, PlannedTask, TaskResult } from './types.js';

// The start and end events of a run. Payloads are built only when someone listens: the fixed cost of a run
// matters (bench workload E), and `workflow:started` carries the whole DAG.

export function publishStarted(bus: EventBus, plan: Plan, executionId: string, resumed: boolean): void {
  if (!bus.wants('workflow:started')) return;
  const ids = plan.tasks.map((t) => t.id);
  bus.publish('workflow:started', {
    executionId,
    workflowId: plan.def.id,
    timestamp: Date.now(),
    taskCount: plan.tasks.length,
    resumed,
    tasks: plan.tasks.map((t) => ({
      id: t.id,
      agentId: t.def.agentId,
      type: t.def.type,
      dependencies: t.deps.map((d) => ids[d]),
      reads: t.reads.map((d) => ids[d]),
    })),
  });
}

export function publishEnd(bus: EventBus, result: ExecutionResult): void {
  const { executionId, workflowId, finishedAt: timestamp, duration, status, error } = result;
  if (status === 'completed') {
    if (!bus.wants('workflow:completed')) return;
    bus.publish('workflow:completed', {
      executionId,
      workflowId,
      timestamp,
      duration,
      usage: result.usage,
      cost: result.cost,
      result,
    });
  } else if (status === 'cancelled') {
    if (!bus.wants('workflow:cancelled')) return;
    bus.publish('workflow:cancelled', {
      executionId,
      workflowId,
      timestamp,
      duration,
      reason: error?.message ?? 'cancelled',
      result,
    });
  } else if (bus.wants('workflow:failed')) {
    bus.publish('workflow:failed', { executionId, workflowId, timestamp, duration, error: error!, result });
  }
}

/** `task:completed` of a task whose output is written (its dependents are being released). */
export function publishTaskCompleted(
  bus: EventBus,
  executionId: string,
  workflowId: string,
  t: PlannedTask,
  duration: number,
  attempts: number,
  output: unknown,
  x: Partial<TaskResult> | undefined,
): void {
  bus.publish('task:completed', {
    executionId,
    workflowId,
    taskId: t.id,
    agentId: t.def.agentId,
    timestamp: Date.now(),
    duration,
    attempts,
    output,
    usage: x?.usage,
    cost: x?.cost,
    model: x?.model,
    cached: x?.cached,
  });
}
