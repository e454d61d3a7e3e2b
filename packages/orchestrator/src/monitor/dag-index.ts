// A workflow's DAG compiled once into index arrays (ids → positions, dependency lists, topological order, agent
// slots, edges that carry no data), so each run's analysis is plain array walks: O(V + E), no per-task maps.
// Compiled DAGs are cached per workflow id and re-used while the declared DAG is unchanged.

export interface DagTask {
  id: string;
  agentId: string;
  type?: string;
  dependencies: string[];
  /** Upstream task ids whose outputs this task's input references, when the engine reports it. */
  reads?: string[];
}

/** Dependencies that carry no data (the task does not read them): what-if candidates for parallelisation. */
export interface UnreadEdges {
  /** 1 at positions of `DagIndex.deps` whose edge carries no data. */
  drop: Uint8Array;
  /** `from → to`, for the insight's evidence. */
  edges: string[];
  sequentialTasks: string[];
}

export class DagIndex {
  readonly n: number;
  readonly ids: string[];
  readonly index = new Map<string, number>();
  /** Dependencies of task i are `deps[depStart[i] .. depStart[i + 1])` (unknown ids dropped). */
  readonly depStart: Int32Array;
  readonly deps: Int32Array;
  /** Every task after its dependencies (tasks caught in a cycle come last, in declaration order). */
  readonly order: Int32Array;
  /** Distinct agent ids, and each task's slot in that list. */
  readonly agents: string[] = [];
  readonly agentOf: Int32Array;
  /** Width of the widest dependency level (tasks at the same depth can all run together). */
  readonly widest: number;
  readonly unread: UnreadEdges | undefined;

  constructor(readonly tasks: DagTask[]) {
    const n = tasks.length;
    this.n = n;
    this.ids = new Array<string>(n);
    this.agentOf = new Int32Array(n);
    const agentSlot = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const t = tasks[i];
      this.ids[i] = t.id;
      if (!this.index.has(t.id)) this.index.set(t.id, i);
      let a = agentSlot.get(t.agentId);
      if (a === undefined) {
        a = this.agents.length;
        this.agents.push(t.agentId);
        agentSlot.set(t.agentId, a);
      }
      this.agentOf[i] = a;
    }
    let e = 0;
    for (const t of tasks) e += t.dependencies.length;
    this.depStart = new Int32Array(n + 1);
    const deps = new Int32Array(e);
    let k = 0;
    let drop: Uint8Array | undefined;
    const edges: string[] = [];
    const sequential: string[] = [];
    for (let i = 0; i < n; i++) {
      this.depStart[i] = k;
      const t = tasks[i];
      for (const dep of t.dependencies) {
        const d = this.index.get(dep);
        if (d === undefined || d === i) continue;
        if (t.reads !== undefined && !t.reads.includes(dep)) {
          drop ??= new Uint8Array(e);
          drop[k] = 1;
          edges.push(`${dep} → ${t.id}`);
          if (t.type === 'sequential' && sequential[sequential.length - 1] !== t.id) sequential.push(t.id);
        }
        deps[k++] = d;
      }
    }
    this.depStart[n] = k;
    this.deps = k === e ? deps : deps.slice(0, k);
    this.unread = drop && { drop: drop.slice(0, k), edges, sequentialTasks: sequential };
    this.order = topoOrder(n, this.depStart, this.deps);
    // Levels along the topological order: a task sits one below its deepest dependency.
    const level = new Int32Array(n);
    const width = new Int32Array(n + 1);
    let widest = 0;
    for (let j = 0; j < n; j++) {
      const i = this.order[j];
      let l = 0;
      for (let p = this.depStart[i]; p < this.depStart[i + 1]; p++)
        if (level[this.deps[p]] + 1 > l) l = level[this.deps[p]] + 1;
      level[i] = l;
      if (++width[l] > widest) widest = width[l];
    }
    this.widest = widest;
  }

  /** True when `tasks` declares the same DAG (ids, agents, types, dependencies, reads): O(V + E) compares. */
  matches(tasks: DagTask[]): boolean {
    if (tasks === this.tasks) return true;
    if (tasks.length !== this.n) return false;
    for (let i = 0; i < tasks.length; i++) {
      const a = tasks[i];
      const b = this.tasks[i];
      if (a.id !== b.id || a.agentId !== b.agentId || a.type !== b.type) return false;
      if (!sameList(a.dependencies, b.dependencies) || !sameList(a.reads, b.reads)) return false;
    }
    return true;
  }

  /**
   * Longest chain of work (ms) given per-task durations, ignoring dependency positions marked in `drop`. Used
   * for "possible parallelism" and for what-if estimates of removing edges.
   */
  longestChain(duration: Float64Array, drop?: Uint8Array): number {
    const finish = new Float64Array(this.n);
    let max = 0;
    for (let j = 0; j < this.n; j++) {
      const i = this.order[j];
      let start = 0;
      for (let p = this.depStart[i]; p < this.depStart[i + 1]; p++) {
        if (drop !== undefined && drop[p] === 1) continue;
        if (finish[this.deps[p]] > start) start = finish[this.deps[p]];
      }
      finish[i] = start + duration[i];
      if (finish[i] > max) max = finish[i];
    }
    return max;
  }
}

function sameList(a: string[] | undefined, b: string[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Kahn's algorithm over the index arrays. */
function topoOrder(n: number, depStart: Int32Array, deps: Int32Array): Int32Array {
  const pending = new Int32Array(n);
  const outStart = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    pending[i] = depStart[i + 1] - depStart[i];
    for (let p = depStart[i]; p < depStart[i + 1]; p++) outStart[deps[p] + 1]++;
  }
  for (let i = 0; i < n; i++) outStart[i + 1] += outStart[i];
  const out = new Int32Array(deps.length);
  const fill = outStart.slice(0, n);
  for (let i = 0; i < n; i++) for (let p = depStart[i]; p < depStart[i + 1]; p++) out[fill[deps[p]]++] = i;
  const order = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let i = 0; i < n; i++) if (pending[i] === 0) order[tail++] = i;
  while (head < tail) {
    const i = order[head++];
    for (let p = outStart[i]; p < outStart[i + 1]; p++) if (--pending[out[p]] === 0) order[tail++] = out[p];
  }
  if (tail < n) for (let i = 0; i < n; i++) if (pending[i] > 0) order[tail++] = i;
  return order;
}

/** Compiled DAGs by workflow id (bounded; oldest dropped), re-compiled when a workflow's DAG changes. */
export class DagCache {
  private readonly byWorkflow = new Map<string, DagIndex>();
  constructor(private readonly capacity = 256) {}

  get(workflowId: string, tasks: DagTask[]): DagIndex {
    const hit = this.byWorkflow.get(workflowId);
    if (hit?.matches(tasks)) return hit;
    const idx = new DagIndex(tasks);
    this.byWorkflow.delete(workflowId);
    this.byWorkflow.set(workflowId, idx);
    if (this.byWorkflow.size > this.capacity) this.byWorkflow.delete(this.byWorkflow.keys().next().value as string);
    return idx;
  }
}
