import type { ServerDb } from '../db.js';
import type { WorkflowSummary, WorkflowVersion } from '../types.js';
import { SqliteRowCache } from './sqlite-foreign-commits.js';
import type { Definition, WorkflowRepo } from './types.js';

// Stored workflows in SQLite: a row per workflow pointing at its current version, and one immutable row per
// version (number, author, time, message, the validated definition). A save is one transaction.

type WfRow = {
  id: string;
  name: string;
  description: string | null;
  current_version: number;
  task_count: number;
  created_at: number;
  updated_at: number;
  created_by: string;
};
type VerRow = {
  workflow_id: string;
  version: number;
  definition: string;
  author: string;
  created_at: number;
  message: string;
};

/** Workflows and versions in the server's SQLite tables. */
export class SqliteWorkflowRepo implements WorkflowRepo {
  private readonly getWf;
  private readonly getVer;
  /**
   * Workflow rows by id (every run start reads one, twice): kept until this repo saves or removes that workflow,
   * or until another connection commits to the file (`PRAGMA data_version` moves), when all are dropped.
   */
  private readonly rows;
  constructor(private readonly db: ServerDb) {
    this.getWf = db.prepare('SELECT * FROM srv_workflows WHERE id = ?');
    this.getVer = db.prepare('SELECT * FROM srv_workflow_versions WHERE workflow_id = ? AND version = ?');
    this.rows = new SqliteRowCache<WorkflowSummary>(db);
  }

  private summary(id: string): WorkflowSummary | undefined {
    return this.rows.read(id, () => {
      const r = this.getWf.get(id) as WfRow | undefined;
      return r ? toSummary(r) : null;
    });
  }

  async get(id: string): Promise<WorkflowSummary | undefined> {
    const s = this.summary(id);
    return s && { ...s };
  }

  async save(def: Definition, author: string, message: string) {
    const now = Date.now();
    this.rows.drop(def.id);
    return this.db.transaction(() => {
      const cur = this.getWf.get(def.id) as WfRow | undefined;
      const version = (cur?.current_version ?? 0) + 1;
      this.db
        .prepare(
          'INSERT INTO srv_workflow_versions (workflow_id, version, definition, author, created_at, message) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(def.id, version, JSON.stringify(def), author, now, message);
      const description = typeof def.description === 'string' ? def.description : null;
      if (cur)
        this.db
          .prepare(
            'UPDATE srv_workflows SET name = ?, description = ?, current_version = ?, task_count = ?, updated_at = ? WHERE id = ?',
          )
          .run(def.name, description, version, def.tasks.length, now, def.id);
      else
        this.db
          .prepare(
            'INSERT INTO srv_workflows (id, name, description, current_version, task_count, created_at, updated_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          )
          .run(def.id, def.name, description, version, def.tasks.length, now, now, author);
      return {
        workflow: toSummary(this.getWf.get(def.id) as WfRow),
        version: { workflowId: def.id, version, author, createdAt: now, message, definition: def },
      };
    })();
  }

  async version(id: string, version?: number): Promise<WorkflowVersion | undefined> {
    const v = version ?? this.summary(id)?.version;
    if (v === undefined) return undefined;
    const r = this.getVer.get(id, v) as VerRow | undefined;
    return r && toVersion(r, true);
  }

  async versions(id: string, limit: number, before?: number): Promise<WorkflowVersion[]> {
    const rows = this.db
      .prepare(
        'SELECT * FROM srv_workflow_versions WHERE workflow_id = ? AND version < ? ORDER BY version DESC LIMIT ?',
      )
      .all(id, before ?? Number.MAX_SAFE_INTEGER, limit) as VerRow[];
    return rows.map((r) => toVersion(r, false));
  }

  async list(opts: { limit: number; after?: string; ids?: Set<string>; q?: string }): Promise<WorkflowSummary[]> {
    const params: unknown[] = [opts.after ?? ''];
    let sql = 'SELECT * FROM srv_workflows WHERE id > ?';
    if (opts.q) {
      sql += ' AND (instr(lower(id), lower(?)) > 0 OR instr(lower(name), lower(?)) > 0)';
      params.push(opts.q, opts.q);
    }
    if (opts.ids) {
      if (opts.ids.size === 0) return [];
      sql += ` AND id IN (SELECT value FROM json_each(?))`;
      params.push(JSON.stringify([...opts.ids]));
    }
    sql += ' ORDER BY id LIMIT ?';
    params.push(opts.limit);
    return (this.db.prepare(sql).all(...params) as WfRow[]).map(toSummary);
  }

  async remove(id: string): Promise<boolean> {
    this.rows.drop(id);
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM srv_workflow_versions WHERE workflow_id = ?').run(id);
      return this.db.prepare('DELETE FROM srv_workflows WHERE id = ?').run(id).changes > 0;
    })();
  }

  async count(): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM srv_workflows').get() as { n: number }).n;
  }
}

function toSummary(r: WfRow): WorkflowSummary {
  const s: WorkflowSummary = {
    id: r.id,
    name: r.name,
    version: r.current_version,
    taskCount: r.task_count,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    createdBy: r.created_by,
  };
  if (r.description) s.description = r.description;
  return s;
}

function toVersion(r: VerRow, withDefinition: boolean): WorkflowVersion {
  const v: WorkflowVersion = {
    workflowId: r.workflow_id,
    version: r.version,
    author: r.author,
    createdAt: r.created_at,
    message: r.message,
  };
  if (withDefinition) v.definition = JSON.parse(r.definition);
  return v;
}
