import type { LocalUser } from './collab.ts';
import type { Peer } from './types.ts';

/** Presence avatars: me first, then everyone else in the document, with what they are editing. */
export function Presence({ peers, me }: { peers: Peer[]; me: LocalUser }) {
  const seen = new Set<string>();
  const others = peers.filter((p) => (seen.has(p.name) ? false : (seen.add(p.name), true)));
  return (
    <div className="presence" aria-label="Who is here" data-testid="presence">
      <span className="avatar" style={{ background: me.color }} title={`${me.name} (you)`}>{me.name.slice(0, 1).toUpperCase()}</span>
      {others.map((p) => (
        <span
          key={p.clientId}
          className="avatar"
          style={{ background: p.color }}
          data-testid={`avatar-${p.name}`}
          title={`${p.name}${p.editingTaskId ? ` — editing ${p.editingTaskId}` : p.selectedTaskId ? ` — on ${p.selectedTaskId}` : ''}`}
        >
          {p.name.slice(0, 1).toUpperCase()}
        </span>
      ))}
    </div>
  );
}
