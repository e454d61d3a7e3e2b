import type { ExecutionHeader, TaskTransition } from '@codexos/multi-agent-orchestrator';
import type { LiveEvent } from '../types.js';

// Events of a run this process did not watch (it ran before a restart): rebuilt from the stored transitions,
// so "events so far" and resume numbering work across restarts. Payloads are what the store kept.

const TYPE: Record<string, string> = {
  queued: 'task:queued',
  running: 'task:started',
  retrying: 'task:retrying',
  completed: 'task:completed',
  failed: 'task:failed',
  skipped: 'task:skipped',
};

export function eventsFromHistory(h: ExecutionHeader, transitions: TaskTransition[]): Array<Omit<LiveEvent, 'seq'>> {
  const base = { executionId: h.executionId, workflowId: h.workflowId };
  const out: Array<Omit<LiveEvent, 'seq'>> = [
    {
      ...base,
      type: 'workflow:started',
      at: h.startedAt,
      payload: { ...base, timestamp: h.startedAt, restored: true },
    },
  ];
  for (const t of transitions) {
    if (t.taskKey.startsWith('$')) continue;
    const [taskId, iter] = t.taskKey.split('#');
    const payload: Record<string, unknown> = { ...base, taskId, attempt: t.attempt, timestamp: t.at, restored: true };
    if (iter !== undefined) payload.iteration = Number(iter);
    if (t.output !== undefined) payload.output = t.output;
    if (t.error) payload.error = t.error;
    if (t.usage) payload.usage = t.usage;
    if (t.cost !== undefined) payload.cost = t.cost;
    out.push({ ...base, type: TYPE[t.status] ?? `task:${t.status}`, at: t.at, payload });
  }
  if (h.status !== 'running' && h.status !== 'pending') {
    const at = h.finishedAt ?? h.startedAt;
    out.push({
      ...base,
      type: `workflow:${h.status}`,
      at,
      payload: { ...base, timestamp: at, status: h.status, error: h.error, restored: true },
    });
  }
  return out;
}
