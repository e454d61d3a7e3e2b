import type { ServerDb } from '../db.js';
import type { User, WorkflowRole } from '../types.js';

// Per-workflow roles. An admin acts as owner everywhere; a member sees only workflows they hold a role on.

export const RANK: Record<WorkflowRole, number> = { viewer: 1, editor: 2, owner: 3 };

export class RoleService {
  private readonly getStmt;
  constructor(private readonly db: ServerDb) {
    this.getStmt = db.prepare('SELECT role FROM srv_workflow_roles WHERE workflow_id = ? AND user_id = ?');
  }

  get(workflowId: string, userId: string): WorkflowRole | undefined {
    return (this.getStmt.get(workflowId, userId) as { role: WorkflowRole } | undefined)?.role;
  }

  /** The role a user acts with on a workflow (admins: owner). */
  effective(workflowId: string, user: User): WorkflowRole | undefined {
    return user.role === 'admin' ? 'owner' : this.get(workflowId, user.id);
  }

  set(workflowId: string, userId: string, role: WorkflowRole): void {
    this.db
      .prepare(
        `INSERT INTO srv_workflow_roles (workflow_id, user_id, role) VALUES (?, ?, ?)
         ON CONFLICT(workflow_id, user_id) DO UPDATE SET role = excluded.role`,
      )
      .run(workflowId, userId, role);
  }

  remove(workflowId: string, userId: string): boolean {
    return (
      this.db.prepare('DELETE FROM srv_workflow_roles WHERE workflow_id = ? AND user_id = ?').run(workflowId, userId)
        .changes > 0
    );
  }

  removeAll(workflowId: string): void {
    this.db.prepare('DELETE FROM srv_workflow_roles WHERE workflow_id = ?').run(workflowId);
  }

  list(workflowId: string): Array<{ userId: string; role: WorkflowRole }> {
    return this.db
      .prepare('SELECT user_id AS userId, role FROM srv_workflow_roles WHERE workflow_id = ? ORDER BY user_id')
      .all(workflowId) as Array<{ userId: string; role: WorkflowRole }>;
  }

  /** Workflow ids a user can read (undefined = all, for admins). */
  visible(user: User): Set<string> | undefined {
    if (user.role === 'admin') return undefined;
    const rows = this.db
      .prepare('SELECT workflow_id AS id FROM srv_workflow_roles WHERE user_id = ?')
      .all(user.id) as Array<{
      id: string;
    }>;
    return new Set(rows.map((r) => r.id));
  }
}
