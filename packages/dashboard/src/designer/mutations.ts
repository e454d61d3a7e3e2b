import * as Y from 'yjs';
import type { TaskDef } from '../api/types.ts';
import type { XY } from './types.ts';

// Every designer edit is a change to the Yjs document, made in one transaction with the local origin (so the
// per-user UndoManager tracks it and nothing else). Task fields are separate Y.Map keys, and nested objects
// (input, retry, model) are Y.Maps too, so two people editing different fields of one task both keep theirs.

export const LOCAL_ORIGIN = { kind: 'designer-local' } as const;

export function toY(value: unknown): unknown {
  if (Array.isArray(value)) {
    const arr = new Y.Array<unknown>();
    arr.insert(0, value.map(toY));
    return arr;
  }
  if (value !== null && typeof value === 'object') {
    const map = new Y.Map<unknown>();
    for (const [k, v] of Object.entries(value)) if (v !== undefined) map.set(k, toY(v));
    return map;
  }
  return value;
}

const tasksOf = (doc: Y.Doc) => doc.getMap<Y.Map<unknown>>('tasks');
const positionsOf = (doc: Y.Doc) => doc.getMap<unknown>('positions');

function taskMap(doc: Y.Doc, id: string): Y.Map<unknown> | undefined {
  const t = tasksOf(doc).get(id);
  return t instanceof Y.Map ? t : undefined;
}

export function transact(doc: Y.Doc, fn: () => void): void {
  doc.transact(fn, LOCAL_ORIGIN);
}

export function addTask(doc: Y.Doc, task: TaskDef, position: XY): void {
  transact(doc, () => {
    tasksOf(doc).set(
      task.id,
      toY({ ...task, input: task.input ?? {}, dependencies: task.dependencies ?? [] }) as Y.Map<unknown>,
    );
    positionsOf(doc).set(task.id, { x: Math.round(position.x), y: Math.round(position.y) });
  });
}

/** A fresh task id not in `taken`: `base`, `base-2`, `base-3`, … */
export function freshId(base: string, taken: { has(id: string): boolean }): string {
  const clean = base.replace(/[^A-Za-z0-9_.:-]/g, '-').replace(/^[^A-Za-z0-9_]+/, '') || 'task';
  if (!taken.has(clean)) return clean;
  for (let i = 2; ; i++) if (!taken.has(`${clean}-${i}`)) return `${clean}-${i}`;
}

/** Would adding source → target close a cycle (is source reachable from target)? */
export function wouldCycle(
  deps: (id: string) => readonly string[] | undefined,
  source: string,
  target: string,
): boolean {
  if (source === target) return true;
  // target depends on source; a cycle exists if source (transitively) depends on target.
  const stack = [source];
  const seen = new Set<string>();
  while (stack.length) {
    const cur = stack.pop() as string;
    if (cur === target) return true;
    if (seen.has(cur)) continue;
    seen.add(cur);
    for (const d of deps(cur) ?? []) stack.push(d);
  }
  return false;
}

function depsArray(t: Y.Map<unknown>): Y.Array<string> {
  let deps = t.get('dependencies');
  if (!(deps instanceof Y.Array)) {
    const arr = new Y.Array<string>();
    if (Array.isArray(deps)) arr.insert(0, deps as string[]);
    t.set('dependencies', arr);
    deps = arr;
  }
  return deps as Y.Array<string>;
}

export type ConnectResult = 'ok' | 'exists' | 'cycle' | 'missing';

/** Make `target` depend on `source`. */
export function connect(doc: Y.Doc, source: string, target: string): ConnectResult {
  const t = taskMap(doc, target);
  if (!t || !taskMap(doc, source)) return 'missing';
  const read = (id: string) => {
    const d = taskMap(doc, id)?.get('dependencies');
    return d instanceof Y.Array ? (d.toArray() as string[]) : Array.isArray(d) ? (d as string[]) : [];
  };
  if (read(target).includes(source)) return 'exists';
  if (wouldCycle(read, source, target)) return 'cycle';
  transact(doc, () => depsArray(t).push([source]));
  return 'ok';
}

export function disconnect(doc: Y.Doc, source: string, target: string): boolean {
  const t = taskMap(doc, target);
  if (!t) return false;
  let removed = false;
  transact(doc, () => {
    const arr = depsArray(t);
    for (let i = arr.length - 1; i >= 0; i--)
      if (arr.get(i) === source) {
        arr.delete(i, 1);
        removed = true;
      }
  });
  return removed;
}

/** Delete tasks, their positions, and every dependency on them. */
export function deleteTasks(doc: Y.Doc, ids: Iterable<string>): void {
  const gone = new Set(ids);
  if (gone.size === 0) return;
  transact(doc, () => {
    for (const id of gone) {
      tasksOf(doc).delete(id);
      positionsOf(doc).delete(id);
    }
    tasksOf(doc).forEach((t) => {
      if (!(t instanceof Y.Map)) return;
      const arr = t.get('dependencies');
      if (!(arr instanceof Y.Array)) return;
      for (let i = arr.length - 1; i >= 0; i--) if (gone.has(arr.get(i) as string)) arr.delete(i, 1);
    });
  });
}

