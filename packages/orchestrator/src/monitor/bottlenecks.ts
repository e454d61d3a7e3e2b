import type { PathIndex } from './critical-path.js';
import type { ExecutionRecord, TaskTable } from './execution-record.js';
import { round } from './stats.js';
import type { AgentProfile, Bottleneck, DetectorSettings } from './types.js';

// Bottlenecks, each with the numbers that justify it: a task dominating the critical path, an agent whose
// tasks mostly wait in queue, a provider whose rate limits ate a share of the run.

export function detectBottlenecks(
  rateLimits: ExecutionRecord['rateLimits'],
  tab: TaskTable,
  path: PathIndex,
  makespan: number,
  byAgent: AgentProfile[],
  s: DetectorSettings,
): Bottleneck[] {
  const out: Bottleneck[] = [];
  if (path.idx.length >= 2 && makespan > 0) {
    for (const i of path.idx) {
      const durationMs = tab.finishedAt[i] - tab.startedAt[i];
      const share = durationMs / makespan;
      if (share < s.criticalShare) continue;
      const step = { taskId: tab.dag.ids[i], agentId: tab.dag.agents[tab.dag.agentOf[i]], durationMs };
      out.push({
        kind: 'critical-task',
        subject: step.taskId,
        message: `Task '${step.taskId}' took ${round(share * 100, 1)} % of the run (${round(step.durationMs)} of ${round(makespan)} ms) on the critical path`,
        evidence: {
          taskId: step.taskId,
          agentId: step.agentId,
          durationMs: round(step.durationMs),
          makespanMs: round(makespan),
          share: round(share, 3),
          criticalPathTasks: path.idx.length,
        },
      });
    }
  }
  for (const a of byAgent) {
    const meanWait = a.tasks ? a.queueWaitMs / a.tasks : 0;
    if (a.queueWaitMs < a.runTimeMs || meanWait < s.agentQueueMinMeanMs) continue;
    out.push({
      kind: 'agent-queue',
      subject: a.agentId,
      message: `Agent '${a.agentId}': tasks waited ${round(a.queueWaitMs)} ms in queue against ${round(a.runTimeMs)} ms of work`,
      evidence: {
        agentId: a.agentId,
        tasks: a.tasks,
        queueWaitMs: round(a.queueWaitMs),
        runTimeMs: round(a.runTimeMs),
        meanQueueWaitMs: round(meanWait),
        waitToRunRatio: round(a.runTimeMs > 0 ? a.queueWaitMs / a.runTimeMs : a.queueWaitMs, 2),
      },
    });
  }
  for (const [provider, rl] of rateLimits) {
    const share = makespan > 0 ? rl.waitMs / makespan : 0;
    if (share < s.throttleShare) continue;
    out.push({
      kind: 'provider-throttle',
      subject: provider,
      message: `Provider '${provider}' rate-limited ${rl.count} times, ${round(rl.waitMs)} ms of waiting (${round(share * 100, 1)} % of the run)`,
      evidence: {
        provider,
        rateLimitedCount: rl.count,
        waitMs: round(rl.waitMs),
        makespanMs: round(makespan),
        share: round(share, 3),
      },
    });
  }
  return out;
}
