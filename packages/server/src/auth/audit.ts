import type { AccessEntry, AccessOutcome, AuditQuery, AuditRepo } from '../store/types.js';

// The server's access audit: every write through the API (whatever its outcome) and every denied attempt
// (401, 403, and 404 on a matched route, which is how a workflow the caller holds no role on answers).
// Append-only. Tokens are never stored: only the token's id and the path.

export type { AccessEntry, AccessOutcome } from '../store/types.js';

/** Records and queries access-audit entries on the configured store. */
export class AccessAudit {
  constructor(private readonly repo: AuditRepo) {}

  record(e: Omit<AccessEntry, 'seq' | 'at'> & { at?: number }): Promise<void> {
    return this.repo.append({ ...e, at: e.at ?? Date.now(), path: e.path.slice(0, 1000) });
  }

  /** Newest first, before `beforeSeq`. */
  list(limit: number, q: AuditQuery = {}): Promise<AccessEntry[]> {
    return this.repo.list(limit, q);
  }

  /** Which requests are recorded, and as what (undefined: not recorded). */
  static outcomeOf(
    method: string,
    status: number,
    matchedRoute: boolean,
    authenticated: boolean,
  ): AccessOutcome | undefined {
    const denied = status === 401 || status === 403 || (status === 404 && matchedRoute && authenticated);
    if (denied) return 'denied';
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return undefined;
    if (status >= 500) return 'error';
    return status >= 400 ? 'rejected' : 'ok';
  }
}
