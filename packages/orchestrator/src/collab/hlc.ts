import type { Hlc } from './types.js';

// Hybrid logical clock (Kulkarni et al.): monotonic, close to wall time, totally ordered with the node id as
// the final tie-break so every replica picks the same winner.

/** Orders two hybrid-logical-clock stamps (time, then counter, then node id). */
export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** Hybrid logical clock of one node: issues monotonic timestamps close to wall time and merges remote ones. */
export class HybridClock {
  private wall = 0;
  private logical = 0;
  constructor(
    readonly node: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** A timestamp for a local event. */
  tick(): Hlc {
    const pt = this.now();
    if (pt > this.wall) {
      this.wall = pt;
      this.logical = 0;
    } else this.logical++;
    return { wall: this.wall, logical: this.logical, node: this.node };
  }

  /** Merge a remote timestamp so later local ticks order after it. */
  receive(remote: Hlc): Hlc {
    const pt = this.now();
    const wall = Math.max(pt, this.wall, remote.wall);
    if (wall === this.wall && wall === remote.wall) this.logical = Math.max(this.logical, remote.logical) + 1;
    else if (wall === this.wall) this.logical++;
    else if (wall === remote.wall) this.logical = remote.logical + 1;
    else this.logical = 0;
    this.wall = wall;
    return { wall: this.wall, logical: this.logical, node: this.node };
  }
}
