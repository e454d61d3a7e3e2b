import type { DagTask, TaskRecord } from './execution-record.js';
import type { CriticalPath, CriticalPathStep, Parallelism } from './types.js';

// Critical path from what actually happened: start at the task that finished last and walk back through the
// predecessor that finished last before it started (the one that gated it). That chain set the makespan.

function finished(t: TaskRecord): boolean {
  return t.finishedAt >= 0 && t.startedAt >= 0;
}

/** `tasks` is keyed by task id (one record per task). */
export function criticalPath(startedAt: number, dag: DagTask[], tasks: Map<string, TaskRecord>): CriticalPath {
  let end: TaskRecord | undefined;
  for (const t of tasks.values()) if (finished(t) && (end === undefined || t.finishedAt > end.finishedAt)) end = t;
  if (end === undefined) return { steps: [], durationMs: 0, workMs: 0, overheadMs: 0 };

  const deps = new Map<string, string[]>();
  for (const d of dag) deps.set(d.id, d.dependencies);

  const chain: TaskRecord[] = [];
  const seen = new Set<string>();
  let cur: TaskRecord | undefined = end;
  while (cur !== undefined && !seen.has(cur.taskId)) {
    chain.push(cur);
    seen.add(cur.taskId);
    let gate: TaskRecord | undefined;
    for (const dep of deps.get(cur.taskId) ?? []) {
      const d = tasks.get(dep);
      if (d !== undefined && finished(d) && (gate === undefined || d.finishedAt > gate.finishedAt)) gate = d;
    }
    cur = gate;
  }
  chain.reverse();

  const steps: CriticalPathStep[] = [];
  let prevEnd = startedAt;
  let work = 0;
  for (const t of chain) {
    const duration = t.finishedAt - t.startedAt;
    work += duration;
    steps.push({
      taskKey: t.key,
      taskId: t.taskId,
      agentId: t.agentId,
      startMs: t.startedAt - startedAt,
      endMs: t.finishedAt - startedAt,
      durationMs: duration,
      waitMs: Math.max(0, t.startedAt - prevEnd),
    });
    prevEnd = t.finishedAt;
  }
  const durationMs = end.finishedAt - startedAt;
  return { steps, durationMs, workMs: work, overheadMs: Math.max(0, durationMs - work) };
}

/**
 * Longest chain of work through the DAG (ms) given per-task durations, ignoring the edges in `drop`
 * (`"from\u0000to"`). Used for "possible parallelism" and for what-if estimates of removing edges.
 */
export function longestChain(dag: DagTask[], duration: (taskId: string) => number, drop?: Set<string>): number {
  const finish = new Map<string, number>();
  const byId = new Map(dag.map((d) => [d.id, d] as const));
  const visiting = new Set<string>();
  const visit = (id: string): number => {
    const known = finish.get(id);
    if (known !== undefined) return known;
    const d = byId.get(id);
    if (d === undefined || visiting.has(id)) return 0;
    visiting.add(id);
    let start = 0;
    for (const dep of d.dependencies) {
      if (drop?.has(`${dep}\u0000${id}`)) continue;
      start = Math.max(start, visit(dep));
    }
    visiting.delete(id);
    const f = start + duration(id);
    finish.set(id, f);
    return f;
  };
  let max = 0;
  for (const d of dag) max = Math.max(max, visit(d.id));
  return max;
}

/** Width of the widest dependency level (tasks at the same depth can all run together). */
export function widestLevel(dag: DagTask[]): number {
  const depth = new Map<string, number>();
  const byId = new Map(dag.map((d) => [d.id, d] as const));
  const visiting = new Set<string>();
  const visit = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    const d = byId.get(id);
    if (d === undefined || visiting.has(id)) return 0;
    visiting.add(id);
    let lvl = 0;
    for (const dep of d.dependencies) lvl = Math.max(lvl, visit(dep) + 1);
    visiting.delete(id);
    depth.set(id, lvl);
    return lvl;
  };
  const counts = new Map<number, number>();
  for (const d of dag) {
    const l = visit(d.id);
    counts.set(l, (counts.get(l) ?? 0) + 1);
  }
  let max = 0;
  for (const c of counts.values()) max = Math.max(max, c);
  return max;
}

export function parallelism(makespan: number, dag: DagTask[], tasks: Iterable<TaskRecord>): Parallelism {
  const starts: number[] = [];
  const ends: number[] = [];
  let busy = 0;
  const perTask = new Map<string, number>();
  for (const t of tasks) {
    if (!finished(t)) continue;
    const d = t.finishedAt - t.startedAt;
    busy += d;
    starts.push(t.startedAt);
    ends.push(t.finishedAt);
    perTask.set(t.taskId, Math.max(perTask.get(t.taskId) ?? 0, d));
  }
  // Sweep: peak number of tasks running at once.
  starts.sort((a, b) => a - b);
  ends.sort((a, b) => a - b);
  let peak = 0;
  let running = 0;
  let j = 0;
  for (let i = 0; i < starts.length; i++) {
    while (j < ends.length && ends[j] <= starts[i]) {
      running--;
      j++;
    }
    running++;
    if (running > peak) peak = running;
  }
  const chain = dag.length ? longestChain(dag, (id) => perTask.get(id) ?? 0) : 0;
  const achievedAvg = makespan > 0 ? busy / makespan : 0;
  const possibleAvg = chain > 0 ? busy / chain : achievedAvg;
  return {
    achievedAvg,
    achievedPeak: peak,
    possibleAvg,
    possiblePeak: dag.length ? widestLevel(dag) : peak,
    efficiency: possibleAvg > 0 ? Math.min(1, achievedAvg / possibleAvg) : 1,
  };
}
