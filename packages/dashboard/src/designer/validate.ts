import workflowSchema from '../../../orchestrator/workflow-schema.json';
import type { TaskDef } from '../api/types.ts';
import type { FieldIssue } from './types.ts';

// Validation of tasks against the published workflow JSON Schema (packages/orchestrator/workflow-schema.json),
// plus the graph rules the schema cannot express (unknown dependency, cycle, duplicate id). A small validator
// for the keywords that schema uses, so the panel and the nodes show the same messages the server would give.

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minItems?: number;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  allOf?: Schema[];
  if?: Schema;
  else?: Schema;
  not?: Schema;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  description?: string;
};

export const taskSchema = (workflowSchema as unknown as { properties: { tasks: { items: Schema } } }).properties.tasks
  .items;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(want: string, v: unknown): boolean {
  const t = typeOf(v);
  return want === t || (want === 'number' && t === 'integer');
}

const regexCache = new Map<string, RegExp>();

export function validateValue(schema: Schema, v: unknown, path: string, out: FieldIssue[]): void {
  if (schema.anyOf) {
    const ok = schema.anyOf.some((s) => {
      const sub: FieldIssue[] = [];
      validateValue(s, v, path, sub);
      return sub.length === 0;
    });
    if (!ok) {
      const opts = schema.anyOf
        .map((s) =>
          s.const !== undefined ? JSON.stringify(s.const) : s.required ? `{ ${s.required.join(', ')} }` : s.type,
        )
        .join(' or ');
      out.push({ field: path, message: `must be ${opts}` });
    }
    return;
  }
  if (schema.const !== undefined && v !== schema.const) {
    out.push({ field: path, message: `must be ${JSON.stringify(schema.const)}` });
    return;
  }
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeMatches(t, v))) {
      out.push({
        field: path,
        message: `must be ${types.map((t) => (t === 'integer' ? 'a whole number' : `a ${t}`)).join(' or ')}`,
      });
      return;
    }
  }
  if (schema.enum && !schema.enum.includes(v)) {
    out.push({ field: path, message: `must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}` });
    return;
  }
  if (typeof v === 'string') {
    if (schema.minLength !== undefined && v.length < schema.minLength)
      out.push({
        field: path,
        message: schema.minLength === 1 ? 'is required' : `must be at least ${schema.minLength} characters`,
      });
    if (schema.maxLength !== undefined && v.length > schema.maxLength)
      out.push({ field: path, message: `must be at most ${schema.maxLength} characters` });
    if (schema.pattern && v.length > 0) {
      let re = regexCache.get(schema.pattern);
      if (!re) {
        re = new RegExp(schema.pattern, 'u');
        regexCache.set(schema.pattern, re);
      }
      if (!re.test(v))
        out.push({ field: path, message: 'may use only letters, digits and _ . : - (not starting with . : -)' });
    }
  }
  if (typeof v === 'number') {
    if (schema.minimum !== undefined && v < schema.minimum)
      out.push({ field: path, message: `must be ≥ ${schema.minimum}` });
    if (schema.maximum !== undefined && v > schema.maximum)
      out.push({ field: path, message: `must be ≤ ${schema.maximum}` });
    if (schema.exclusiveMinimum !== undefined && v <= schema.exclusiveMinimum)
      out.push({ field: path, message: `must be > ${schema.exclusiveMinimum}` });
  }
  if (Array.isArray(v)) {
    if (schema.minItems !== undefined && v.length < schema.minItems)
      out.push({ field: path, message: `needs at least ${schema.minItems} item(s)` });
    if (schema.items) {
      for (const [i, item] of v.entries()) validateValue(schema.items as Schema, item, `${path}[${i}]`, out);
    }
  }
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    for (const r of schema.required ?? [])
      if (o[r] === undefined) out.push({ field: path ? `${path}.${r}` : r, message: 'is required' });
    for (const [k, val] of Object.entries(o)) {
      const p = path ? `${path}.${k}` : k;
      const sub = schema.properties?.[k];
      if (sub) validateValue(sub, val, p, out);
      else if (schema.additionalProperties === false) out.push({ field: p, message: 'is not a known field' });
      else if (typeof schema.additionalProperties === 'object') validateValue(schema.additionalProperties, val, p, out);
    }
  }
  validateConditions(schema, v, path, out);
}

/** The conditionals of the task schema: `allOf`, `if` / `else` (agentId unless an approval) and `not`. */
function validateConditions(schema: Schema, v: unknown, path: string, out: FieldIssue[]): void {
  for (const sub of schema.allOf ?? []) validateValue(sub, v, path, out);
  if (schema.if && schema.else) {
    const probe: FieldIssue[] = [];
    validateValue(schema.if, v, path, probe);
    if (probe.length > 0) validateValue(schema.else, v, path, out);
  }
  if (schema.not) {
    const probe: FieldIssue[] = [];
    validateValue(schema.not, v, path, probe);
    const [first, ...rest] = schema.not.required ?? [];
    if (probe.length === 0 && first !== undefined)
      out.push({
        field: path ? `${path}.${first}` : first,
        message: rest.length ? `cannot be used together with ${rest.join(', ')}` : 'is not allowed on this task',
      });
  }
}

/** Schema issues of one task (fields the designer itself adds, like `id` inside the map, are in the schema). */
export function validateTask(task: TaskDef): FieldIssue[] {
  const out: FieldIssue[] = [];
  validateValue(taskSchema, task, '', out);
  return out;
}

