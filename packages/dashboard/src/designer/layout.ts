import dagre from '@dagrejs/dagre';
import type { TaskDef } from '../api/types.ts';
import type { XY } from './types.ts';

// Auto-layout with dagre: dependencies flow left to right, ranks spaced for the node size the canvas draws.

export const NODE_W = 200;
export const NODE_H = 64;

export function layoutTasks(tasks: Iterable<TaskDef>, opts: { direction?: 'LR' | 'TB' } = {}): Map<string, XY> {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: opts.direction ?? 'LR', nodesep: 24, ranksep: 70, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  const list = [...tasks];
  const ids = new Set(list.map((t) => t.id));
  for (const t of list) g.setNode(t.id, { width: NODE_W, height: NODE_H });
  for (const t of list) for (const d of t.dependencies ?? []) if (ids.has(d) && d !== t.id) g.setEdge(d, t.id);
  dagre.layout(g);
  const out = new Map<string, XY>();
  for (const t of list) {
    const n = g.node(t.id) as { x: number; y: number } | undefined;
    // dagre gives centres; the canvas positions nodes by their top-left corner.
    if (n) out.set(t.id, { x: Math.round(n.x - NODE_W / 2), y: Math.round(n.y - NODE_H / 2) });
  }
  return out;
}

/** Where to put a new task: right of the rightmost node, or at the origin of an empty canvas. */
export function nextFreeSpot(positions: Map<string, XY>): XY {
  let maxX = -Infinity;
  let y = 40;
  for (const p of positions.values())
    if (p.x > maxX) {
      maxX = p.x;
      y = p.y;
    }
  return Number.isFinite(maxX) ? { x: maxX + NODE_W + 70, y } : { x: 40, y: 40 };
}
