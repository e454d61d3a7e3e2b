import type { RoleRepo } from '../store/types.js';
import type { User, WorkflowRole } from '../types.js';

// Per-workflow roles. An admin acts as owner everywhere; a member sees only workflows they hold a role on.

export const RANK: Record<WorkflowRole, number> = { viewer: 1, editor: 2, owner: 3 };

/** Who holds which role on which workflow, over the configured store. */
export class RoleService {
  constructor(private readonly repo: RoleRepo) {}

  get(workflowId: string, userId: string): Promise<WorkflowRole | undefined> {
    return this.repo.get(workflowId, userId);
  }

  /** The role a user acts with on a workflow (admins: owner). */
  async effective(workflowId: string, user: User): Promise<WorkflowRole | undefined> {
    return user.role === 'admin' ? 'owner' : this.repo.get(workflowId, user.id);
  }

  set(workflowId: string, userId: string, role: WorkflowRole): Promise<void> {
    return this.repo.set(workflowId, userId, role);
  }

  remove(workflowId: string, userId: string): Promise<boolean> {
    return this.repo.remove(workflowId, userId);
  }

  removeAll(workflowId: string): Promise<void> {
    return this.repo.removeAll(workflowId);
  }

  list(workflowId: string): Promise<Array<{ userId: string; role: WorkflowRole }>> {
    return this.repo.list(workflowId);
  }

  /** Workflow ids a user can read (undefined = all, for admins). */
  async visible(user: User): Promise<Set<string> | undefined> {
    if (user.role === 'admin') return undefined;
    return new Set(await this.repo.workflowsOf(user.id));
  }
}