// The projection keeps a task's object while the task is unchanged, so its schema issues are computed once per
// version of the task: a remote edit of one task re-checks that task, not all five hundred.
const schemaIssues = new WeakMap<TaskDef, FieldIssue[]>();
function schemaIssuesOf(task: TaskDef): FieldIssue[] {
  let out = schemaIssues.get(task);
  if (!out) {
    out = validateTask(task);
    schemaIssues.set(task, out);
  }
  return out;
}

/** Issues for every task: schema, unknown dependencies, cycles, fallback targets. */
export function validateGraph(tasks: Map<string, TaskDef>): Map<string, FieldIssue[]> {
  return new GraphValidator().check(tasks);
}

/** The graph rules: unknown dependencies, unknown fallback targets, cycles (per task, in that order). */
function graphIssues(tasks: Map<string, TaskDef>): Map<string, FieldIssue[]> {
  const issues = new Map<string, FieldIssue[]>();
  const add = (id: string, i: FieldIssue) => {
    const list = issues.get(id);
    if (list) list.push(i);
    else issues.set(id, [i]);
  };
  for (const t of tasks.values()) {
    for (const d of t.dependencies ?? [])
      if (!tasks.has(d)) add(t.id, { field: 'dependencies', message: `unknown dependency '${d}'` });
    const fb = fallbackOf(t);
    if (fb && !tasks.has(fb)) add(t.id, { field: 'onError.fallback', message: `unknown fallback task '${fb}'` });
  }
  for (const cycle of findCycles(tasks))
    for (const id of cycle) add(id, { field: 'dependencies', message: `cycle: ${[...cycle, cycle[0]].join(' → ')}` });
  return issues;
}

const fallbackOf = (t: TaskDef) => (t.onError && typeof t.onError === 'object' ? t.onError.fallback : undefined);

/** Same dependencies and fallback: the graph rules give the same answer. */
function sameStructure(a: TaskDef, b: TaskDef): boolean {
  const da = a.dependencies ?? [];
  const db = b.dependencies ?? [];
  return da.length === db.length && da.every((d, i) => d === db[i]) && fallbackOf(a) === fallbackOf(b);
}

const sameIssues = (a: FieldIssue[], b: FieldIssue[]) =>
  a.length === b.length && a.every((x, i) => x.field === b[i].field && x.message === b[i].message);

/**
 * Validation that follows a changing document. Schema issues are remembered per task version; the graph rules
 * (a walk of every dependency) run again only when a task was added or removed or its dependencies or fallback
 * changed; and a task whose issues did not change keeps its list, so when nothing changed the previous map
 * itself comes back (a remote rename on a 500-task graph re-renders nothing).
 */
export class GraphValidator {
  private tasks?: Map<string, TaskDef>;
  private graph = new Map<string, FieldIssue[]>();
  private result = new Map<string, FieldIssue[]>();
  /** How many times the graph rules ran (they are the part whose cost grows with the graph). */
  graphRuns = 0;

  check(tasks: Map<string, TaskDef>): Map<string, FieldIssue[]> {
    const prev = this.tasks;
    let structural = !prev || prev.size !== tasks.size;
    if (prev && !structural)
      for (const [id, t] of tasks) {
        const p = prev.get(id);
        if (p === t) continue;
        if (!p || !sameStructure(p, t)) {
          structural = true;
          break;
        }
      }
    if (structural) {
      this.graph = graphIssues(tasks);
      this.graphRuns++;
    }
    this.tasks = tasks;
    const next = new Map<string, FieldIssue[]>();
    let changed = false;
    for (const t of tasks.values()) {
      const schema = schemaIssuesOf(t);
      const graph = this.graph.get(t.id);
      const list = graph ? [...schema, ...graph] : schema;
      if (!list.length) continue;
      const old = this.result.get(t.id);
      const kept = old && sameIssues(old, list) ? old : list;
      if (kept !== old) changed = true;
      next.set(t.id, kept);
    }
    if (!changed && next.size === this.result.size) return this.result;
    this.result = next;
    return next;
  }
}

/** Strongly connected groups with more than one task (or a self-dependency): each is a cycle to report. */
export function findCycles(tasks: Map<string, TaskDef>): string[][] {
  // Iterative Tarjan, so a 1000-task chain cannot overflow the stack.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  const deps = (id: string) => (tasks.get(id)?.dependencies ?? []).filter((d) => tasks.has(d));
  for (const root of tasks.keys()) {
    if (idx.has(root)) continue;
    const work: Array<{ id: string; i: number }> = [{ id: root, i: 0 }];
    idx.set(root, index);
    low.set(root, index++);
    stack.push(root);
    onStack.add(root);
    while (work.length) {
      const top = work[work.length - 1];
      const ds = deps(top.id);
      if (top.i < ds.length) {
        const w = ds[top.i++];
        if (!idx.has(w)) {
          idx.set(w, index);
          low.set(w, index++);
          stack.push(w);
          onStack.add(w);
          work.push({ id: w, i: 0 });
        } else if (onStack.has(w)) low.set(top.id, Math.min(low.get(top.id) as number, idx.get(w) as number));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1].id;
        low.set(parent, Math.min(low.get(parent) as number, low.get(top.id) as number));
      }
      if (low.get(top.id) === idx.get(top.id)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop() as string;
          onStack.delete(w);
          comp.push(w);
        } while (w !== top.id);
        if (comp.length > 1 || deps(top.id).includes(top.id)) out.push(comp.reverse());
      }
    }
  }
  return out;
}
