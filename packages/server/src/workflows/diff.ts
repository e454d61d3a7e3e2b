// Task-level diff between two versions of a definition: tasks added, removed, and changed (field by field),
// plus changed workflow-level fields.

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

export interface WorkflowDiff {
  from: number;
  to: number;
  added: string[];
  removed: string[];
  changed: Array<{ taskId: string; fields: FieldChange[] }>;
  workflow: FieldChange[];
}

type Def = { tasks?: Array<Record<string, unknown> & { id: string }> } & Record<string, unknown>;

export function diffDefinitions(a: Def, b: Def, from: number, to: number): WorkflowDiff {
  const ta = new Map((a.tasks ?? []).map((t) => [t.id, t]));
  const tb = new Map((b.tasks ?? []).map((t) => [t.id, t]));
  const added = [...tb.keys()].filter((id) => !ta.has(id));
  const removed = [...ta.keys()].filter((id) => !tb.has(id));
  const changed: WorkflowDiff['changed'] = [];
  for (const [id, t] of tb) {
    const old = ta.get(id);
    if (!old) continue;
    const fields = fieldChanges(old, t);
    if (fields.length) changed.push({ taskId: id, fields });
  }
  const strip = ({ tasks: _t, ...rest }: Def) => rest;
  return { from, to, added, removed, changed, workflow: fieldChanges(strip(a), strip(b)) };
}

function fieldChanges(a: Record<string, unknown>, b: Record<string, unknown>): FieldChange[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const out: FieldChange[] = [];
  for (const k of [...keys].sort()) if (!sameJson(a[k], b[k])) out.push({ field: k, from: a[k], to: b[k] });
  return out;
}

function sameJson(x: unknown, y: unknown): boolean {
  return JSON.stringify(canonical(x)) === JSON.stringify(canonical(y));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  return v;
}
