import { detectBottlenecks } from './bottlenecks.js';
import { criticalPathIndex, criticalPathSteps, type PathIndex, parallelism } from './critical-path.js';
import {
  COMPLETED,
  type ExecutionRecord,
  FAILED,
  SKIPPED,
  STATUS_NAME,
  type TaskTable,
  UNSEEN,
} from './execution-record.js';
import type { AgentProfile, DetectorSettings, ExecutionProfile, TaskProfile } from './types.js';
import { PROFILE_SCHEMA_VERSION } from './types.js';

/** What every finished run needs right away (for insights, anomalies, metrics): one pass over its tasks. */
export interface RunSummary {
  status: ExecutionProfile['status'];
  makespanMs: number;
  path: PathIndex;
  completed: number;
  failed: number;
  skipped: number;
  retries: number;
  totals: ExecutionProfile['totals'];
  byAgent: AgentProfile[];
  bottlenecks: ExecutionProfile['bottlenecks'];
}

type RunFacts = Pick<ExecutionRecord, 'startedAt' | 'finishedAt' | 'reportedDuration' | 'status' | 'rateLimits'>;

export function summarise(rec: RunFacts, tab: TaskTable, s: DetectorSettings): RunSummary {
  let lastFinish = rec.startedAt;
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
  const { dag, status, finishedAt, queueWait, runTime } = tab;
  const slots = dag.agents.length;
  // Per agent: task count, queue wait, run time, cost (columns of one array).
  const ag = new Float64Array(slots * 4);
  for (let i = 0; i < tab.n; i++) {
    const st = status[i];
    if (st === UNSEEN) continue;
    if (finishedAt[i] > lastFinish) lastFinish = finishedAt[i];
    if (st === COMPLETED) completed++;
    else if (st === FAILED) failed++;
    else if (st === SKIPPED) skipped++;
    retries += tab.retries[i];
    totals.queueWaitMs += queueWait[i];
    totals.runTimeMs += runTime[i];
    const a = dag.agentOf[i] * 4;
    ag[a]++;
    ag[a + 1] += queueWait[i];
    ag[a + 2] += runTime[i];
  }
  for (const [i, x] of tab.extra) {
    if (status[i] === UNSEEN) continue;
    totals.modelCalls += x.modelCalls;
    totals.modelLatencyMs += x.modelLatency;
    totals.inputTokens += x.inputTokens;
    totals.outputTokens += x.outputTokens;
    totals.cost += x.cost;
    ag[dag.agentOf[i] * 4 + 3] += x.cost;
  }
  const byAgent: AgentProfile[] = [];
  for (let a = 0; a < slots; a++) {
    if (ag[a * 4] === 0) continue;
    byAgent.push({
      agentId: dag.agents[a],
      tasks: ag[a * 4],
      queueWaitMs: ag[a * 4 + 1],
      runTimeMs: ag[a * 4 + 2],
      cost: ag[a * 4 + 3],
    });
  }
  byAgent.sort((x, y) => y.queueWaitMs + y.runTimeMs - (x.queueWaitMs + x.runTimeMs));
  const makespan =
    rec.reportedDuration >= 0
      ? rec.reportedDuration
      : (rec.finishedAt >= 0 ? rec.finishedAt : lastFinish) - rec.startedAt;
  const path = criticalPathIndex(rec.startedAt, tab);
  return {
    status: rec.status,
    makespanMs: makespan,
    path,
    completed,
    failed,
    skipped,
    retries,
    totals,
    byAgent,
    bottlenecks: detectBottlenecks(rec.rateLimits, tab, path, makespan, byAgent, s),
  };
}

/** The full profile (per-task rows, critical-path steps, parallelism): built on demand, from the run's summary. */
export function buildProfile(
  rec: ExecutionRecord,
  tab: TaskTable,
  s: DetectorSettings,
  source: 'events' | 'store' = 'events',
  sum: RunSummary = summarise(rec, tab, s),
): ExecutionProfile {
  const onPath = new Uint8Array(tab.n);
  for (const i of sum.path.idx) onPath[i] = 1;
  const { dag } = tab;
  const tasks: TaskProfile[] = [];
  for (let i = 0; i < tab.n; i++) {
    if (tab.status[i] === UNSEEN) continue;
    const x = tab.extra.get(i);
    const st = tab.startedAt[i];
    const fin = tab.finishedAt[i];
    const id = dag.ids[i];
    const p: TaskProfile = {
      taskKey: id,
      taskId: id,
      agentId: dag.agents[dag.agentOf[i]],
      type: dag.tasks[i].type,
      status: STATUS_NAME[tab.status[i]],
      queueWaitMs: tab.queueWait[i],
      runTimeMs: tab.runTime[i],
      elapsedMs: fin >= 0 && st >= 0 ? fin - st : 0,
      attempts: tab.attempts[i],
      retries: tab.retries[i],
      modelCalls: x?.modelCalls ?? 0,
      modelLatencyMs: x?.modelLatency ?? 0,
      inputTokens: x?.inputTokens ?? 0,
      outputTokens: x?.outputTokens ?? 0,
      cost: x?.cost ?? 0,
      onCriticalPath: onPath[i] === 1,
    };
    if (x?.iterations) p.iterations = x.iterations;
    if (st >= 0) {
      p.queuedAt = st - tab.queueWait[i];
      p.startedAt = st;
    }
    if (fin >= 0) p.finishedAt = fin;
    if (x?.model !== undefined) p.model = x.model;
    if (x?.cached) p.cached = true;
    if (x?.error !== undefined) p.error = x.error;
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
    taskCount: Math.max(dag.n, tasks.length),
    completed: sum.completed,
    failed: sum.failed,
    skipped: sum.skipped,
    retries: sum.retries,
    tasks,
    criticalPath: criticalPathSteps(rec.startedAt, tab, sum.path),
    parallelism: parallelism(sum.makespanMs, tab),
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
