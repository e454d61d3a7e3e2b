import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { CodexError, ErrorCodes } from '../errors.js';
import type { ExecutionProfile, MonitorHistoryStore, StoredProfile } from './types.js';
import { PROFILE_SCHEMA_VERSION } from './types.js';

// Monitor history in one SQLite table of its own, so `profile(executionId)` survives a restart. Rows carry the
// profile schema version; rows from a newer version are refused with a clear error rather than misread.
// Profiles saved in one event-loop turn are written in one transaction on the next (many short runs finish per
// turn under load); reads write what is pending first, so they always see every saved profile.

const rowSchema = z.object({ schema_version: z.number(), body: z.string() });

export class SqliteHistoryStore implements MonitorHistoryStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly owned: boolean;
  private readonly insert: Database.Statement;
  private readonly select: Database.Statement;
  private readonly maxRows: number;
  private writes = 0;
  private pending: string[][] = [];
  private batch?: { done: Promise<void>; resolve: () => void; reject: (err: unknown) => void };
  private immediate?: NodeJS.Immediate;
  private readonly writeRows: (rows: string[][]) => void;

  /** `target` is a file path (`:memory:` works) or an open better-sqlite3 database. */
  constructor(target: string | Database.Database, opts: { maxRows?: number } = {}) {
    if (typeof target === 'string') {
      if (target !== ':memory:') mkdirSync(dirname(target), { recursive: true });
      this.db = new Database(target);
      this.db.pragma('journal_mode = WAL');
      // Derived data: a killed process loses nothing committed; only a power cut may drop the last commits.
      this.db.pragma('synchronous = NORMAL');
      this.owned = true;
    } else {
      this.db = target;
      this.owned = false;
    }
    this.maxRows = opts.maxRows ?? 10_000;
    this.db.exec(`CREATE TABLE IF NOT EXISTS codexos_monitor_profiles (
      execution_id TEXT PRIMARY KEY,
      workflow_id TEXT NOT NULL,
      finished_at INTEGER NOT NULL,
      schema_version INTEGER NOT NULL,
      body TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS codexos_monitor_profiles_wf ON codexos_monitor_profiles (workflow_id, finished_at);`);
    this.insert = this.db.prepare(
      'INSERT OR REPLACE INTO codexos_monitor_profiles (execution_id, workflow_id, finished_at, schema_version, body) VALUES (?, ?, ?, ?, ?)',
    );
    this.select = this.db.prepare('SELECT schema_version, body FROM codexos_monitor_profiles WHERE execution_id = ?');
    this.writeRows = this.db.transaction((rows: string[][]) => {
      for (const r of rows) this.insert.run(r[0], r[1], Number(r[2]), PROFILE_SCHEMA_VERSION, r[3]);
    });
  }

  /** Queues the profile; it is written with the others of this turn. The promise settles once it is written. */
  save(entry: StoredProfile): Promise<void> {
    const p = entry.profile;
    // Encoded now: the entry may change after this call, the stored profile must not.
    this.pending.push([
      p.executionId,
      p.workflowId,
      String(Math.round(p.finishedAt ?? Date.now())),
      JSON.stringify(entry),
    ]);
    if (!this.batch) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.batch = { done, resolve, reject };
      this.immediate = setImmediate(() => this.flush());
    }
    return this.batch.done;
  }

  /** Writes what is queued now (one transaction), then keeps the table bounded. */
  private flush(): void {
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    const batch = this.batch;
    const rows = this.pending;
    this.batch = undefined;
    this.pending = [];
    if (!batch) return;
    try {
      this.writeRows(rows);
      const before = this.writes;
      this.writes += rows.length;
      // Checked every 100 writes so the common path is the INSERTs alone.
      if (Math.floor(this.writes / 100) !== Math.floor(before / 100)) {
        this.db
          .prepare(
            'DELETE FROM codexos_monitor_profiles WHERE execution_id IN (SELECT execution_id FROM codexos_monitor_profiles ORDER BY finished_at DESC LIMIT -1 OFFSET ?)',
          )
          .run(this.maxRows);
      }
      batch.resolve();
    } catch (err) {
      batch.reject(err);
    }
  }

  load(executionId: string): StoredProfile | undefined {
    this.flush();
    const raw = this.select.get(executionId);
    if (raw === undefined) return undefined;
    const row = rowSchema.parse(raw);
    if (row.schema_version > PROFILE_SCHEMA_VERSION) {
      throw new CodexError(
        ErrorCodes.STORE,
        `Monitor profile for ${executionId} was written by a newer CodexOS (schema ${row.schema_version} > ${PROFILE_SCHEMA_VERSION})`,
      );
    }
    return JSON.parse(row.body) as StoredProfile;
  }

  list(query: { workflowId?: string; limit?: number } = {}): ExecutionProfile[] {
    this.flush();
    const limit = query.limit ?? 100;
    const rows = (
      query.workflowId === undefined
        ? this.db
            .prepare('SELECT schema_version, body FROM codexos_monitor_profiles ORDER BY finished_at DESC LIMIT ?')
            .all(limit)
        : this.db
            .prepare(
              'SELECT schema_version, body FROM codexos_monitor_profiles WHERE workflow_id = ? ORDER BY finished_at DESC LIMIT ?',
            )
            .all(query.workflowId, limit)
    ).map((r) => rowSchema.parse(r));
    return rows
      .filter((r) => r.schema_version <= PROFILE_SCHEMA_VERSION)
      .map((r) => (JSON.parse(r.body) as StoredProfile).profile);
  }

  close(): void {
    if (this.db.open) this.flush();
    if (this.owned && this.db.open) this.db.close();
  }
}