export function moveTasks(doc: Y.Doc, moves: Array<{ id: string; position: XY }>): void {
  if (moves.length === 0) return;
  transact(doc, () => {
    for (const m of moves) positionsOf(doc).set(m.id, { x: Math.round(m.position.x), y: Math.round(m.position.y) });
  });
}

/**
 * Set one field of a task; `path` may reach into nested objects (`['retry', 'maxAttempts']`), which are kept
 * as Y.Maps so concurrent edits of sibling fields merge. `undefined` deletes the field.
 */
export function setTaskField(doc: Y.Doc, id: string, path: string[], value: unknown): boolean {
  const t = taskMap(doc, id);
  if (!t || path.length === 0) return false;
  transact(doc, () => {
    let node: Y.Map<unknown> = t;
    for (const key of path.slice(0, -1)) {
      let next = node.get(key);
      if (!(next instanceof Y.Map)) {
        if (value === undefined) return;
        const m = new Y.Map<unknown>();
        if (next && typeof next === 'object' && !Array.isArray(next))
          for (const [k, v] of Object.entries(next)) m.set(k, toY(v));
        node.set(key, m);
        next = m;
      }
      node = next as Y.Map<unknown>;
    }
    const last = path[path.length - 1];
    if (value === undefined || value === '') node.delete(last);
    else if (last === 'dependencies' && Array.isArray(value)) node.set(last, toY(value));
    else node.set(last, toY(value));
    // An emptied nested object stays (`retry: {}` is valid): deleting it would let a concurrent first edit
    // recreate it, and two maps created concurrently under one key keep only one side's fields.
  });
  return true;
}

/**
 * Make sure the nested maps on `path` exist (called when a nested field gets focus, well before typing), so two
 * people filling in `retry` for the first time write into one shared map instead of racing to create it.
 */
export function ensureMap(doc: Y.Doc, id: string, path: string[]): void {
  const t = taskMap(doc, id);
  if (!t) return;
  let node: Y.Map<unknown> = t;
  let i = 0;
  for (; i < path.length; i++) {
    const next = node.get(path[i]);
    if (!(next instanceof Y.Map)) break;
    node = next;
  }
  if (i === path.length) return;
  // Not the local origin: preparing a map is not an edit the user would want to undo.
  doc.transact(() => {
    for (; i < path.length; i++) {
      const prev = node.get(path[i]);
      const m = new Y.Map<unknown>();
      if (prev && typeof prev === 'object' && !Array.isArray(prev))
        for (const [k, v] of Object.entries(prev)) m.set(k, toY(v));
      node.set(path[i], m);
      node = m;
    }
  }, ENSURE_ORIGIN);
}

const ENSURE_ORIGIN = { kind: 'designer-ensure' } as const;

/** Rename a task id: moves its map and position and rewrites dependencies that point at it. */
export function renameTask(doc: Y.Doc, from: string, to: string): boolean {
  const t = taskMap(doc, from);
  if (!t || from === to || taskMap(doc, to)) return false;
  const json = t.toJSON() as TaskDef;
  const pos = positionsOf(doc).get(from);
  transact(doc, () => {
    tasksOf(doc).delete(from);
    tasksOf(doc).set(to, toY({ ...json, id: to }) as Y.Map<unknown>);
    positionsOf(doc).delete(from);
    if (pos !== undefined) positionsOf(doc).set(to, pos instanceof Y.Map ? pos.toJSON() : pos);
    tasksOf(doc).forEach((other) => {
      const arr = other instanceof Y.Map ? other.get('dependencies') : undefined;
      if (!(arr instanceof Y.Array)) return;
      for (let i = 0; i < arr.length; i++)
        if (arr.get(i) === from) {
          arr.delete(i, 1);
          arr.insert(i, [to]);
        }
    });
  });
  return true;
}

/** Replace the whole document's tasks with a definition (restore, import into an open designer). */
export function replaceAll(
  doc: Y.Doc,
  tasks: TaskDef[],
  positions: Map<string, XY>,
  meta?: Record<string, unknown>,
): void {
  transact(doc, () => {
    const tm = tasksOf(doc);
    const keep = new Set(tasks.map((t) => t.id));
    for (const id of [...tm.keys()]) if (!keep.has(id)) tm.delete(id);
    for (const id of [...positionsOf(doc).keys()]) if (!keep.has(id)) positionsOf(doc).delete(id);
    for (const t of tasks) {
      const cur = tm.get(t.id);
      const next = { ...t, dependencies: t.dependencies ?? [] };
      if (!(cur instanceof Y.Map) || JSON.stringify(cur.toJSON()) !== JSON.stringify(next))
        tm.set(t.id, toY(next) as Y.Map<unknown>);
      const p = positions.get(t.id);
      if (p) positionsOf(doc).set(t.id, { x: Math.round(p.x), y: Math.round(p.y) });
    }
    if (meta) for (const [k, v] of Object.entries(meta)) doc.getMap('meta').set(k, v);
  });
}
