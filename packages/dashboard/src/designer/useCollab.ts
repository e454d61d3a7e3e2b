import { useEffect, useState, useSyncExternalStore } from 'react';
import { CollabSession, type LocalUser } from './collab.ts';
import type { GraphModel } from './types.ts';

/** Open the workflow's collaboration document for as long as the component is mounted. */
export function useCollabSession(
  url: string,
  workflowId: string,
  token: string,
  user: LocalUser,
): CollabSession | null {
  const [session, setSession] = useState<CollabSession | null>(null);
  useEffect(() => {
    const s = new CollabSession({ url, workflowId, token, user });
    setSession(s);
    return () => {
      setSession(null);
      s.destroy();
    };
  }, [url, workflowId, token, user.name, user.color, user]);
  return session;
}

const EMPTY: GraphModel = { tasks: new Map(), positions: new Map(), meta: {} };
const noop = () => () => {};

export function useModel(session: CollabSession | null): GraphModel {
  return useSyncExternalStore(session ? (fn) => session.projection.subscribe(fn) : noop, () =>
    session ? session.projection.current : EMPTY,
  );
}

/** Re-render on connection, presence, permission and undo-stack changes. */
export function useSessionTick(session: CollabSession | null): number {
  const [tick, setTick] = useState(0);
  useEffect(() => (session ? session.subscribe(() => setTick((t) => t + 1)) : undefined), [session]);
  return tick;
}
