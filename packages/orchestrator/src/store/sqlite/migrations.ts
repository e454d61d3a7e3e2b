import type Database from 'better-sqlite3';
import { CodexError, ErrorCodes } from '../../errors.js';

/** Version of the SQLite table layout (independent of the snapshot format in STATE_SCHEMA_VERSION). */
export const SQLITE_LAYOUT_VERSION = 3;

const V2 = `
CREATE TABLE IF NOT EXISTS cdx_executions (
  id TEXT PRIMARY KEY, workflow_id TEXT NOT NULL, status TEXT NOT NULL, definition TEXT NOT NULL, input TEXT,
  started_at REAL NOT NULL, finished_at REAL, error TEXT, schema_version INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS cdx_executions_wf ON cdx_executions (workflow_id, started_at);
-- Clustered by (execution, sequence): one B-tree, so a commit appends to one page run (no secondary index).
CREATE TABLE IF NOT EXISTS cdx_transitions (
  execution_id TEXT NOT NULL, seq INTEGER NOT NULL, task_key TEXT NOT NULL, status TEXT NOT NULL,
  attempt INTEGER NOT NULL, at REAL NOT NULL, output TEXT, error TEXT, usage TEXT, cost REAL,
  PRIMARY KEY (execution_id, seq)) WITHOUT ROWID;
`;

// v3: the lease columns (execution ownership). Inputs and outputs are BLOBs of store/codec.ts from v3 on (older
// rows keep their JSON text; SQLite columns take either, and the codec tells them apart).
const V2_TO_V3 = `
ALTER TABLE cdx_executions ADD COLUMN lease_owner TEXT;
ALTER TABLE cdx_executions ADD COLUMN lease_expires_at REAL;
`;

// v1 kept transitions in a rowid table with a global AUTOINCREMENT seq and a secondary index.
const V1_TO_V2 = `
ALTER TABLE cdx_transitions RENAME TO cdx_transitions_v1;
DROP INDEX IF EXISTS cdx_transitions_exec;
${V2}
INSERT INTO cdx_transitions (execution_id, seq, task_key, status, attempt, at, output, error, usage, cost)
  SELECT execution_id, ROW_NUMBER() OVER (PARTITION BY execution_id ORDER BY seq) - 1, task_key, status, attempt, at,
         output, error, usage, cost
  FROM cdx_transitions_v1;
DROP TABLE cdx_transitions_v1;
`;

/** Creates or upgrades the layout in one transaction; refuses a layout newer than this code knows. */
export function migrate(db: Database.Database, path: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS cdx_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  const row = db.prepare("SELECT value FROM cdx_meta WHERE key = 'schema_version'").get() as
    | { value: string }
    | undefined;
  const version = row ? Number(row.value) : 0;
  if (version > SQLITE_LAYOUT_VERSION) {
    throw new CodexError(
      ErrorCodes.STORE,
      `state store ${path} has schema version ${version}; this CodexOS reads up to ${SQLITE_LAYOUT_VERSION}`,
    );
  }
  if (version === SQLITE_LAYOUT_VERSION) return;
  db.transaction(() => {
    db.exec(version === 1 ? V1_TO_V2 : version === 2 ? '' : V2);
    db.exec(V2_TO_V3);
    db.prepare(
      "INSERT INTO cdx_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    ).run(String(SQLITE_LAYOUT_VERSION));
  })();
}
