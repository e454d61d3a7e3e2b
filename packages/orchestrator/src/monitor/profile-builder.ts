import { detectBottlenecks } from './bottlenecks.js';
import { criticalPath, parallelism } from './critical-path.js';
import type { ExecutionRecord, TaskRecord } from './execution-record.js';
import type { AgentProfile, DetectorSettings, ExecutionProfile, TaskProfile } from './types.js';
import { PROFILE_SCHEMA_VERSION } from './types.js';

function runTime(t: TaskRecord): number {
  if (t.runTime >= 0) return t.runTime;
  return t.finishedAt >= 0 && t.lastStartedAt >= 0 ? t.finishedAt - t.lastStartedAt : 0;
}

/** What every finished run needs right away (for insights, anomalies, metrics): one pass over its tasks. */
export interface RunSummary {
  status: ExecutionProfile['status'];
  makespanMs: number;
  criticalPath: ExecutionProfile['criticalPath'];
  completed: number;
  failed: number;
  skipped: number;
  retries: number;
  totals: ExecutionProfile['totals'];
  byAgent: AgentProfile[];
  bottlenecks: ExecutionProfile['bottlenecks'];
}

export function summarise(rec: ExecutionRecord, s: DetectorSettings): RunSummary {
  let lastFinish = rec.startedAt;
  const agents = new Map<string, AgentProfile>();
  const totals = {
    queueWaitMs: 0,
    runTimeMs: 0,
    modelCalls: 0,
    modelLatencyMs: 0,
    inputTokens: 0,
    outputTokens: 0,
    cost: 0,
  };
  let completed = 0;
  let failed = 0;
  let skipped = 0;
  let retries = 0;
  let agentId = '';
  let a: AgentProfile | undefined;
  for (const t of rec.tasks.values()) {
    if (t.finishedAt > lastFinish) lastFinish = t.finishedAt;
    const rt = runTime(t);
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
    // Consecutive tasks usually share an agent: skip the map lookup then.
    if (a === undefined || t.agentId !== agentId) {
      agentId = t.agentId;
      a = agents.get(agentId);
      if (a === undefined) {
        a = { agentId, tasks: 0, queueWaitMs: 0, runTimeMs: 0, cost: 0 };
        agents.set(agentId, a);
      }
    }
    a.tasks++;
    a.queueWaitMs += t.queueWait;
    a.runTimeMs += rt;
    a.cost += t.cost;
  }
  const makespan =
    rec.reportedDuration >= 0
      ? rec.reportedDuration
      : (rec.finishedAt >= 0 ? rec.finishedAt : lastFinish) - rec.startedAt;
  const path = criticalPath(rec.startedAt, rec.dag, rec.tasks);
  const byAgent = [...agents.values()].sort((x, y) => y.queueWaitMs + y.runTimeMs - (x.queueWaitMs + x.runTimeMs));
  return {
    status: rec.status,
    makespanMs: makespan,
    criticalPath: path,
    completed,
    failed,
    skipped,
    retries,
    totals,
    byAgent,
    bottlenecks: detectBottlenecks(rec, path, makespan, byAgent, s),
  };
}

/** The full profile (per-task rows, parallelism): built on demand, from the run's summary. */
export function buildProfile(
  rec: ExecutionRecord,
  s: DetectorSettings,
  source: 'events' | 'store' = 'events',
  sum: RunSummary = summarise(rec, s),
): ExecutionProfile {
  const onPath = new Set(sum.criticalPath.steps.map((st) => st.taskKey));
  const typeOf = new Map(rec.dag.map((d) => [d.id, d.type] as const));
  const tasks: TaskProfile[] = [];
  for (const t of rec.tasks.values()) {
    const p: TaskProfile = {
      taskKey: t.key,
      taskId: t.taskId,
      agentId: t.agentId,
      type: typeOf.get(t.taskId),
      status: t.status,
      queueWaitMs: t.queueWait,
      runTimeMs: runTime(t),
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
    if (t.startedAt >= 0) p.queuedAt = t.startedAt - t.queueWait;
    if (t.startedAt >= 0) p.startedAt = t.startedAt;
    if (t.finishedAt >= 0) p.finishedAt = t.finishedAt;
    if (t.model !== undefined) p.model = t.model;
    if (t.cached) p.cached = true;
    if (t.error !== undefined) p.error = t.error;
    tasks.push(p);
  }
  const r = rec.resources;
  const profile: ExecutionProfile = {
    schemaVersion: PROFILE_SCHEMA_VERSION,
    executionId: rec.executionId,
    workflowId: rec.workflowId,
    status: rec.status,
    startedAt: rec.startedAt,
    makespanMs: sum.makespanMs,
    taskCount: Math.max(rec.dag.length, rec.tasks.size),
    completed: sum.completed,
    failed: sum.failed,
    skipped: sum.skipped,
    retries: sum.retries,
    tasks,
    criticalPath: sum.criticalPath,
    parallelism: parallelism(sum.makespanMs, rec.dag, rec.tasks.values()),
    totals: sum.totals,
    byAgent: sum.byAgent,
    bottlenecks: sum.bottlenecks,
    source,
  };
  if (rec.finishedAt >= 0) profile.finishedAt = rec.finishedAt;
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
