import { useStore } from '@xyflow/react';
import { memo, useSyncExternalStore } from 'react';
import type { CollabSession } from './collab.ts';
import type { Peer } from './types.ts';

// Remote cursors over the canvas. The layer follows the viewport itself (one store subscription to the transform)
// and hears only of cursor moves, at most once per animation frame: a peer moving their mouse re-renders this
// layer, not the designer page or its nodes.

const NONE: Peer[] = [];
const noop = () => () => {};
const transformOf = (s: { transform: [number, number, number] }) => s.transform;

function CursorLayer({ session }: { session: CollabSession | null }) {
  const peers = useSyncExternalStore(session ? (fn) => session.subscribeCursors(fn) : noop, () => session?.cursors ?? NONE);
  const [x, y, zoom] = useStore(transformOf);
  return (
    <div className="cursor-layer">
      <div className="cursor-viewport" style={{ transform: `translate(${x}px, ${y}px) scale(${zoom})` }}>
        {peers.map((peer) =>
          peer.cursor ? (
            <div key={peer.clientId} className="cursor" data-testid={`cursor-${peer.name}`} style={{ transform: `translate(${peer.cursor.x}px, ${peer.cursor.y}px)`, color: peer.color }}>
              <svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true"><path d="M0 0 L0 13 L4 9 L7 15 L9 14 L6 8 L11 8 Z" fill="currentColor" /></svg>
              <span className="cursor-name" style={{ background: peer.color }}>{peer.name}</span>
            </div>
          ) : null,
        )}
      </div>
    </div>
  );
}

/** The remote cursors layer (memoised: the canvas re-renders on every drag move, this layer need not). */
export const Cursors = memo(CursorLayer);
