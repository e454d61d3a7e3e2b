import type { ApprovalItem, Role, ServerRole } from '../api/types.ts';

// Who may decide an approval: editors and owners of its workflow (server admins too), and, when the approval
// names roles, only holders of one of them. Viewers see the inbox but get no buttons; the server enforces it.

export function canDecide(item: Pick<ApprovalItem, 'roles'>, role: Role | undefined, serverRole?: ServerRole): boolean {
  if (serverRole === 'admin') return true;
  if (role !== 'editor' && role !== 'owner') return false;
  return !item.roles?.length || item.roles.includes(role);
}

/** Editors and owners act on a run (debug, approve, re-run); viewers watch. */
export function canAct(role: Role | undefined, serverRole?: ServerRole): boolean {
  return serverRole === 'admin' || role === 'editor' || role === 'owner';
}
