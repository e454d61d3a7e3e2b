// @vitest-environment happy-dom
import { act, cleanup, render } from '@testing-library/react';
import { ReactFlowProvider } from '@xyflow/react';
import { StrictMode } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { DesignerCanvas } from '../src/designer/DesignerCanvas.tsx';
import { NodeBuilder } from '../src/designer/nodes.ts';
import type { XY } from '../src/designer/types.ts';

afterEach(cleanup);

const noop = () => {};

function canvas(
  nodes: ReturnType<NodeBuilder['build']>,
  extra: { staticEdges?: Array<{ source: string; target: string }>; positions?: Map<string, XY> } = {},
) {
  return (
    <StrictMode>
      <ReactFlowProvider>
        <div style={{ width: 800, height: 600 }}>
          <DesignerCanvas
            session={null}
            nodes={nodes}
            edges={[]}
            readOnly={false}
            selected={new Set()}
            onSelect={noop}
            onConnect={noop}
            onDeleteNodes={noop}
            onDeleteEdges={noop}
            onMove={noop}
            onOpen={noop}
            {...extra}
          />
        </div>
      </ReactFlowProvider>
    </StrictMode>
  );
}

describe('designer canvas', () => {
  it('moves nodes when their positions arrive from the document', () => {
    const b = new NodeBuilder();
    const tasks = [{ id: 'a', agentId: 'x' }, { id: 'b', agentId: 'x' }];
    const at = (pos: Record<string, XY>) => b.build(tasks, new Map(Object.entries(pos)), {}, new Set());
    const view = render(canvas(at({})));
    act(() => view.rerender(canvas(at({ a: { x: 100, y: 40 }, b: { x: 400, y: 40 } }))));
    const transform = (id: string) => (view.container.querySelector(`.react-flow__node[data-id="${id}"]`) as HTMLElement | null)?.style.transform;
    expect(transform('a')).toBe('translate(100px,40px)');
    expect(transform('b')).toBe('translate(400px,40px)');
  });

  it('draws the static edges at the document positions, and again only when those change', () => {
    const b = new NodeBuilder();
    const tasks = [{ id: 'a', agentId: 'x' }, { id: 'b', agentId: 'x' }, { id: 'c', agentId: 'x' }];
    const positions = new Map(Object.entries({ a: { x: 0, y: 0 }, b: { x: 300, y: 0 }, c: { x: 600, y: 0 } }));
    const nodes = b.build(tasks, positions, {}, new Set());
    const still = [
      { source: 'a', target: 'b' },
      { source: 'b', target: 'c' },
    ];
    const view = render(canvas(nodes, { staticEdges: still, positions }));
    const layer = () => view.container.querySelector('[data-testid=static-edges]');
    const d = () => layer()?.querySelector('path.static-edge')?.getAttribute('d');
    expect(layer()?.getAttribute('data-count')).toBe('2');
    expect(d()).toBe('M200,32C250,32 250,32 300,32M500,32C550,32 550,32 600,32');
    const moved = new Map(positions).set('c', { x: 600, y: 100 });
    act(() => view.rerender(canvas(b.build(tasks, moved, {}, new Set()), { staticEdges: still, positions: moved })));
    expect(d()).toBe('M200,32C250,32 250,32 300,32M500,32C550,32 550,132 600,132');
    act(() => view.rerender(canvas(nodes, {})));
    expect(layer()).toBeNull();
  });
});
