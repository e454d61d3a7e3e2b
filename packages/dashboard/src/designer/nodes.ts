import { type Edge, MarkerType } from '@xyflow/react';
import type { TaskDef } from '../api/types.ts';
import type { TaskFlowNode, TaskNodeData } from './TaskNode.tsx';
import { edgesOf } from './projection.ts';
import type { GraphModel, XY } from './types.ts';

// Turn the document projection (plus issues, presence, locks, statuses, diff marks) into React Flow nodes and
// edges, reusing the previous node object when nothing it shows changed, so a change to one task re-renders
// one node and not five hundred.

export interface NodeExtras {
  issues?: Map<string, TaskNodeData['issues']>;
  editors?: Map<string, TaskNodeData['editors']>;
  locks?: Map<string, string>;
  statuses?: Map<string, string>;
  critical?: Set<string>;
  diff?: Map<string, { kind: TaskNodeData['diff']; fields: string[] }>;
  readOnly?: boolean;
}

type Cache = Map<string, { deps: unknown[]; node: TaskFlowNode }>;

function same(a: unknown[], b: unknown[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class NodeBuilder {
  private cache: Cache = new Map();

  build(tasks: Iterable<TaskDef>, positions: Map<string, XY>, extras: NodeExtras, selected: Set<string>, fallback?: Map<string, XY>): TaskFlowNode[] {
    const next: Cache = new Map();
    const out: TaskFlowNode[] = [];
    for (const task of tasks) {
      const id = task.id;
      const position = positions.get(id) ?? fallback?.get(id) ?? ZERO;
      const lockedBy = extras.locks?.get(id) ?? null;
      const diff = extras.diff?.get(id);
      const deps = [task, position, extras.issues?.get(id), extras.editors?.get(id), lockedBy, extras.statuses?.get(id), extras.critical?.has(id), diff?.kind, diff?.fields.join(), selected.has(id), extras.readOnly];
      const prev = this.cache.get(id);
      let node: TaskFlowNode;
      if (prev && same(prev.deps, deps)) node = prev.node;
      else
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
            status: extras.statuses?.get(id),
            critical: extras.critical?.has(id),
            diff: diff?.kind,
            diffFields: diff?.fields,
          },
        };
      next.set(id, { deps, node });
      out.push(node);
    }
    this.cache = next;
    return out;
  }
}

const ZERO: XY = { x: 0, y: 0 };

export function buildEdges(model: GraphModel, opts: { readOnly?: boolean; added?: Set<string>; removed?: Set<string>; critical?: Set<string>; animated?: Set<string> } = {}): Edge[] {
  return edgesOf(model.tasks).map((e) => {
    const cls = opts.added?.has(e.id) ? 'edge-added' : opts.removed?.has(e.id) ? 'edge-removed' : opts.critical?.has(e.source) && opts.critical?.has(e.target) ? 'edge-critical' : undefined;
    return {
      ...e,
      deletable: !opts.readOnly,
      className: cls,
      animated: opts.animated?.has(e.target),
      markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
    };
  });
}
