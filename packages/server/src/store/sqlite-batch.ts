import type { ServerDb } from '../db.js';

// Group commit for the server's small per-request writes (a run's pin, an access-audit entry): writes queued
// during one turn of the event loop commit together in one transaction on the next, instead of one commit each.
// A caller that awaits its write knows it is committed; a crash loses only writes of the turn not yet flushed.

type Pending = { write: () => void; resolve: () => void; reject: (err: unknown) => void };

/** Queues writes and commits each turn's writes in one SQLite transaction. */
export class SqliteWriteBatch {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(private readonly db: ServerDb) {}

  /** Queues a write; resolves once it is committed (rejects with its own error if it fails). */
  add(write: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits what is queued now (also called before the database closes). */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (!batch.length) return;
    if (!this.db.open) {
      for (const p of batch) p.reject(new Error('the server database is closed'));
      return;
    }
    try {
      this.db.transaction(() => {
        for (const p of batch) p.write();
      })();
      for (const p of batch) p.resolve();
    } catch {
      // One failing write must not take the others with it: commit them one by one, each with its own outcome.
      for (const p of batch) {
        try {
          p.write();
          p.resolve();
        } catch (err) {
          p.reject(err);
        }
      }
    }
  }
}
