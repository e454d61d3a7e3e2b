import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CodexError, ErrorCodes } from '../errors.js';
import type { AuditEntry, AuditQuery, Role } from './types.js';

// Durable collaboration state in SQLite: Yjs document updates (compacted into snapshots), roles per workflow
// and the append-only audit trail (triggers refuse UPDATE/DELETE). Writes are queued and flushed in one
// transaction per event-loop turn, so a burst of edits costs one commit.

const SCHEMA = `
CREATE TABLE IF NOT EXISTS collab_docs (workflow_id TEXT PRIMARY KEY, snapshot BLOB NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS collab_updates (id INTEGER PRIMARY KEY AUTOINCREMENT, workflow_id TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS collab_updates_wf ON collab_updates (workflow_id, id);
CREATE TABLE IF NOT EXISTS collab_roles (workflow_id TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL, PRIMARY KEY (workflow_id, user_id));
CREATE TABLE IF NOT EXISTS collab_audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, workflow_id TEXT NOT NULL, session_id TEXT, user_id TEXT NOT NULL,
  at INTEGER NOT NULL, action TEXT NOT NULL, path TEXT, old_value TEXT, new_value TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS collab_audit_wf ON collab_audit (workflow_id, seq);
CREATE TRIGGER IF NOT EXISTS collab_audit_no_update BEFORE UPDATE ON collab_audit BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS collab_audit_no_delete BEFORE DELETE ON collab_audit BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
`;

interface AuditRow {
  seq: number;
  workflow_id: string;
  session_id: string | null;
  user_id: string;
  at: number;
  action: AuditEntry['action'];
  path: string | null;
  old_value: string | null;
  new_value: string | null;
  detail: string | null;
}

const enc = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
const dec = (s: string | null) => (s === null ? undefined : (JSON.parse(s) as unknown));

/** SQLite persistence of collaboration state: Yjs document updates and snapshots, roles and the append-only audit trail. */
export class CollabStore {
  readonly db: Database.Database;
  private pendingUpdates: Array<[string, Uint8Array]> = [];
  private pendingAudit: AuditEntry[] = [];
  private scheduled = false;
  private readonly stmts;
  private closed = false;
  private readonly errorListeners = new Set<(err: unknown) => void>();

  constructor(path = ':memory:') {
    try {
      // As the state and monitor stores do: a path under a directory that does not exist yet creates it.
      if (path !== ':memory:' && path !== '') mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path);
    } catch (err) {
      throw new CodexError(ErrorCodes.STORE, `Cannot open collaboration store at ${path}`, { cause: err });
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.stmts = {
      insUpdate: this.db.prepare('INSERT INTO collab_updates (workflow_id, data) VALUES (?, ?)'),
      insAudit: this.db.prepare(
        'INSERT INTO collab_audit (workflow_id, session_id, user_id, at, action, path, old_value, new_value, detail) VALUES (?,?,?,?,?,?,?,?,?)',
      ),
      snapshot: this.db.prepare('SELECT snapshot FROM collab_docs WHERE workflow_id = ?'),
      updates: this.db.prepare('SELECT id, data FROM collab_updates WHERE workflow_id = ? ORDER BY id'),
      putSnapshot: this.db.prepare(
        'INSERT INTO collab_docs (workflow_id, snapshot, updated_at) VALUES (?, ?, ?) ON CONFLICT(workflow_id) DO UPDATE SET snapshot = excluded.snapshot, updated_at = excluded.updated_at',
      ),
      dropUpdates: this.db.prepare('DELETE FROM collab_updates WHERE workflow_id = ? AND id <= ?'),
      maxUpdate: this.db.prepare('SELECT MAX(id) AS id FROM collab_updates WHERE workflow_id = ?'),
      getRole: this.db.prepare('SELECT role FROM collab_roles WHERE workflow_id = ? AND user_id = ?'),
      setRole: this.db.prepare(
        'INSERT INTO collab_roles (workflow_id, user_id, role) VALUES (?, ?, ?) ON CONFLICT(workflow_id, user_id) DO UPDATE SET role = excluded.role',
      ),
      roles: this.db.prepare('SELECT user_id, role FROM collab_roles WHERE workflow_id = ?'),
    };
  }

  appendUpdate(workflowId: string, update: Uint8Array): void {
    this.pendingUpdates.push([workflowId, update]);
    this.schedule();
  }

  audit(entry: AuditEntry): void {
    this.pendingAudit.push(entry);
    this.schedule();
  }

