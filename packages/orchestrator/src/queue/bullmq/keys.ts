// Redis names used by distributed execution, all under one prefix so several deployments share a server.

/** BullMQ queue name of an agent (BullMQ keys are `<prefix>:q:<name>:...`). */
export function queueName(agentId: string): string {
  return `agent.${agentId.replace(/[^A-Za-z0-9_.-]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}`;
}

/** The Redis key names of the distributed queue under a prefix (queues, worker heartbeats, leases). */
export const distKeys = (prefix: string) => ({
  bullPrefix: `${prefix}:q`,
  /** Set once per Redis dataset: a different or missing value after a reconnect means Redis lost its data. */
  epoch: `${prefix}:dist:epoch`,
  cancel: `${prefix}:dist:cancel`,
  /** The pub/sub channel one orchestrator hears its results on (workers publish each result as they return it). */
  replies: (orchestrator: string) => `${prefix}:dist:replies:${orchestrator}`,
  /** An execution's outputs log, one per orchestrator process that drives it (`gen`), read by workers. */
  outputsLog: (executionId: string, gen: string) => `${prefix}:dist:out:${executionId}:${gen}`,
  /** An execution's attempt results (jobId -> result JSON), written by workers before BullMQ removes the job. */
  results: (executionId: string) => `${prefix}:dist:res:${executionId}`,
  events: `${prefix}:dist:events`,
  /** The orchestrators' own events, batched per tick (for servers and dashboards in other processes). */
  orchestratorEvents: `${prefix}:dist:orchestrator-events`,
  workers: `${prefix}:dist:workers`,
  /** Per worker and agent: the concurrency the pool assigned (`<workerId>|<agentId>` -> n). */
  plan: `${prefix}:dist:plan`,
  drain: `${prefix}:dist:drain`,
  /** The orchestrator's `execution.flow` rules (agentId -> JSON), read by every worker. */
  flow: `${prefix}:dist:flow`,
  /** Model-backed agents whose tasks go to workers (a set), and the channel that announces a new one. */
  modelAgents: `${prefix}:dist:model-agents`,
  modelAgentsChannel: `${prefix}:dist:model-agents:new`,
  flowSlots: (agentId: string, key: string) => `${prefix}:dist:flow:${agentId}:${key}:slots`,
  flowRate: (agentId: string, key: string, window: number) => `${prefix}:dist:flow:${agentId}:${key}:rate:${window}`,
});

export type DistKeys = ReturnType<typeof distKeys>;

/** Deterministic per attempt, so an orchestrator resuming a run picks up an attempt a worker already ran. */
export function jobIdOf(executionId: string, taskId: string, slot: number | undefined, attempt: number): string {
  return `${executionId}|${taskId}|${slot ?? '-'}|${attempt}`;
}

/**
 * The execution and attempt a job id names (see {@link jobIdOf}), read from its end: an execution id may hold `|`,
 * the task id is the job's name. Undefined when the id is not one of ours.
 */
export function parseJobId(jobId: string, taskId: string): { executionId: string; attempt: number } | undefined {
  const a = jobId.lastIndexOf('|');
  const s = jobId.lastIndexOf('|', a - 1);
  const t = s - taskId.length - 1;
  const attempt = Number(jobId.slice(a + 1));
  if (s < 0 || t < 1 || jobId[t] !== '|' || jobId.slice(t + 1, s) !== taskId || !Number.isInteger(attempt))
    return undefined;
  return { executionId: jobId.slice(0, t), attempt };
}
