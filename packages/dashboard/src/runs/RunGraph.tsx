import { Background, Controls, type NodeChange, ReactFlow, ReactFlowProvider } from '@xyflow/react';
import { memo, useCallback, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { TaskDef } from '../api/types.ts';
import { AutoFit } from '../designer/AutoFit.tsx';
import { layoutTasks, NODE_H, NODE_W } from '../designer/layout.ts';
import { EdgeBuilder, LARGE_GRAPH, NodeBuilder } from '../designer/nodes.ts';
import { nodeTypes, StatusLayerContext, TaskStatusContext } from '../designer/TaskNode.tsx';
import { StaticEdges, edgePaths } from './StaticEdges.tsx';
import { StatusCanvas } from './StatusCanvas.tsx';
import { StatusStore } from './statusStore.ts';

// A read-only DAG: tasks laid out by dagre, coloured by their run status, the critical path highlighted.
// Nodes carry their last measured size: a node object rebuilt for a status change in the same render as its
// measurement would otherwise lose it and stay hidden (React Flow re-observes only when "initialized" flips).

type Size = { width: number; height: number };

const ANIMATED_EDGES_MAX = 150;
const NO_EDGES: never[] = [];
const NONE = new Set<string>();
const NO_STATUS = new Map<string, string>();
// Constants, not literals: React Flow copies these props into its store, and a new object is a store update.
const FIT = { padding: 0.1, maxZoom: 1.2 };
const PRO = { hideAttribution: true };
/** The size the layout gives every node: a culled node's size until it is rendered and measured. */
const LAYOUT_SIZE: Size = { width: NODE_W, height: NODE_H };

/**
 * Give freshly built nodes (no `measured`) the size last measured for their id, else `fallback`. React Flow frames
 * only measured nodes when it fits the view, and on a culled graph (onlyRenderVisibleElements) a node off screen
 * is never rendered, so never measured: given the layout's size, every node counts in the fit.
 */
export function withMeasured<N extends { id: string; measured?: Partial<Size> }>(
  nodes: N[],
  sizes: Map<string, Size>,
  fallback?: Size,
): N[] {
  for (const n of nodes) {
    const size = sizes.get(n.id) ?? fallback;
    if (size && n.measured?.width === undefined) n.measured = { ...size };
  }
  return nodes;
}

interface Props {
  tasks: TaskDef[];
  statuses?: Map<string, string>;
  critical?: Set<string>;
  /** Debugger marks per task (breakpoint, paused, waiting). */
  marks?: Map<string, string>;
  selected?: string | null;
  onSelect?(id: string | null): void;
  /** Refit when this changes (e.g. a side panel opened and narrowed the canvas). */
  fitKey?: string;
}

export function RunGraph({ tasks, statuses, critical, marks, selected, onSelect, fitKey }: Props) {
  // Statuses reach the nodes (and the status canvas) through a store each subscribes to: a status change
  // re-renders the nodes whose task changed, and neither the graph below nor React Flow's store is rendered
  // again. Published before paint.
  const [store] = useState(() => new StatusStore());
  useLayoutEffect(() => {
    store.set(statuses ?? NO_STATUS);
  }, [store, statuses]);
  // Edges into running tasks are animated on small graphs only: on a large one that would rebuild and re-send
  // every edge to the canvas on each status change, the most expensive part of following a live run.
  const animate = tasks.length <= ANIMATED_EDGES_MAX;
  const running = useMemo(
    () => (animate ? new Set([...(statuses ?? [])].filter(([, s]) => s === 'running').map(([k]) => k)) : NONE),
    [statuses, animate],
  );
  // Stable handlers: a new function handed to React Flow re-renders every node wrapper (1000 on a large run).
  const selectRef = useRef(onSelect);
  selectRef.current = onSelect;
  const onNodeClick = useCallback((_e: unknown, n: { id: string }) => selectRef.current?.(n.id), []);
  const onPaneClick = useCallback(() => selectRef.current?.(null), []);
  return (
    <TaskStatusContext.Provider value={store}>
      <Graph tasks={tasks} store={store} running={running} critical={critical} marks={marks} selected={selected} onNodeClick={onNodeClick} onPaneClick={onPaneClick} fitKey={fitKey} />
    </TaskStatusContext.Provider>
  );
}

interface GraphProps {
  tasks: TaskDef[];
  store: StatusStore;
  running: Set<string>;
  critical?: Set<string>;
  marks?: Map<string, string>;
  selected?: string | null;
  onNodeClick(e: unknown, n: { id: string }): void;
  onPaneClick(): void;
  fitKey?: string;
}

// The canvas itself, memoised: on a large graph a status change does not render it (nor React Flow) again.
const Graph = memo(function Graph({ tasks, store, running, critical, marks, selected, onNodeClick, onPaneClick, fitKey }: GraphProps) {
  const builder = useRef(new NodeBuilder());
  const edgeBuilder = useRef(new EdgeBuilder());
  const model = useMemo(() => ({ tasks: new Map(tasks.map((t) => [t.id, t])), positions: layoutTasks(tasks), meta: {} }), [tasks]);
  const sel = useMemo(() => new Set(selected ? [selected] : []), [selected]);
  const graphKey = useMemo(() => tasks.map((t) => t.id).join('|'), [tasks]);
  const sizes = useRef(new Map<string, Size>());
  const nodes = useMemo(
    () =>
      withMeasured(
        builder.current.build(model.tasks.values(), model.positions, { critical, marks, readOnly: true }, sel),
        sizes.current,
        tasks.length > LARGE_GRAPH ? LAYOUT_SIZE : undefined,
      ),
    [model, critical, marks, sel, tasks.length],
  );
  // Measured sizes move the static edges' end points: one re-draw per batch of measurements.
  const [sizesVersion, setSizesVersion] = useState(0);
  const onNodesChange = useCallback((changes: NodeChange[]) => {
    let resized = false;
    for (const c of changes)
      if (c.type === 'dimensions' && c.dimensions) {
        const prev = sizes.current.get(c.id);
        if (prev?.width !== c.dimensions.width || prev?.height !== c.dimensions.height) resized = true;
        sizes.current.set(c.id, c.dimensions);
      }
    if (resized) setSizesVersion((v) => v + 1);
  }, []);
  // Above LARGE_GRAPH tasks the edges are drawn as one static layer (see StaticEdges), not as React Flow edges,
  // and the task boxes in their status colours on one canvas under the nodes (see StatusCanvas).
  const staticEdges = tasks.length > LARGE_GRAPH;
  const paths = useMemo(
    () => (staticEdges ? edgePaths(model.tasks, model.positions, sizes.current, critical) : undefined),
    // sizesVersion stands for a change inside the sizes ref.
    [staticEdges, model, critical, sizesVersion],
  );
  const edges = useMemo(
    () => (staticEdges ? NO_EDGES : edgeBuilder.current.build(model, { readOnly: true, critical, animated: running })),
    [staticEdges, model, critical, running],
  );
  return (
    <div className="canvas run-graph" data-testid="run-graph">
      <StatusLayerContext.Provider value={staticEdges}>
      <ReactFlowProvider>
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          onNodesChange={onNodesChange}
          nodesDraggable={false}
          nodesConnectable={false}
          deleteKeyCode={null}
          onNodeClick={onNodeClick}
          onPaneClick={onPaneClick}
          onlyRenderVisibleElements={tasks.length > LARGE_GRAPH}
          minZoom={0.05}
          fitView
          fitViewOptions={FIT}
          proOptions={PRO}
        >
          <Background />
          {staticEdges && <StatusCanvas positions={model.positions} sizes={sizes.current} sizesVersion={sizesVersion} store={store} />}
          {paths && <StaticEdges paths={paths} />}
          <Controls showInteractive={false} />
          <AutoFit fitKey={`${graphKey}:${fitKey ?? ''}`} />
        </ReactFlow>
      </ReactFlowProvider>
      </StatusLayerContext.Provider>
    </div>
  );
});
