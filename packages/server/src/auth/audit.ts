import type { ServerDb } from '../db.js';

// The server's access audit: every write through the API (whatever its outcome) and every denied attempt
// (401, 403, and 404 on a matched route, which is how a workflow the caller holds no role on answers).
// Append-only (triggers refuse UPDATE/DELETE). Tokens are never stored: only the token's id and the path.

export type AccessOutcome = 'ok' | 'denied' | 'rejected' | 'error';

export interface AccessEntry {
  seq: number;
  at: number;
  userId?: string;
  tokenId?: string;
  ip: string;
  method: string;
  route?: string;
  path: string;
  status: number;
  outcome: AccessOutcome;
}

type Row = {
  seq: number;
  at: number;
  user_id: string | null;
  token_id: string | null;
  ip: string;
  method: string;
  route: string | null;
  path: string;
  status: number;
  outcome: AccessOutcome;
};

export class AccessAudit {
  private readonly ins;
  constructor(private readonly db: ServerDb) {
    this.ins = db.prepare(
      'INSERT INTO srv_audit (at, user_id, token_id, ip, method, route, path, status, outcome) VALUES (?,?,?,?,?,?,?,?,?)',
    );
  }

  record(e: Omit<AccessEntry, 'seq' | 'at'> & { at?: number }): void {
    this.ins.run(
      e.at ?? Date.now(),
      e.userId ?? null,
      e.tokenId ?? null,
      e.ip,
      e.method,
      e.route ?? null,
      e.path.slice(0, 1000),
      e.status,
      e.outcome,
    );
  }

  /** Newest first, before `beforeSeq`. */
  list(limit: number, q: { beforeSeq?: number; userId?: string; outcome?: AccessOutcome } = {}): AccessEntry[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.beforeSeq !== undefined) where.push('seq < ?'), args.push(q.beforeSeq);
    if (q.userId) where.push('user_id = ?'), args.push(q.userId);
    if (q.outcome) where.push('outcome = ?'), args.push(q.outcome);
    const sql = `SELECT * FROM srv_audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, limit) as Row[]).map((r) => {
      const e: AccessEntry = {
        seq: r.seq,
        at: r.at,
        ip: r.ip,
        method: r.method,
        path: r.path,
        status: r.status,
        outcome: r.outcome,
      };
      if (r.user_id) e.userId = r.user_id;
      if (r.token_id) e.tokenId = r.token_id;
      if (r.route) e.route = r.route;
      return e;
    });
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
