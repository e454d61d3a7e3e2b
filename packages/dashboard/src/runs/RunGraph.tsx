import { Background, Controls, type NodeChange, ReactFlow, ReactFlowProvider } from '@xyflow/react';
import { useCallback, useMemo, useRef } from 'react';
import type { TaskDef } from '../api/types.ts';
import { AutoFit } from '../designer/AutoFit.tsx';
import { layoutTasks } from '../designer/layout.ts';
import { EdgeBuilder, NodeBuilder } from '../designer/nodes.ts';
import { nodeTypes } from '../designer/TaskNode.tsx';

// A read-only DAG: tasks laid out by dagre, coloured by their run status, the critical path highlighted.
// Nodes carry their last measured size: a node object rebuilt for a status change in the same render as its
// measurement would otherwise lose it and stay hidden (React Flow re-observes only when "initialized" flips).

type Size = { width: number; height: number };

const ANIMATED_EDGES_MAX = 150;
const NONE = new Set<string>();

/** Give freshly built nodes (no `measured`) the size last measured for their id. */
export function withMeasured<N extends { id: string; measured?: Partial<Size> }>(nodes: N[], sizes: Map<string, Size>): N[] {
  for (const n of nodes) {
    const size = sizes.get(n.id);
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
  const builder = useRef(new NodeBuilder());
  const edgeBuilder = useRef(new EdgeBuilder());
  const model = useMemo(() => ({ tasks: new Map(tasks.map((t) => [t.id, t])), positions: layoutTasks(tasks), meta: {} }), [tasks]);
  const sel = useMemo(() => new Set(selected ? [selected] : []), [selected]);
  const sizes = useRef(new Map<string, Size>());
  const nodes = useMemo(
    () =>
      withMeasured(
        builder.current.build(model.tasks.values(), model.positions, { statuses, critical, marks, readOnly: true }, sel),
        sizes.current,
      ),
    [model, statuses, critical, marks, sel],
  );
  const onNodesChange = useCallback((changes: NodeChange[]) => {
    for (const c of changes) if (c.type === 'dimensions' && c.dimensions) sizes.current.set(c.id, c.dimensions);
  }, []);
  // Edges into running tasks are animated on small graphs only: on a large one that would rebuild and re-send
  // every edge to the canvas on each status change, the most expensive part of following a live run.
  const animate = tasks.length <= ANIMATED_EDGES_MAX;
  const running = useMemo(
    () => (animate ? new Set([...(statuses ?? [])].filter(([, s]) => s === 'running').map(([k]) => k)) : NONE),
    [statuses, animate],
  );
  const edges = useMemo(() => edgeBuilder.current.build(model, { readOnly: true, critical, animated: running }), [model, critical, running]);
  return (
    <div className="canvas run-graph" data-testid="run-graph">
      <ReactFlowProvider>
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          onNodesChange={onNodesChange}
          nodesDraggable={false}
          nodesConnectable={false}
          deleteKeyCode={null}
          onNodeClick={(_e, n) => onSelect?.(n.id)}
          onPaneClick={() => onSelect?.(null)}
          onlyRenderVisibleElements={tasks.length > 150}
          minZoom={0.05}
          fitView
          fitViewOptions={{ padding: 0.1, maxZoom: 1.2 }}
          proOptions={{ hideAttribution: true }}
        >
          <Background />
          <Controls showInteractive={false} />
          <AutoFit fitKey={`${tasks.map((t) => t.id).join('|')}:${fitKey ?? ''}`} />
        </ReactFlow>
      </ReactFlowProvider>
    </div>
  );
}
