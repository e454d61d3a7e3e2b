import * as Y from 'yjs';
import { CodexError, ErrorCodes } from '../errors.js';
import type { Path, UpdateInput } from './types.js';

// Path operations on the shared Yjs document. The document's roots are Y.Maps (`tasks`, `positions`, `meta`);
// plain objects become Y.Maps and arrays Y.Arrays so concurrent edits to different fields merge.

/** Top-level maps of a shared workflow document; every operation path starts with one of them. */
export const DOC_ROOTS = ['tasks', 'positions', 'meta'] as const;

export function pathKey(path: Path): string {
  return path.map(String).join('.');
}

export function toY(value: unknown): unknown {
  if (Array.isArray(value)) {
    const arr = new Y.Array();
    arr.insert(0, value.map(toY));
    return arr;
  }
  if (value !== null && typeof value === 'object') {
    const map = new Y.Map();
    for (const [k, v] of Object.entries(value)) if (v !== undefined) map.set(k, toY(v));
    return map;
  }
  return value;
}

export function fromY(value: unknown): unknown {
  return value instanceof Y.AbstractType ? value.toJSON() : value;
}

function child(node: unknown, key: string | number): unknown {
  if (node instanceof Y.Map) return node.get(String(key));
  if (node instanceof Y.Array) return typeof key === 'number' ? node.get(key) : undefined;
  return undefined;
}

/** The Y value at `path` (undefined when absent). */
export function getY(doc: Y.Doc, path: Path): unknown {
  if (path.length === 0) return undefined;
  let node: unknown = doc.getMap(String(path[0]));
  for (let i = 1; i < path.length; i++) {
    node = child(node, path[i]);
    if (node === undefined) return undefined;
  }
  return node;
}

/** Reads the value at a path of a workflow's Yjs document as plain JSON. */
export function getJson(doc: Y.Doc, path: Path): unknown {
  return fromY(getY(doc, path));
}

/** Parent container of `path`, creating missing intermediate maps (never arrays). */
function parentOf(doc: Y.Doc, path: Path, create: boolean): Y.Map<unknown> | Y.Array<unknown> | undefined {
  let node: Y.Map<unknown> | Y.Array<unknown> = doc.getMap(String(path[0]));
  for (let i = 1; i < path.length - 1; i++) {
    let next = child(node, path[i]);
    if (next === undefined && create && node instanceof Y.Map) {
      next = new Y.Map();
      node.set(String(path[i]), next);
    }
    if (!(next instanceof Y.Map) && !(next instanceof Y.Array)) return undefined;
    node = next;
  }
  return node;
}

export function validatePath(path: Path): void {
  if (path.length < 2 || !DOC_ROOTS.includes(path[0] as (typeof DOC_ROOTS)[number])) {
    throw new CodexError(
      ErrorCodes.COLLAB,
      `Invalid path '${pathKey(path)}': it must start with one of ${DOC_ROOTS.join(', ')} and name a field`,
    );
  }
  for (const k of path) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype')
      throw new CodexError(ErrorCodes.UNSAFE_KEY, `Unsafe path segment '${k}'`);
  }
}

/**
 * Apply one primitive op to the document (call inside a transaction). Returns false when it was a no-op
 * (missing parent, index out of range), which strategies treat as "lost".
 */
export function applyToDoc(doc: Y.Doc, op: UpdateInput): boolean {
  const { path } = op;
  const last = path[path.length - 1];
  const type = op.operation.type;
  const parent = parentOf(doc, path, type === 'set' || type === 'insert');
  if (!parent) return false;
  if (parent instanceof Y.Map) {
    const key = String(last);
    if (type === 'delete') {
      if (!parent.has(key)) return false;
      parent.delete(key);
      return true;
    }
    if (type === 'move') return false;
    parent.set(key, toY(op.value));
    return true;
  }
  if (typeof last !== 'number' || !Number.isInteger(last) || last < 0) return false;
  const len = parent.length;
  switch (type) {
    case 'insert':
      parent.insert(Math.min(last, len), [toY(op.value)]);
      return true;
    case 'set':
      if (last >= len) parent.insert(len, [toY(op.value)]);
      else {
        parent.delete(last, 1);
        parent.insert(last, [toY(op.value)]);
      }
      return true;
    case 'delete':
      if (last >= len) return false;
      parent.delete(last, 1);
      return true;
    case 'move': {
      if (last >= len) return false;
      const to = Math.max(0, Math.min(op.operation.to ?? 0, len - 1));
      if (to === last) return true;
      const v = fromY(parent.get(last));
      parent.delete(last, 1);
      parent.insert(to, [toY(v)]);
      return true;
    }
  }
}

/** The document's roots as plain JSON. */
export function docJson(doc: Y.Doc): {
  tasks: Record<string, unknown>;
  positions: Record<string, unknown>;
  meta: Record<string, unknown>;
} {
  return {
    tasks: doc.getMap('tasks').toJSON(),
    positions: doc.getMap('positions').toJSON(),
    meta: doc.getMap('meta').toJSON(),
  };
}

/** Fill an empty document from a workflow definition in one transaction; false when it already has tasks. */
export function seedDoc(
  doc: Y.Doc,
  workflowId: string,
  definition: { name?: string; version?: string; tasks: Array<{ id: string } & Record<string, unknown>> },
  origin: unknown,
): boolean {
  if (doc.getMap('tasks').size > 0) return false;
  doc.transact(() => {
    for (const t of definition.tasks)
      applyToDoc(doc, {
        operation: { type: 'set' },
        path: ['tasks', t.id],
        value: { ...t, dependencies: (t.dependencies as string[]) ?? [] },
      });
    applyToDoc(doc, { operation: { type: 'set' }, path: ['meta', 'name'], value: definition.name ?? workflowId });
    if (definition.version)
      applyToDoc(doc, { operation: { type: 'set' }, path: ['meta', 'version'], value: definition.version });
  }, origin);
  return true;
}
