import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CodexError, ErrorCodes, SqliteStore, type StateStore } from '@codexos/multi-agent-orchestrator';
import Database from 'better-sqlite3';

// The server's own tables (users, tokens, roles, stored workflows and their versions, which version a run is
// pinned to). With the SQLite state store they live in the same database file as executions.

const MIGRATIONS: string[] = [
  `CREATE TABLE IF NOT EXISTS srv_users (
     id TEXT PRIMARY KEY, role TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE IF NOT EXISTS srv_tokens (
     id TEXT PRIMARY KEY, user_id TEXT NOT NULL, hash BLOB NOT NULL, name TEXT,
     created_at INTEGER NOT NULL, last_used_at INTEGER, revoked_at INTEGER);
   CREATE INDEX IF NOT EXISTS srv_tokens_user ON srv_tokens(user_id);
   CREATE TABLE IF NOT EXISTS srv_workflow_roles (
     workflow_id TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL, PRIMARY KEY (workflow_id, user_id));
   CREATE INDEX IF NOT EXISTS srv_roles_user ON srv_workflow_roles(user_id);
   CREATE TABLE IF NOT EXISTS srv_workflows (
     id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT, current_version INTEGER NOT NULL,
     task_count INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, created_by TEXT NOT NULL);
   CREATE TABLE IF NOT EXISTS srv_workflow_versions (
     workflow_id TEXT NOT NULL, version INTEGER NOT NULL, definition TEXT NOT NULL, author TEXT NOT NULL,
     created_at INTEGER NOT NULL, message TEXT NOT NULL, PRIMARY KEY (workflow_id, version));
   CREATE TABLE IF NOT EXISTS srv_executions (
     execution_id TEXT PRIMARY KEY, workflow_id TEXT NOT NULL, version INTEGER NOT NULL, started_by TEXT NOT NULL,
     started_at INTEGER NOT NULL, interrupted INTEGER NOT NULL DEFAULT 0, models TEXT);
   CREATE INDEX IF NOT EXISTS srv_exec_wf ON srv_executions(workflow_id, started_at);
   CREATE TABLE IF NOT EXISTS srv_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  `CREATE TABLE IF NOT EXISTS srv_audit (
     seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, user_id TEXT, token_id TEXT, ip TEXT NOT NULL,
     method TEXT NOT NULL, route TEXT, path TEXT NOT NULL, status INTEGER NOT NULL, outcome TEXT NOT NULL);
   CREATE INDEX IF NOT EXISTS srv_audit_user ON srv_audit(user_id, seq);
   CREATE TRIGGER IF NOT EXISTS srv_audit_no_update BEFORE UPDATE ON srv_audit BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
   CREATE TRIGGER IF NOT EXISTS srv_audit_no_delete BEFORE DELETE ON srv_audit BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;`,
];

export type ServerDb = Database.Database;

/** Opens the server tables: inside the SQLite state store's file when there is one, else at `path`. */
export function openServerDb(store: StateStore, path: string): { db: ServerDb; owned: boolean } {
  let db: ServerDb;
  let owned = false;
  if (store instanceof SqliteStore) db = store.db;
  else {
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      owned = true;
    } catch (err) {
      throw new CodexError(ErrorCodes.STORE, `cannot open the server database at ${path}: ${(err as Error).message}`);
    }
  }
  db.exec('CREATE TABLE IF NOT EXISTS srv_schema (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT version FROM srv_schema').get() as { version: number } | undefined;
  const applied = row?.version ?? 0;
  db.transaction(() => {
    for (let i = applied; i < MIGRATIONS.length; i++) db.exec(MIGRATIONS[i]);
    if (row) db.prepare('UPDATE srv_schema SET version = ?').run(MIGRATIONS.length);
    else db.prepare('INSERT INTO srv_schema (version) VALUES (?)').run(MIGRATIONS.length);
  })();
  return { db, owned };
}
