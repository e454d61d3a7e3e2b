// Handlers that were given up on (timed out, or their run ended) but have not settled: a handler that ignores its
// signal is still running, so the slot it holds (its unit's next attempt, its task's agent instance) waits for it
// to settle, or for the grace period to pass, before anything else uses it.

interface Entry {
  live: number;
  waiters: Array<() => void>;
}

export class AbandonedAttempts {
  private readonly byKey = new Map<unknown, Entry>();

  constructor(private readonly graceMs: number) {}

  /** Tracks one abandoned handler under each key; call the returned function when it settles (idempotent). */
  add(keys: readonly unknown[]): () => void {
    for (const k of keys) {
      let e = this.byKey.get(k);
      if (!e) {
        e = { live: 0, waiters: [] };
        this.byKey.set(k, e);
      }
      e.live++;
    }
    let over = false;
    const settled = (): void => {
      if (over) return;
      over = true;
      clearTimeout(timer);
      for (const k of keys) this.drop(k);
    };
    const timer = setTimeout(settled, this.graceMs);
    // The grace alone must not keep a process alive.
    timer.unref?.();
    return settled;
  }

  /** True when nothing abandoned is live under `key` (the common case: callers skip building a callback). */
  quiet(key: unknown): boolean {
    return this.byKey.size === 0 || !this.byKey.has(key);
  }

  /** Runs `then` now when nothing abandoned is live under `key`, else once the last of them has settled. */
  whenQuiet(key: unknown, then: () => void): void {
    const e = this.byKey.get(key);
    if (!e) return then();
    e.waiters.push(then);
  }

  private drop(key: unknown): void {
    const e = this.byKey.get(key);
    if (!e || --e.live > 0) return;
    this.byKey.delete(key);
    for (const w of e.waiters) w();
  }
}
