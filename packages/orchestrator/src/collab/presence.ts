import type { AwarenessEntry } from './protocol/awareness.js';

// Awareness state of one document, kept as raw JSON strings. Echoes (clock not newer) are dropped before any
// parsing; a connection may only speak for client ids it introduced. Changed states are queued for the next
// coalesced broadcast; unchanged renewals go to a slow lane (clients forget a state after 30 s without one).

export interface PresenceState {
  clock: number;
  state: string;
  owner: unknown;
  updatedAt: number;
}

export class PresenceTable {
  readonly states = new Map<number, PresenceState>();
  /** Changed entries waiting for the next fast flush, with the owners that produced them. */
  fast = new Map<number, AwarenessEntry>();
  fastOwners = new Set<unknown>();
  slow = new Map<number, AwarenessEntry>();

  /** Apply entries from `owner`; returns those that changed something (to emit presence events). */
  apply(owner: unknown, entries: AwarenessEntry[], now: number): AwarenessEntry[] {
    const changed: AwarenessEntry[] = [];
    for (const e of entries) {
      const cur = this.states.get(e.clientId);
      if (cur) {
        if (cur.owner !== owner) continue; // an echo of someone else's state, or spoofing
        if (e.clock < cur.clock || (e.clock === cur.clock && !(e.state === 'null' && cur.state !== 'null'))) continue;
      } else if (e.state === 'null') continue;
      if (e.state === 'null') {
        this.states.delete(e.clientId);
      } else {
        this.states.set(e.clientId, { clock: e.clock, state: e.state, owner, updatedAt: now });
      }
      if (cur && cur.state === e.state) {
        this.slow.set(e.clientId, e);
      } else {
        this.slow.delete(e.clientId);
        this.fast.set(e.clientId, e);
        this.fastOwners.add(owner);
        changed.push(e);
      }
    }
    return changed;
  }

  /** Remove every state `owner` introduced (it disconnected); returns the removal entries. */
  removeOwner(owner: unknown): AwarenessEntry[] {
    const out: AwarenessEntry[] = [];
    for (const [id, s] of this.states) {
      if (s.owner !== owner) continue;
      this.states.delete(id);
      const e = { clientId: id, clock: s.clock + 1, state: 'null' };
      this.slow.delete(id);
      this.fast.set(id, e);
      this.fastOwners.add(null);
      out.push(e);
    }
    return out;
  }

  ownedBy(owner: unknown): Array<[number, PresenceState]> {
    return [...this.states].filter(([, s]) => s.owner === owner);
  }

  all(): AwarenessEntry[] {
    return [...this.states].map(([clientId, s]) => ({ clientId, clock: s.clock, state: s.state }));
  }

  takeFast(): { entries: AwarenessEntry[]; owners: Set<unknown> } {
    const entries = [...this.fast.values()];
    const owners = this.fastOwners;
    this.fast = new Map();
    this.fastOwners = new Set();
    return { entries, owners };
  }

  takeSlow(): AwarenessEntry[] {
    const entries = [...this.slow.values()];
    this.slow = new Map();
    return entries;
  }
}
