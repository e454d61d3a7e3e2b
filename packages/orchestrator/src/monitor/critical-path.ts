import type { TaskTable } from './execution-record.js';
import type { CriticalPath, CriticalPathStep, Parallelism } from './types.js';

// Critical path from what actually happened: start at the task that finished last and walk back through the
// predecessor that finished last before it started (the one that gated it). That chain set the makespan.

/** The path as task indexes (first to last): what run-end detectors need; steps are built only for profiles. */
export interface PathIndex {
  idx: Int32Array;
  durationMs: number;
  workMs: number;
  overheadMs: number;
}

export function criticalPathIndex(startedAt: number, tab: TaskTable): PathIndex {
  const { startedAt: st, finishedAt: fin, dag } = tab;
  let end = -1;
  for (let i = 0; i < tab.n; i++) if (fin[i] >= 0 && st[i] >= 0 && (end < 0 || fin[i] > fin[end])) end = i;
  if (end < 0) return { idx: new Int32Array(0), durationMs: 0, workMs: 0, overheadMs: 0 };

  // Walk back; a task is visited at most once, so the chain has at most n entries.
  const seen = new Uint8Array(tab.n);
  const back = new Int32Array(tab.n);
  let len = 0;
  let work = 0;
  let cur = end;
  while (cur >= 0 && seen[cur] === 0) {
    seen[cur] = 1;
    back[len++] = cur;
    work += fin[cur] - st[cur];
    let gate = -1;
    for (let p = dag.depStart[cur]; p < dag.depStart[cur + 1]; p++) {
      const d = dag.deps[p];
      if (fin[d] >= 0 && st[d] >= 0 && (gate < 0 || fin[d] > fin[gate])) gate = d;
    }
    cur = gate;
  }
  const idx = new Int32Array(len);
  for (let k = 0; k < len; k++) idx[k] = back[len - 1 - k];
  const durationMs = fin[end] - startedAt;
  return { idx, durationMs, workMs: work, overheadMs: Math.max(0, durationMs - work) };
}

/** The profile's form of the path: one step per task on it, with offsets from the execution start. */
export function criticalPathSteps(startedAt: number, tab: TaskTable, path: PathIndex): CriticalPath {
  const steps: CriticalPathStep[] = [];
  let prevEnd = startedAt;
  for (const i of path.idx) {
    const s = tab.startedAt[i];
    const f = tab.finishedAt[i];
    const id = tab.dag.ids[i];
    steps.push({
      taskKey: id,
      taskId: id,
      agentId: tab.dag.agents[tab.dag.agentOf[i]],
      startMs: s - startedAt,
      endMs: f - startedAt,
      durationMs: f - s,
      waitMs: Math.max(0, s - prevEnd),
    });
    prevEnd = f;
  }
  return { steps, durationMs: path.durationMs, workMs: path.workMs, overheadMs: path.overheadMs };
}

/** Observed durations (finish − first start) per task; 0 for tasks that did not finish. */
export function durations(tab: TaskTable): Float64Array {
  const d = new Float64Array(tab.n);
  for (let i = 0; i < tab.n; i++) if (tab.finished(i)) d[i] = tab.finishedAt[i] - tab.startedAt[i];
  return d;
}

export function parallelism(makespan: number, tab: TaskTable): Parallelism {
  const starts: number[] = [];
  const ends: number[] = [];
  let busy = 0;
  for (let i = 0; i < tab.n; i++) {
    if (!tab.finished(i)) continue;
    busy += tab.finishedAt[i] - tab.startedAt[i];
    starts.push(tab.startedAt[i]);
    ends.push(tab.finishedAt[i]);
  }
  // Sweep: peak number of tasks running at once.
  const s = Float64Array.from(starts).sort();
  const e = Float64Array.from(ends).sort();
  let peak = 0;
  let running = 0;
  let j = 0;
  for (let i = 0; i < s.length; i++) {
    while (j < e.length && e[j] <= s[i]) {
      running--;
      j++;
    }
    running++;
    if (running > peak) peak = running;
  }
  const n = tab.dag.n;
  const chain = n ? tab.dag.longestChain(durations(tab)) : 0;
  const achievedAvg = makespan > 0 ? busy / makespan : 0;
  const possibleAvg = chain > 0 ? busy / chain : achievedAvg;
  return {
    achievedAvg,
    achievedPeak: peak,
    possibleAvg,
    possiblePeak: n ? tab.dag.widest : peak,
    efficiency: possibleAvg > 0 ? Math.min(1, achievedAvg / possibleAvg) : 1,
  };
}
