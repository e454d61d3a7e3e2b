// The critical path of a finished run: the chain of dependencies whose durations add up to the longest time.
// Computed over the declared DAG in topological order (tasks without a duration count as 0).

export function criticalPath(
  tasks: Array<{ id: string; dependencies?: string[] }>,
  duration: (id: string) => number | undefined,
): { path: string[]; total: number } {
  const ids = new Set(tasks.map((t) => t.id));
  const deps = new Map(tasks.map((t) => [t.id, (t.dependencies ?? []).filter((d) => ids.has(d))]));
  const indeg = new Map<string, number>();
  const children = new Map<string, string[]>();
  for (const t of tasks) {
    indeg.set(t.id, deps.get(t.id)!.length);
    for (const d of deps.get(t.id)!) (children.get(d) ?? children.set(d, []).get(d)!).push(t.id);
  }
  const queue = tasks.filter((t) => indeg.get(t.id) === 0).map((t) => t.id);
  const best = new Map<string, number>();
  const prev = new Map<string, string | undefined>();
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i];
    let from: string | undefined;
    let base = 0;
    for (const d of deps.get(id)!) {
      const b = best.get(d) ?? 0;
      if (from === undefined || b > base) {
        base = b;
        from = d;
      }
    }
    best.set(id, base + Math.max(0, duration(id) ?? 0));
    prev.set(id, from);
    for (const c of children.get(id) ?? []) {
      const n = (indeg.get(c) ?? 0) - 1;
      indeg.set(c, n);
      if (n === 0) queue.push(c);
    }
  }
  let end: string | undefined;
  let total = -1;
  for (const [id, v] of best)
    if (v > total) {
      total = v;
      end = id;
    }
  const path: string[] = [];
  for (let cur = end; cur !== undefined; cur = prev.get(cur)) path.push(cur);
  return { path: path.reverse(), total: Math.max(0, total) };
}

/** Nearest-rank percentile of a list of numbers (p in 0..100). */
export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}
