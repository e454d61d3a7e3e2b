import {
  applyNodeChanges,
  Background,
  type Connection,
  Controls,
  type Edge,
  MiniMap,
  type NodeChange,
  ReactFlow,
  useReactFlow,
} from '@xyflow/react';
import { type MouseEvent, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { pathsOf, StaticEdges } from '../runs/StaticEdges.tsx';
import { AutoFit } from './AutoFit.tsx';
import { Cursors } from './Cursors.tsx';
import type { CollabSession } from './collab.ts';
import { LARGE_GRAPH } from './nodes.ts';
import { nodeTypes, type TaskFlowNode } from './TaskNode.tsx';
import type { XY } from './types.ts';

// The designer canvas. Nodes come from the document projection; a local drag moves the node at once and writes
// its position to the document while dragging (throttled) and at drag end, so others see it move. Selection is
// local (and published through awareness by the page).

// Props React Flow copies into its store are constants: a new object per render is a store update per render.
const DELETE_KEYS = ['Delete', 'Backspace'];
const MULTI_KEYS = ['Meta', 'Shift'];
const FIT = { padding: 0.15, maxZoom: 1.2 };
const PRO = { hideAttribution: true };

interface Props {
  session: CollabSession | null;
  nodes: TaskFlowNode[];
  edges: Edge[];
  /** Edges drawn as a static layer (large graphs: all but the selected tasks' edges), at the document positions. */
  staticEdges?: Array<{ source: string; target: string }>;
  positions?: Map<string, XY>;
  readOnly: boolean;
  selected: Set<string>;
  onSelect(ids: string[]): void;
  onConnect(source: string, target: string): void;
  onDeleteNodes(ids: string[]): void;
  onDeleteEdges(edges: Array<{ source: string; target: string }>): void;
  onMove(moves: Array<{ id: string; position: XY }>): void;
  onOpen(id: string): void;
  fitKey?: string;
}

export function DesignerCanvas(p: Props) {
  const rf = useReactFlow();
  const [nodes, setNodes] = useState<TaskFlowNode[]>(p.nodes);
  const lastBuilt = useRef(new Map<string, TaskFlowNode>());
  const dragging = useRef(new Map<string, XY>());
  const sizes = useRef(new Map<string, { width: number; height: number }>());
  const [sizesVersion, setSizesVersion] = useState(0);
  const lastWrite = useRef(0);
  const lastCursor = useRef(0);

  useEffect(() => {
    // The updater must stay pure (React may call it twice): the previous build is captured outside it.
    const built = p.nodes;
    const prevBuilt = lastBuilt.current;
    lastBuilt.current = new Map(built.map((n) => [n.id, n]));
    setNodes((prev) => {
      const prevById = new Map(prev.map((n) => [n.id, n]));
      return built.map((n) => {
        const old = prevById.get(n.id);
        const drag = dragging.current.get(n.id);
        let node: TaskFlowNode = old && prevBuilt.get(n.id) === n ? old : old?.measured ? { ...n, measured: old.measured } : n;
        if (drag && (node.position.x !== drag.x || node.position.y !== drag.y)) node = { ...node, position: drag };
        return node;
      });
    });
  }, [p.nodes]);

  const { onSelect, onMove, session, selected } = p;
  const onNodesChange = useCallback(
    (changes: NodeChange<TaskFlowNode>[]) => {
      const local: NodeChange<TaskFlowNode>[] = [];
      let selectionChanged = false;
      let resized = false;
      for (const c of changes) {
        if (c.type === 'select') selectionChanged = true;
        else if (c.type === 'position') {
          if (c.position && c.dragging) dragging.current.set(c.id, c.position);
          local.push(c);
        } else if (c.type === 'dimensions') {
          local.push(c);
          const prev = sizes.current.get(c.id);
          if (c.dimensions && (prev?.width !== c.dimensions.width || prev?.height !== c.dimensions.height)) {
            sizes.current.set(c.id, c.dimensions);
            resized = true;
          }
        }
      }
      if (local.length) setNodes((nds) => applyNodeChanges(local, nds));
      if (resized) setSizesVersion((v) => v + 1);
      if (selectionChanged) {
        const sel = new Set(selected);
        for (const c of changes) if (c.type === 'select') (c.selected ? sel.add(c.id) : sel.delete(c.id));
        onSelect([...sel]);
      }
      // While dragging, others see the node move: write at most every 100 ms.
      const now = performance.now();
      if (dragging.current.size && now - lastWrite.current > 100) {
        lastWrite.current = now;
        onMove([...dragging.current].map(([id, position]) => ({ id, position })));
      }
    },
    [onSelect, onMove, selected],
  );

  const onNodeDragStop = useCallback(
    (_e: unknown, _n: TaskFlowNode, dragged: TaskFlowNode[]) => {
      onMove(dragged.map((n) => ({ id: n.id, position: n.position })));
      dragging.current.clear();
    },
    [onMove],
  );

  // The static edges are drawn again when they, the document positions or a measured node size change; not on a
  // drag move or a rename.
  const paths = useMemo(
    () => (p.staticEdges && p.positions ? pathsOf(p.staticEdges, p.positions, sizes.current) : undefined),
    // sizesVersion stands for a change inside the sizes ref.
    [p.staticEdges, p.positions, sizesVersion],
  );

  // Handlers handed to React Flow keep their identity across renders: a new function there re-renders every
  // node wrapper on the canvas (500 of them on a large graph) on each drag move and each remote edit.
  const latest = useRef(p);
  latest.current = p;
  const handlers = useMemo(
    () => ({
      onConnect: (c: Connection) => {
        if (c.source && c.target) latest.current.onConnect(c.source, c.target);
      },
      onNodesDelete: (ns: TaskFlowNode[]) => latest.current.onDeleteNodes(ns.map((n) => n.id)),
      onEdgesDelete: (es: Edge[]) => latest.current.onDeleteEdges(es),
      onNodeDoubleClick: (_e: unknown, n: TaskFlowNode) => latest.current.onOpen(n.id),
      // A viewer cannot edit: one click shows the task's fields read-only.
      onNodeClick: (_e: unknown, n: TaskFlowNode) => {
        if (latest.current.readOnly) latest.current.onOpen(n.id);
      },
      onMouseLeave: () => latest.current.session?.setCursor(null),
    }),
    [],
  );

  const onMouseMove = useCallback(
    (e: MouseEvent) => {
      const now = performance.now();
      if (!session || now - lastCursor.current < 40) return;
      lastCursor.current = now;
      session.setCursor(rf.screenToFlowPosition({ x: e.clientX, y: e.clientY }));
    },
    [session, rf],
  );

  return (
    <div className="canvas" onMouseMove={onMouseMove} onMouseLeave={handlers.onMouseLeave} data-testid="canvas">
      <ReactFlow<TaskFlowNode, Edge>
        nodes={nodes}
        edges={p.edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onNodeDragStop={onNodeDragStop}
        onConnect={handlers.onConnect}
        onNodesDelete={handlers.onNodesDelete}
        onEdgesDelete={handlers.onEdgesDelete}
        onNodeDoubleClick={handlers.onNodeDoubleClick}
        onNodeClick={handlers.onNodeClick}
        nodesDraggable={!p.readOnly}
        nodesConnectable={!p.readOnly}
        elementsSelectable
        deleteKeyCode={p.readOnly ? null : DELETE_KEYS}
        multiSelectionKeyCode={MULTI_KEYS}
        // Above LARGE_GRAPH tasks only what is in view is rendered, and there is no mini-map: the mini-map keeps
        // one store subscription per task, re-evaluated on every drag move and every remote edit.
        onlyRenderVisibleElements={p.nodes.length > LARGE_GRAPH}
        minZoom={0.05}
        fitView
        fitViewOptions={FIT}
        proOptions={PRO}
      >
        <Background />
        {paths && <StaticEdges paths={paths} />}
        <Controls showInteractive={false} />
        {p.nodes.length <= LARGE_GRAPH ? <MiniMap pannable zoomable /> : null}
        <AutoFit fitKey={`${p.fitKey ?? ''}:${p.nodes.length > 0}`} />
        <Cursors session={p.session} />
      </ReactFlow>
    </div>
  );
}
