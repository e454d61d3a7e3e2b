import type { AwarenessEntry } from './protocol/awareness.js';

// Awareness state of one document, kept as raw JSON strings. Echoes (clock not newer) are dropped before any
// parsing; a connection may only speak for client ids it introduced. Changed states are queued for the next
// coalesced broadcast; unchanged renewals go to a slow lane (clients forget a state after 30 s without one).
// Hostile clients are bounded: a connection introduces at most `maxClientIdsPerConnection` ids, a document holds
// at most `maxPresenceEntries`, oversized states are ignored and entries not renewed in time expire. Entries over
// a bound are dropped silently: the sender is not closed (a stock client echoing what it received stays
// connected), and nobody else ever receives them.

export interface PresenceLimits {
  maxClientIdsPerConnection: number;
  maxPresenceEntries: number;
  maxPresenceStateChars: number;
  presenceTimeoutMs: number;
}

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
  /** Client ids each owner holds (connections, and the remote marker for other processes). */
  private readonly counts = new Map<unknown, number>();

  constructor(private readonly limits: PresenceLimits) {}

  /**
   * Apply entries from `owner`; returns those that changed something (to emit presence events). `perOwner` bounds
   * the client ids this owner may introduce (other processes, already bounded at their end, pass Infinity).
   */
  apply(
    owner: unknown,
    entries: AwarenessEntry[],
    now: number,
    perOwner = this.limits.maxClientIdsPerConnection,
  ): AwarenessEntry[] {
    const changed: AwarenessEntry[] = [];
    const L = this.limits;
    for (const e of entries) {
      const cur = this.states.get(e.clientId);
      if (cur) {
        if (cur.owner !== owner) continue; // an echo of someone else's state, or spoofing
        if (e.clock < cur.clock || (e.clock === cur.clock && !(e.state === 'null' && cur.state !== 'null'))) continue;
      } else if (e.state === 'null') continue;
      else if (this.states.size >= L.maxPresenceEntries || (this.counts.get(owner) ?? 0) >= perOwner) continue;
      if (e.state.length > L.maxPresenceStateChars) continue;
      if (e.state === 'null') {
        this.states.delete(e.clientId);
        this.count(owner, -1);
      } else {
        if (!cur) this.count(owner, 1);
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
    if (!this.counts.has(owner)) return [];
    return this.removeWhere((s) => s.owner === owner);
  }

  /** Remove entries not renewed within `presenceTimeoutMs` (a client that vanished without a goodbye). */
  expire(now: number): AwarenessEntry[] {
    const cutoff = now - this.limits.presenceTimeoutMs;
    return this.removeWhere((s) => s.updatedAt < cutoff);
  }

  private removeWhere(pred: (s: PresenceState) => boolean): AwarenessEntry[] {
    const out: AwarenessEntry[] = [];
    for (const [id, s] of this.states) {
      if (!pred(s)) continue;
      this.states.delete(id);
      this.count(s.owner, -1);
      const e = { clientId: id, clock: s.clock + 1, state: 'null' };
      this.slow.delete(id);
      this.fast.set(id, e);
      this.fastOwners.add(null);
      out.push(e);
    }
    return out;
  }

  private count(owner: unknown, by: number): void {
    const n = (this.counts.get(owner) ?? 0) + by;
    if (n > 0) this.counts.set(owner, n);
    else this.counts.delete(owner);
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