  /** Called when a background write fails (the writes stay queued and are tried again with the next ones). */
  onError(listener: (err: unknown) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => this.flushInBackground());
  }

  /** A queued flush: its failure is reported to the error listeners, never thrown into the event loop. */
  flushInBackground(): boolean {
    try {
      this.flush();
      return true;
    } catch (err) {
      for (const l of this.errorListeners) {
        try {
          l(err);
        } catch {
          // a failing listener must not turn a reported error into a crash
        }
      }
      return false;
    }
  }

  /** Writes queued (not yet committed) updates and audit entries. */
  get pending(): number {
    return this.pendingUpdates.length + this.pendingAudit.length;
  }

  /** Write everything queued in one transaction; on failure the writes stay queued and the error is thrown. */
  flush(): void {
    this.scheduled = false;
    if (this.closed || (this.pendingUpdates.length === 0 && this.pendingAudit.length === 0)) return;
    const updates = this.pendingUpdates;
    const audits = this.pendingAudit;
    this.pendingUpdates = [];
    this.pendingAudit = [];
    try {
      this.write(updates, audits);
    } catch (err) {
      this.pendingUpdates = updates.concat(this.pendingUpdates);
      this.pendingAudit = audits.concat(this.pendingAudit);
      throw new CodexError(ErrorCodes.STORE, `Collaboration store write failed: ${(err as Error).message}`, {
        cause: err,
        retryable: true,
      });
    }
  }

  private write(updates: Array<[string, Uint8Array]>, audits: AuditEntry[]): void {
    this.db.transaction(() => {
      for (const [wf, u] of updates) this.stmts.insUpdate.run(wf, u);
      for (const a of audits) {
        this.stmts.insAudit.run(
          a.workflowId,
          a.sessionId ?? null,
          a.userId,
          a.at,
          a.action,
          a.path ?? null,
          enc(a.oldValue),
          enc(a.newValue),
          a.detail ?? null,
        );
      }
    })();
  }

  /** Snapshot plus updates since, oldest first. */
  loadDoc(workflowId: string): Uint8Array[] {
    this.flush();
    const out: Uint8Array[] = [];
    const snap = this.stmts.snapshot.get(workflowId) as { snapshot: Buffer } | undefined;
    if (snap) out.push(new Uint8Array(snap.snapshot));
    for (const r of this.stmts.updates.iterate(workflowId) as Iterable<{ data: Buffer }>)
      out.push(new Uint8Array(r.data));
    return out;
  }

  /** Replace the update log with one snapshot (the caller passes the merged state). */
  compact(workflowId: string, state: Uint8Array): void {
    this.flush();
    this.db.transaction(() => {
      const max = (this.stmts.maxUpdate.get(workflowId) as { id: number | null }).id;
      this.stmts.putSnapshot.run(workflowId, state, Date.now());
      if (max !== null) this.stmts.dropUpdates.run(workflowId, max);
    })();
  }

  getRole(workflowId: string, userId: string): Role | undefined {
    return (this.stmts.getRole.get(workflowId, userId) as { role: Role } | undefined)?.role;
  }

  setRole(workflowId: string, userId: string, role: Role): void {
    this.stmts.setRole.run(workflowId, userId, role);
  }

  roles(workflowId: string): Array<{ userId: string; role: Role }> {
    return (this.stmts.roles.all(workflowId) as Array<{ user_id: string; role: Role }>).map((r) => ({
      userId: r.user_id,
      role: r.role,
    }));
  }

  queryAudit(q: AuditQuery = {}): AuditEntry[] {
    this.flush();
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.workflowId) {
      where.push('workflow_id = ?');
      args.push(q.workflowId);
    }
    if (q.userId) {
      where.push('user_id = ?');
      args.push(q.userId);
    }
    if (q.sessionId) {
      where.push('session_id = ?');
      args.push(q.sessionId);
    }
    if (q.action) {
      where.push('action = ?');
      args.push(q.action);
    }
    if (q.pathPrefix) {
      where.push('substr(path, 1, ?) = ?');
      args.push(q.pathPrefix.length, q.pathPrefix);
    }
    if (q.since !== undefined) {
      where.push('at >= ?');
      args.push(q.since);
    }
    const sql = `SELECT * FROM collab_audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ?`;
    args.push(q.limit ?? 10_000);
    return (this.db.prepare(sql).all(...args) as AuditRow[]).map((r) => ({
      seq: r.seq,
      workflowId: r.workflow_id,
      sessionId: r.session_id ?? undefined,
      userId: r.user_id,
      at: r.at,
      action: r.action,
      path: r.path ?? undefined,
      oldValue: dec(r.old_value),
      newValue: dec(r.new_value),
      detail: r.detail ?? undefined,
    }));
  }

  close(): void {
    if (this.closed) return;
    this.flushInBackground();
    this.closed = true;
    this.db.close();
  }
}
