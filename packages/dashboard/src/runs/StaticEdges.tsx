import { useStore } from '@xyflow/react';
import { memo } from 'react';
import type { TaskDef } from '../api/types.ts';
import { NODE_H, NODE_W } from '../designer/layout.ts';
import type { XY } from '../designer/types.ts';

// The edges of a large graph, drawn as a handful of SVG paths under the nodes instead of one React Flow edge (an
// SVG element with its own store subscriptions) per dependency: a 1000-task run has ~2000 edges, and with each its
// own element the browser re-layered all of them on every painted frame. The run view draws all its edges so; the
// designer all but those of the selected tasks (which stay React Flow edges: they follow a drag, can be deleted).

type Size = { width: number; height: number };

/** SVG path data for all edges (bezier curves as React Flow draws them: right side → left side) and arrowheads. */
export interface EdgePaths {
  plain: string;
  critical: string;
  arrows: string;
  criticalArrows: string;
  count: number;
}

const r = (n: number) => Math.round(n * 10) / 10;

/** The curve React Flow's bezier edge takes from a right-side handle to a left-side handle. */
function curve(sx: number, sy: number, tx: number, ty: number): string {
  const d = tx - sx;
  const off = d >= 0 ? 0.5 * d : 0.25 * 25 * Math.sqrt(-d);
  return `M${r(sx)},${r(sy)}C${r(sx + off)},${r(sy)} ${r(tx - off)},${r(ty)} ${r(tx)},${r(ty)}`;
}

const arrow = (tx: number, ty: number) => `M${r(tx - 8)},${r(ty - 4.5)}L${r(tx)},${r(ty)}L${r(tx - 8)},${r(ty + 4.5)}Z`;

/** One edge to draw: its end tasks, and whether it is on the critical path. */
export interface StaticEdge {
  source: string;
  target: string;
  critical?: boolean;
}

/** Paths for the given edges whose both tasks are placed; critical ones apart. */
export function pathsOf(edges: Iterable<StaticEdge>, positions: Map<string, XY>, sizes: Map<string, Size>): EdgePaths {
  const plain: string[] = [];
  const crit: string[] = [];
  const arrows: string[] = [];
  const critArrows: string[] = [];
  const size = (id: string) => sizes.get(id) ?? { width: NODE_W, height: NODE_H };
  for (const e of edges) {
    const tp = positions.get(e.target);
    const sp = positions.get(e.source);
    if (!tp || !sp) continue;
    const s = size(e.source);
    const tx = tp.x;
    const ty = tp.y + size(e.target).height / 2;
    (e.critical ? crit : plain).push(curve(sp.x + s.width, sp.y + s.height / 2, tx, ty));
    (e.critical ? critArrows : arrows).push(arrow(tx, ty));
  }
  return { plain: plain.join(''), critical: crit.join(''), arrows: arrows.join(''), criticalArrows: critArrows.join(''), count: plain.length + crit.length };
}

/** Paths for every dependency whose both tasks exist and are placed; critical edges (both ends critical) apart. */
export function edgePaths(tasks: Map<string, TaskDef>, positions: Map<string, XY>, sizes: Map<string, Size>, critical?: Set<string>): EdgePaths {
  const edges: StaticEdge[] = [];
  for (const t of tasks.values())
    for (const d of t.dependencies ?? [])
      if (tasks.has(d)) edges.push({ source: d, target: t.id, critical: !!critical?.has(d) && critical.has(t.id) });
  return pathsOf(edges, positions, sizes);
}

const transformOf = (s: { transform: [number, number, number] }) => s.transform;

function StaticEdgeLayer({ paths }: { paths: EdgePaths }) {
  const [x, y, zoom] = useStore(transformOf);
  return (
    <svg className="static-edges" data-testid="static-edges" data-count={paths.count} aria-hidden="true">
      <g transform={`translate(${x} ${y}) scale(${zoom})`}>
        <path className="static-edge" d={paths.plain} />
        <path className="static-edge-arrow" d={paths.arrows} />
        {paths.critical && <path className="static-edge critical" d={paths.critical} />}
        {paths.criticalArrows && <path className="static-edge-arrow critical" d={paths.criticalArrows} />}
      </g>
    </svg>
  );
}

/** The edge layer (memoised: it changes with the graph, its sizes and the viewport, not with statuses). */
export const StaticEdges = memo(StaticEdgeLayer);
