import type { ServerDb } from '../db.js';

// Rows the server keeps between reads stay right only while nobody else writes them: this connection's own writes
// go through the repository that keeps them (which updates it), and `PRAGMA data_version` moves when any other
// connection (another process on the same file) commits.

/** Tells whether another connection committed to the database since the last look. */
export class ForeignCommits {
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
