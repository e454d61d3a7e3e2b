// @vitest-environment happy-dom
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { TaskDef } from '../src/api/types.ts';
import * as M from '../src/designer/mutations.ts';
import { DocProjection } from '../src/designer/projection.ts';
import type { NodeProps } from '@xyflow/react';
import { TaskNode, type TaskFlowNode } from '../src/designer/TaskNode.tsx';
import { TaskPanel } from '../src/designer/TaskPanel.tsx';
import { validateGraph } from '../src/designer/validate.ts';
import { EdgeBuilder, NodeBuilder } from '../src/designer/nodes.ts';
import { StatusLayerContext, TaskStatusContext } from '../src/designer/TaskNode.tsx';
import { StatusStore } from '../src/runs/statusStore.ts';
import { Profiler } from 'react';

afterEach(cleanup);

function panel(task: TaskDef, opts: { readOnly?: boolean; lockedBy?: string | null } = {}) {
  const calls: Array<[string[], unknown]> = [];
  const issues = validateGraph(new Map([[task.id, task]])).get(task.id) ?? [];
  render(
    <TaskPanel
      task={task}
      issues={issues}
      readOnly={opts.readOnly ?? false}
      lockedBy={opts.lockedBy ?? null}
      lockedByMe={false}
      editors={[]}
      taskIds={[task.id]}
      onField={(p, v) => calls.push([p, v])}
      onRename={() => {}}
      onLock={() => {}}
      onRemoveDependency={() => {}}
      onFocusField={() => {}}
      onClose={() => {}}
    />,
  );
  return calls;
}

describe('task side panel', () => {
  it('shows the schema issue under the field it concerns and writes typed values', () => {
    const calls = panel({ id: 't', agentId: 'x', retry: { maxAttempts: 0 }, dependencies: [] });
    const field = screen.getByLabelText('Max attempts') as HTMLInputElement;
    expect(field.value).toBe('0');
    expect(field.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText('must be ≥ 1')).toBeTruthy();
    fireEvent.change(field, { target: { value: '3' } });
    fireEvent.change(screen.getByLabelText('Timeout (ms)'), { target: { value: 'soon' } });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Fetch' } });
    expect(calls).toEqual([
      [['retry', 'maxAttempts'], 3],
      [['timeoutMs'], 'soon'],
      [['name'], 'Fetch'],
    ]);
  });

  it('is read-only for a viewer and while someone else holds the lock', () => {
    panel({ id: 't', agentId: 'x' }, { readOnly: true });
    expect((screen.getByLabelText('Name') as HTMLInputElement).disabled).toBe(true);
    expect(screen.queryByText('Lock task')).toBeNull();
    cleanup();
    panel({ id: 't', agentId: 'x' }, { lockedBy: 'ada' });
    expect((screen.getByLabelText('Prompt template') as HTMLTextAreaElement).disabled).toBe(true);
    expect(screen.getByText(/Locked by ada/)).toBeTruthy();
  });
});

describe('nodes from the document', () => {
  it('reuses node objects for unchanged tasks and shows the issue count on an invalid one', () => {
    const doc = new Y.Doc();
    for (let i = 0; i < 50; i++) M.addTask(doc, { id: `t${i}`, agentId: 'x', dependencies: i ? [`t${i - 1}`] : [] }, { x: i * 10, y: 0 });
    const p = new DocProjection(doc);
    const b = new NodeBuilder();
    const first = b.build(p.current.tasks.values(), p.current.positions, { issues: validateGraph(p.current.tasks) }, new Set());
    M.setTaskField(doc, 't7', ['agentId'], '');
    const second = b.build(p.current.tasks.values(), p.current.positions, { issues: validateGraph(p.current.tasks) }, new Set());
    const changed = second.filter((n, i) => n !== first[i]).map((n) => n.id);
    expect(changed).toEqual(['t7']);
    expect(second[7].data.issues?.map((i) => i.field)).toEqual(['agentId']);
  });

  it('hands back the same node array when nothing a node shows changed', () => {
    const doc = new Y.Doc();
    for (let i = 0; i < 30; i++) M.addTask(doc, { id: `t${i}`, agentId: 'x' }, { x: i * 10, y: 0 });
    const p = new DocProjection(doc);
    const b = new NodeBuilder();
    const first = b.build(p.current.tasks.values(), p.current.positions, { locks: new Map() }, new Set());
    // A lock poll with the same answer, a re-validation without issues: same array, so React Flow is not updated.
    expect(b.build(p.current.tasks.values(), p.current.positions, { locks: new Map(), issues: new Map() }, new Set())).toBe(first);
    M.moveTasks(doc, [{ id: 't4', position: { x: 5, y: 5 } }]);
    const moved = b.build(p.current.tasks.values(), p.current.positions, {}, new Set());
    expect(moved).not.toBe(first);
    expect(moved.filter((n, i) => n !== first[i]).map((n) => n.id)).toEqual(['t4']);
  });

  it('keeps the edge array when a change does not touch dependencies, and rebuilds only the changed task’s edges', () => {
    const doc = new Y.Doc();
    for (let i = 0; i < 20; i++) M.addTask(doc, { id: `t${i}`, agentId: 'x', dependencies: i ? [`t${i - 1}`] : [] }, { x: i * 10, y: 0 });
    const p = new DocProjection(doc);
    const b = new EdgeBuilder();
    const first = b.build(p.current);
    expect(first.map((e) => e.id).slice(0, 2)).toEqual(['t0->t1', 't1->t2']);
    M.setTaskField(doc, 't5', ['name'], 'renamed');
    M.moveTasks(doc, [{ id: 't3', position: { x: 1, y: 1 } }]);
    expect(b.build(p.current)).toBe(first);
    M.connect(doc, 't2', 't9');
    const third = b.build(p.current);
    expect(third).not.toBe(first);
    expect(third.length).toBe(20);
    expect(third.filter((e) => !first.includes(e)).map((e) => e.id).sort()).toEqual(['t2->t9', 't8->t9']);
  });

  it('renders a task node with its badge, lock and status', async () => {
    const { ReactFlowProvider } = await import('@xyflow/react');
    const data = { task: { id: 'fetch', name: 'Fetch data', agentId: 'fetcher' }, issues: [{ field: 'agentId', message: 'is required' }], lockedBy: 'ada' };
    const store = new StatusStore();
    store.set(new Map([['fetch', 'completed']]));
    render(
      <ReactFlowProvider>
        <TaskStatusContext.Provider value={store}>
          <TaskNode {...({ id: 'fetch', data, selected: false, type: 'task', dragging: false, zIndex: 0, isConnectable: false, positionAbsoluteX: 0, positionAbsoluteY: 0 } as unknown as NodeProps<TaskFlowNode>)} />
        </TaskStatusContext.Provider>
      </ReactFlowProvider>,
    );
    expect(screen.getByTestId('issues-fetch').textContent).toBe('1');
    expect(screen.getByLabelText('locked by ada')).toBeTruthy();
    expect(screen.getByTestId('node-fetch').getAttribute('data-status')).toBe('completed');
    expect(screen.getByText('Fetch data')).toBeTruthy();
  });
});

