import { type ReactFlowState, useStore } from '@xyflow/react';
import { memo, useLayoutEffect, useRef } from 'react';
import type { XY } from '../designer/types.ts';
import type { StatusStore } from './statusStore.ts';
import { StatusPainter } from './statusPaint.ts';

// The status layer of a large run graph: one canvas under the nodes, in the flow's viewport transform, that draws
// each task's box in its status colour (the nodes themselves are transparent there and keep their DOM as the run
// goes on). A status change redraws that task's box only; a pan, zoom or new size redraws the boxes in view.

type Size = { width: number; height: number };

const transformOf = (s: ReactFlowState) => s.transform;
const widthOf = (s: ReactFlowState) => s.width;
const heightOf = (s: ReactFlowState) => s.height;

interface Props {
  positions: ReadonlyMap<string, XY>;
  /** Measured node sizes (a ref's map: `sizesVersion` changes when it does). */
  sizes: ReadonlyMap<string, Size>;
  sizesVersion: number;
  store: StatusStore;
}

function StatusLayer({ positions, sizes, sizesVersion, store }: Props) {
  const ref = useRef<HTMLCanvasElement>(null);
  const painter = useRef<StatusPainter | null>(null);
  const transform = useStore(transformOf);
  const width = useStore(widthOf);
  const height = useStore(heightOf);
  // Layout effects: they run before the graph's own (which publishes the statuses), so the first statuses of a
  // render already find this layer drawn and subscribed.
  useLayoutEffect(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) {
      painter.current = null;
      return;
    }
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(width * dpr);
    const h = Math.round(height * dpr);
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    painter.current = new StatusPainter(ctx, { positions, sizes, status: (id) => store.get(id), transform, width, height });
    painter.current.paintAll();
  }, [positions, sizes, sizesVersion, store, transform, width, height]);
  useLayoutEffect(() => store.subscribeAll((changed) => painter.current?.paint(changed)), [store]);
  return <canvas ref={ref} className="status-canvas" data-testid="status-canvas" aria-hidden="true" style={{ width, height }} />;
}

/** The canvas drawing a large run graph's task statuses (memoised: it follows the store, not the graph's renders). */
export const StatusCanvas = memo(StatusLayer);
