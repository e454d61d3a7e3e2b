import { useNodesInitialized, useReactFlow } from '@xyflow/react';
import { useEffect, useRef } from 'react';

/**
 * Fit the graph into view once its nodes are measured, and again whenever `fitKey` changes (a new graph, an
 * auto-layout, a diff). Nodes arriving later from the network would otherwise open the canvas on an empty area.
 */
export function AutoFit({ fitKey }: { fitKey: string }) {
  const rf = useReactFlow();
  const initialised = useNodesInitialized();
  const done = useRef<string | null>(null);
  useEffect(() => {
    if (!initialised || done.current === fitKey) return;
    // Two frames: a side panel that opened with this change has resized the canvas by then. Marked done only
    // when it ran, so a re-render that cancels the frames schedules them again.
    let inner = 0;
    const outer = requestAnimationFrame(() => {
      inner = requestAnimationFrame(() => {
        done.current = fitKey;
        void rf.fitView({ padding: 0.12, maxZoom: 1.1 });
      });
    });
    return () => {
      cancelAnimationFrame(outer);
      cancelAnimationFrame(inner);
    };
  }, [initialised, fitKey, rf]);
  return null;
}
