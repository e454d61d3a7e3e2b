import type { ServerDb } from '../db.js';

// Rows the server keeps between reads stay right only while nobody else writes them: this connection's own writes
// go through the repository that keeps them (which updates it), and `PRAGMA data_version` moves when any other
// connection (another process on the same file) commits.

/** Tells whether another connection committed to the database since the last look. */
class ForeignCommits {
  private readonly stmt;
  private seen: number | undefined;

  constructor(db: ServerDb) {
    this.stmt = db.prepare('PRAGMA data_version').pluck();
  }

  /** True on the first call and whenever another connection committed since the previous call. */
  changed(): boolean {
    const v = this.stmt.get() as number;
    if (v === this.seen) return false;
    this.seen = v;
    return true;
  }
}

/**
 * Rows read from SQLite, kept by key until the repository that owns them drops them (its own writes) or another
 * connection commits (all are dropped). `null` records a row known to be absent. Bounded: at 10 000 keys it starts
 * over.
 */
export class SqliteRowCache<V> {
  private readonly foreign;
  private readonly rows = new Map<string, V | null>();

  constructor(db: ServerDb) {
    this.foreign = new ForeignCommits(db);
  }

  /** The kept row for `key`, or `load()`'s answer (kept for next time). */
  read(key: string, load: () => V | null): V | undefined {
    if (this.foreign.changed()) this.rows.clear();
    let v = this.rows.get(key);
    if (v === undefined) {
      v = load();
      if (this.rows.size >= 10_000) this.rows.clear();
      this.rows.set(key, v);
    }
    return v ?? undefined;
  }

  /** Drops one key, or every key when none is given. */
  drop(key?: string): void {
    if (key === undefined) this.rows.clear();
    else this.rows.delete(key);
  }
}
