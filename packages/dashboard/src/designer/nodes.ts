import { type Edge, MarkerType } from '@xyflow/react';
import type { TaskDef } from '../api/types.ts';
import { edgeId } from './projection.ts';
import type { TaskFlowNode, TaskNodeData } from './TaskNode.tsx';
import type { GraphModel, XY } from './types.ts';

// Turn the document projection (plus issues, presence, locks, diff marks) into React Flow nodes and
// edges, reusing the previous node object when nothing it shows changed, so a change to one task re-renders
// one node and not five hundred.

export interface NodeExtras {
  issues?: Map<string, TaskNodeData['issues']>;
  editors?: Map<string, TaskNodeData['editors']>;
  locks?: Map<string, string>;
  critical?: Set<string>;
  diff?: Map<string, { kind: TaskNodeData['diff']; fields: string[] }>;
  readOnly?: boolean;
  /** Debugger marks: `breakpoint`, `paused`, `waiting` (space-separated when several apply). */
  marks?: Map<string, string>;
}

type Cache = Map<string, { deps: unknown[]; node: TaskFlowNode }>;

function same(a: unknown[], b: unknown[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class NodeBuilder {
  private cache: Cache = new Map();
  private last: TaskFlowNode[] = [];

  build(
    tasks: Iterable<TaskDef>,
    positions: Map<string, XY>,
    extras: NodeExtras,
    selected: Set<string>,
    fallback?: Map<string, XY>,
  ): TaskFlowNode[] {
    const next: Cache = new Map();
    const out: TaskFlowNode[] = [];
    let changed = false;
    for (const task of tasks) {
      const id = task.id;
      const position = positions.get(id) ?? fallback?.get(id) ?? ZERO;
      const lockedBy = extras.locks?.get(id) ?? null;
      const diff = extras.diff?.get(id);
      const deps = [
        task,
        position,
        extras.issues?.get(id),
        extras.editors?.get(id),
        lockedBy,
        extras.critical?.has(id),
        diff?.kind,
        diff?.fields.join(),
        selected.has(id),
        extras.readOnly,
        extras.marks?.get(id),
      ];
      const prev = this.cache.get(id);
      let node: TaskFlowNode;
      if (prev && same(prev.deps, deps)) node = prev.node;
      else {
        changed = true;
        node = {
          id,
          type: 'task',
          position,
          selected: selected.has(id),
          draggable: !extras.readOnly && !lockedBy,
          connectable: !extras.readOnly,
          deletable: !extras.readOnly && !lockedBy,
          data: {
            task,
            issues: extras.issues?.get(id),
            editors: extras.editors?.get(id),
            lockedBy,
            critical: extras.critical?.has(id),
            diff: diff?.kind,
            diffFields: diff?.fields,
            mark: extras.marks?.get(id),
          },
        };
      }
      if (!changed && this.last[out.length] !== node) changed = true;
      next.set(id, { deps, node });
      out.push(node);
    }
    this.cache = next;
    // Nothing shown changed (a lock poll, a presence update, a re-validation with the same result): the previous
    // array comes back as is, so the canvas does not hand React Flow a "new" graph of identical nodes.
    if (!changed && out.length === this.last.length) return this.last;
    this.last = out;
    return out;
  }
}

const ZERO: XY = { x: 0, y: 0 };

/** Above this many tasks a canvas renders only what is in view, without mini-map, and draws most edges statically. */
export const LARGE_GRAPH = 150;

export interface EdgeOptions {
  readOnly?: boolean;
  added?: Set<string>;
  removed?: Set<string>;
  critical?: Set<string>;
  animated?: Set<string>;
}

/**
 * Edges from the tasks' dependencies. A task whose dependencies (and marks) did not change keeps its edge
 * objects, and when no edge changed the previous array comes back as is, so a rename or a move on a large graph
 * does not make React Flow diff a thousand edges.
 */
export class EdgeBuilder {
  private cache = new Map<string, { key: string; edges: Edge[] }>();
  private last: Edge[] = [];

  build(model: Pick<GraphModel, 'tasks'>, opts: EdgeOptions = {}): Edge[] {
    const next = new Map<string, { key: string; edges: Edge[] }>();
    const out: Edge[] = [];
    let changed = false;
    for (const t of model.tasks.values()) {
      const deps = (t.dependencies ?? []).filter((d) => model.tasks.has(d));
      const key = `${deps
        .map((d) => {
          const id = edgeId(d, t.id);
          return `${d}:${opts.added?.has(id) ? 'a' : ''}${opts.removed?.has(id) ? 'r' : ''}${opts.critical?.has(d) && opts.critical?.has(t.id) ? 'c' : ''}`;
        })
        .join('|')}#${opts.readOnly ? 1 : 0}${opts.animated?.has(t.id) ? 1 : 0}`;
      const prev = this.cache.get(t.id);
      const entry = prev && prev.key === key ? prev : { key, edges: deps.map((d) => makeEdge(d, t.id, opts)) };
      if (entry !== prev) changed = true;
      next.set(t.id, entry);
      for (const e of entry.edges) out.push(e);
    }
    if (!changed && out.length === this.last.length && next.size === this.cache.size) {
      this.cache = next;
      return this.last;
    }
    this.cache = next;
    this.last = out;
    return out;
  }
}

function makeEdge(source: string, target: string, opts: EdgeOptions): Edge {
  const id = edgeId(source, target);
  const cls = opts.added?.has(id)
    ? 'edge-added'
    : opts.removed?.has(id)
      ? 'edge-removed'
      : opts.critical?.has(source) && opts.critical?.has(target)
        ? 'edge-critical'
        : undefined;
  return {
    id,
    source,
    target,
    deletable: !opts.readOnly,
    className: cls,
    animated: opts.animated?.has(target),
    markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
  };
}

/** One-off edges (tests, small graphs). */
export function buildEdges(model: Pick<GraphModel, 'tasks'>, opts: EdgeOptions = {}): Edge[] {
  return new EdgeBuilder().build(model, opts);
}
