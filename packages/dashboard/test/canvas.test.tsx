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

function canvas(nodes: ReturnType<NodeBuilder['build']>) {
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
});
