import { criticalPath, parallelism } from './critical-path.js';
import { detectBottlenecks } from './bottlenecks.js';
import type { ExecutionRecord, TaskRecord } from './execution-record.js';
import type { AgentProfile, DetectorSettings, ExecutionProfile, TaskProfile } from './types.js';
import { PROFILE_SCHEMA_VERSION } from './types.js';

function runTime(t: TaskRecord): number {
  if (t.runTime >= 0) return t.runTime;
  return t.finishedAt >= 0 && t.lastStartedAt >= 0 ? t.finishedAt - t.lastStartedAt : 0;
}

/** Turns an execution's aggregates into its profile: run once, when the execution ends. */
export function buildProfile(rec: ExecutionRecord, s: DetectorSettings, source: 'events' | 'store' = 'events'): ExecutionProfile {
  let lastFinish = rec.startedAt;
  for (const t of rec.tasks.values()) if (t.finishedAt > lastFinish) lastFinish = t.finishedAt;
  const finishedAt = rec.finishedAt >= 0 ? rec.finishedAt : undefined;
  const makespan = rec.reportedDuration >= 0 ? rec.reportedDuration : (finishedAt ?? lastFinish) - rec.startedAt;

  const path = criticalPath(rec.startedAt, rec.dag, rec.tasks.values());
  const onPath = new Set(path.steps.map((st) => st.taskKey));
  const typeOf = new Map(rec.dag.map((d) => [d.id, d.type] as const));

  const tasks: TaskProfile[] = [];
  const agents = new Map<string, AgentProfile>();
  const totals = { queueWaitMs: 0, runTimeMs: 0, modelCalls: 0, modelLatencyMs: 0, inputTokens: 0, outputTokens: 0, cost: 0 };
  let completed = 0;
  let failed = 0;
  let skipped = 0;
  let retries = 0;
  for (const t of rec.tasks.values()) {
    const rt = runTime(t);
    const p: TaskProfile = {
      taskKey: t.key,
      taskId: t.taskId,
      agentId: t.agentId,
      type: typeOf.get(t.taskId),
      status: t.status,
      queueWaitMs: t.queueWait,
      runTimeMs: rt,
      elapsedMs: t.finishedAt >= 0 && t.startedAt >= 0 ? t.finishedAt - t.startedAt : 0,
      attempts: t.attempts,
      retries: t.retries,
      modelCalls: t.modelCalls,
      modelLatencyMs: t.modelLatency,
      inputTokens: t.inputTokens,
      outputTokens: t.outputTokens,
      cost: t.cost,
      onCriticalPath: onPath.has(t.key),
    };
    if (t.iterations > 0) p.iterations = t.iterations;
    if (t.queuedAt >= 0) p.queuedAt = t.queuedAt;
    if (t.startedAt >= 0) p.startedAt = t.startedAt;
    if (t.finishedAt >= 0) p.finishedAt = t.finishedAt;
    if (t.model !== undefined) p.model = t.model;
    if (t.cached) p.cached = true;
    if (t.error !== undefined) p.error = t.error;
    tasks.push(p);

    if (t.status === 'completed') completed++;
    else if (t.status === 'failed') failed++;
    else if (t.status === 'skipped') skipped++;
    retries += t.retries;
    totals.queueWaitMs += t.queueWait;
    totals.runTimeMs += rt;
    totals.modelCalls += t.modelCalls;
    totals.modelLatencyMs += t.modelLatency;
    totals.inputTokens += t.inputTokens;
    totals.outputTokens += t.outputTokens;
    totals.cost += t.cost;

    let a = agents.get(t.agentId);
    if (a === undefined) {
      a = { agentId: t.agentId, tasks: 0, queueWaitMs: 0, runTimeMs: 0, cost: 0 };
      agents.set(t.agentId, a);
    }
    a.tasks++;
    a.queueWaitMs += t.queueWait;
    a.runTimeMs += rt;
    a.cost += t.cost;
  }
  const byAgent = [...agents.values()].sort((x, y) => y.queueWaitMs + y.runTimeMs - (x.queueWaitMs + x.runTimeMs));

  const r = rec.resources;
  const profile: ExecutionProfile = {
    schemaVersion: PROFILE_SCHEMA_VERSION,
    executionId: rec.executionId,
    workflowId: rec.workflowId,
    status: rec.status,
    startedAt: rec.startedAt,
    makespanMs: makespan,
    taskCount: Math.max(rec.dag.length, rec.tasks.size),
    completed,
    failed,
    skipped,
    retries,
    tasks,
    criticalPath: path,
    parallelism: parallelism(makespan, rec.dag, rec.tasks.values()),
    totals,
    byAgent,
    bottlenecks: detectBottlenecks(rec, path, makespan, byAgent, s),
    source,
  };
  if (finishedAt !== undefined) profile.finishedAt = finishedAt;
  if (r.samples > 0) {
    profile.resources = {
      samples: r.samples,
      cpuPercentAvg: r.cpuSum / r.samples,
      cpuPercentPeak: r.cpuPeak,
      rssPeakBytes: r.rssPeak,
      heapUsedPeakBytes: r.heapPeak,
      eventLoopDelayP99Ms: r.loopP99,
      networkBytesIn: r.netIn,
      networkBytesOut: r.netOut,
    };
  }
  return profile;
}
