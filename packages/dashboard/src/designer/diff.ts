import type { TaskDef } from '../api/types.ts';
import { edgeId } from './projection.ts';
import type { GraphDiff, TaskDiff } from './types.ts';

// Task-level diff of two workflow versions: added / removed / changed (with the changed field names), and the
// dependency edges that appeared or went away. The designer draws the union of both graphs with these marks.

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v as object)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

function normal(t: TaskDef): Record<string, unknown> {
  const { id: _id, ...rest } = t;
  const o: Record<string, unknown> = { ...rest };
  if (!o.dependencies || (Array.isArray(o.dependencies) && o.dependencies.length === 0)) delete o.dependencies;
  return o;
}

export function diffTasks(before: TaskDef[], after: TaskDef[]): GraphDiff {
  const a = new Map(before.map((t) => [t.id, t]));
  const b = new Map(after.map((t) => [t.id, t]));
  const tasks = new Map<string, TaskDiff>();
  const addedEdges = new Set<string>();
  const removedEdges = new Set<string>();
  for (const [id, t] of a) {
    const n = b.get(id);
    if (!n) {
      tasks.set(id, { id, kind: 'removed', fields: [] });
      continue;
    }
    const x = normal(t);
    const y = normal(n);
    const fields = [...new Set([...Object.keys(x), ...Object.keys(y)])]
      .filter((k) => stable(x[k]) !== stable(y[k]))
      .sort();
    tasks.set(id, { id, kind: fields.length ? 'changed' : 'same', fields });
  }
  for (const id of b.keys()) if (!a.has(id)) tasks.set(id, { id, kind: 'added', fields: [] });
  const edges = (m: Map<string, TaskDef>) => {
    const s = new Set<string>();
    for (const t of m.values()) for (const d of t.dependencies ?? []) s.add(edgeId(d, t.id));
    return s;
  };
  const ea = edges(a);
  const eb = edges(b);
  for (const e of eb) if (!ea.has(e)) addedEdges.add(e);
  for (const e of ea) if (!eb.has(e)) removedEdges.add(e);
  return { tasks, addedEdges, removedEdges };
}

export function diffSummary(d: GraphDiff): { added: number; removed: number; changed: number } {
  let added = 0;
  let removed = 0;
  let changed = 0;
  for (const t of d.tasks.values()) {
    if (t.kind === 'added') added++;
    else if (t.kind === 'removed') removed++;
    else if (t.kind === 'changed') changed++;
  }
  return { added, removed, changed };
}