describe('live statuses on the run graph', () => {
  it('a node follows its own task’s status from the store and does not re-render for other tasks', async () => {
    const { ReactFlowProvider: ReactFlowProviderForTest } = await import('@xyflow/react');
    const store = new StatusStore();
    store.set(new Map([['a', 'running'], ['b', 'queued']]));
    const renders: Record<string, number> = { a: 0, b: 0 };
    const node = (id: string) => (
      <Profiler id={id} onRender={() => renders[id]++}>
        <TaskNode {...({ id, data: { task: { id, agentId: 'x' } }, selected: false, type: 'task', dragging: false, zIndex: 0, isConnectable: false, positionAbsoluteX: 0, positionAbsoluteY: 0 } as unknown as NodeProps<TaskFlowNode>)} />
      </Profiler>
    );
    render(
      <ReactFlowProviderForTest>
        <TaskStatusContext.Provider value={store}>
          {node('a')}
          {node('b')}
        </TaskStatusContext.Provider>
      </ReactFlowProviderForTest>,
    );
    const status = (id: string) => screen.getByTestId(`node-${id}`).getAttribute('data-status');
    expect([status('a'), status('b')]).toEqual(['running', 'queued']);
    const before = { ...renders };
    act(() => {
      expect(store.set(new Map([['a', 'completed'], ['b', 'queued']]))).toEqual(['a']);
    });
    expect([status('a'), status('b')]).toEqual(['completed', 'queued']);
    expect(renders.a).toBe(before.a + 1);
    expect(renders.b).toBe(before.b);
  });

  it('under a status canvas, a status change touches only the node’s data-status (no status class or word)', async () => {
    const { ReactFlowProvider: ReactFlowProviderForTest } = await import('@xyflow/react');
    const store = new StatusStore();
    store.set(new Map([['a', 'running']]));
    render(
      <ReactFlowProviderForTest>
        <TaskStatusContext.Provider value={store}>
          <StatusLayerContext.Provider value={true}>
            <TaskNode {...({ id: 'a', data: { task: { id: 'a', agentId: 'x' } }, selected: false, type: 'task', dragging: false, zIndex: 0, isConnectable: false, positionAbsoluteX: 0, positionAbsoluteY: 0 } as unknown as NodeProps<TaskFlowNode>)} />
          </StatusLayerContext.Provider>
        </TaskStatusContext.Provider>
      </ReactFlowProviderForTest>,
    );
    const node = screen.getByTestId('node-a');
    const before = { className: node.className, text: node.textContent, html: node.innerHTML };
    expect(node.className.split(' ')).toEqual(['task-node', 'painted']);
    expect(node.getAttribute('data-status')).toBe('running');
    expect(node.textContent).not.toMatch(/running/i);
    act(() => {
      store.set(new Map([['a', 'completed']]));
    });
    expect(node.getAttribute('data-status')).toBe('completed');
    expect({ className: node.className, text: node.textContent, html: node.innerHTML }).toEqual(before);
  });
});

describe('structured-output schema field', () => {
  it('writes parsed JSON Schema objects only, and names the problem while the text does not parse', () => {
    const calls = panel({ id: 't', agentId: 'x', output: { schema: { type: 'object' } } });
    const field = screen.getByLabelText('Output schema (JSON)') as HTMLTextAreaElement;
    expect(JSON.parse(field.value)).toEqual({ type: 'object' });
    fireEvent.change(field, { target: { value: '{ "type": "array", ' } });
    expect(screen.getByText(/output\.schema: not valid JSON/)).toBeTruthy();
    fireEvent.change(field, { target: { value: '[1]' } });
    expect(screen.getByText('output.schema: a JSON Schema must be a JSON object')).toBeTruthy();
    fireEvent.change(field, { target: { value: '{ "type": "array", "items": { "type": "string" } }' } });
    expect(screen.queryByRole('alert')).toBeNull();
    fireEvent.change(field, { target: { value: '' } });
    expect(calls).toEqual([
      [['output'], { schema: { type: 'array', items: { type: 'string' } } }],
      [['output'], undefined],
    ]);
  });

  it('is read-only for a viewer', () => {
    panel({ id: 't', agentId: 'x' }, { readOnly: true });
    expect((screen.getByLabelText('Output schema (JSON)') as HTMLTextAreaElement).disabled).toBe(true);
  });
});
