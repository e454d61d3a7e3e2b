import type { WaitRecord } from './types.js';

/**
 * The waitpoints of one execution. Deadlines share one timer armed for the earliest of them (not a timer per
 * waiter); a waiting task holds no agent slot: it is only an entry here and a record in the store.
 */
export class Waits {
  readonly byName = new Map<string, WaitRecord>();
  private timer?: NodeJS.Timeout;
  private armedFor = Infinity;

  constructor(private readonly onExpired: (w: WaitRecord) => void) {}

  get(name: string): WaitRecord | undefined {
    return this.byName.get(name);
  }

  set(w: WaitRecord): void {
    this.byName.set(w.name, w);
    if (!w.decision && w.timeoutAt !== undefined && w.timeoutAt < this.armedFor) this.arm();
  }

  /** Unresolved waitpoints, oldest first. */
  pending(): WaitRecord[] {
    return [...this.byName.values()].filter((w) => !w.decision);
  }

  /** Re-arms the one timer for the earliest unresolved deadline. */
  arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
    let next = Infinity;
    for (const w of this.byName.values())
      if (!w.decision && w.timeoutAt !== undefined && w.timeoutAt < next) next = w.timeoutAt;
    if (next === Infinity) return;
    this.armedFor = next;
    this.timer = setTimeout(() => this.fire(), Math.max(0, Math.min(next - Date.now(), 2 ** 31 - 1)));
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const t = Date.now();
    for (const w of [...this.byName.values()])
      if (!w.decision && w.timeoutAt !== undefined && w.timeoutAt <= t) this.onExpired(w);
    this.arm();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
