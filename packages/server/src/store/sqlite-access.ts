import type { ServerDb } from '../db.js';
import type { ServerRole, User, WorkflowRole } from '../types.js';
import type { SqliteWriteBatch } from './sqlite-batch.js';
import { SqliteRowCache } from './sqlite-foreign-commits.js';
import type {
  AccessEntry,
  AccessOutcome,
  AuditQuery,
  AuditRepo,
  MetaRepo,
  RoleRepo,
  StoredToken,
  UserTokenRepo,
} from './types.js';

// Users, tokens, roles, the access audit and server settings in the server's SQLite tables. The audit table
// refuses UPDATE and DELETE by trigger (db.ts).

type TokenRow = {
  id: string;
  user_id: string;
  hash: Buffer;
  name: string | null;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  role: ServerRole;
};

const TOKEN_SELECT = 'SELECT t.*, u.role AS role FROM srv_tokens t JOIN srv_users u ON u.id = t.user_id';

/** Users and tokens in SQLite. */
export class SqliteUserTokenRepo implements UserTokenRepo {
  private readonly byId;
  private readonly touch;
  constructor(private readonly db: ServerDb) {
    this.byId = db.prepare(`${TOKEN_SELECT} WHERE t.id = ?`);
    this.touch = db.prepare('UPDATE srv_tokens SET last_used_at = ? WHERE id = ?');
  }

  async upsertUser(id: string, role: ServerRole, at: number): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO srv_users (id, role, created_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET role = excluded.role',
      )
      .run(id, role, at);
  }

  async getUser(id: string): Promise<User | undefined> {
    return this.db.prepare('SELECT id, role FROM srv_users WHERE id = ?').get(id) as User | undefined;
  }

  async insertToken(t: { id: string; userId: string; hash: Buffer; name?: string; createdAt: number }) {
    this.db
      .prepare('INSERT INTO srv_tokens (id, user_id, hash, name, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(t.id, t.userId, t.hash, t.name ?? null, t.createdAt);
  }

  async token(id: string): Promise<StoredToken | undefined> {
    const r = this.byId.get(id) as TokenRow | undefined;
    return r && toToken(r);
  }

  async touchToken(id: string, at: number): Promise<void> {
    this.touch.run(at, id);
  }

  async revokeToken(id: string, at: number): Promise<boolean> {
    return (
      this.db.prepare('UPDATE srv_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id).changes >
      0
    );
  }

  async listTokens(limit: number, after?: [number, string]): Promise<StoredToken[]> {
    const order = 'ORDER BY t.created_at DESC, t.id DESC LIMIT ?';
    const rows = (
      after
        ? this.db.prepare(`${TOKEN_SELECT} WHERE (t.created_at, t.id) < (?, ?) ${order}`).all(after[0], after[1], limit)
        : this.db.prepare(`${TOKEN_SELECT} ${order}`).all(limit)
    ) as TokenRow[];
    return rows.map(toToken);
  }

  async countTokens(): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM srv_tokens').get() as { n: number }).n;
  }
}

function toToken(r: TokenRow): StoredToken {
  const t: StoredToken = { id: r.id, userId: r.user_id, role: r.role, hash: r.hash, createdAt: r.created_at };
  if (r.name) t.name = r.name;
  if (r.last_used_at) t.lastUsedAt = r.last_used_at;
  if (r.revoked_at) t.revokedAt = r.revoked_at;
  return t;
}

/**
 * Per-workflow roles in SQLite. Looked-up roles are kept (every request on a workflow asks for one) until this repo
 * changes a role, or another connection commits to the file.
 */
export class SqliteRoleRepo implements RoleRepo {
  private readonly getStmt;
  private readonly known;
  constructor(private readonly db: ServerDb) {
    this.getStmt = db.prepare('SELECT role FROM srv_workflow_roles WHERE workflow_id = ? AND user_id = ?');
    this.known = new SqliteRowCache<WorkflowRole>(db);
  }

  async get(workflowId: string, userId: string): Promise<WorkflowRole | undefined> {
    return this.known.read(
      `${workflowId}\u0000${userId}`,
      () => (this.getStmt.get(workflowId, userId) as { role: WorkflowRole } | undefined)?.role ?? null,
    );
  }

  async set(workflowId: string, userId: string, role: WorkflowRole): Promise<void> {
    this.known.drop();
    this.db
      .prepare(
        `INSERT INTO srv_workflow_roles (workflow_id, user_id, role) VALUES (?, ?, ?)
         ON CONFLICT(workflow_id, user_id) DO UPDATE SET role = excluded.role`,
      )
      .run(workflowId, userId, role);
  }

  async remove(workflowId: string, userId: string): Promise<boolean> {
    this.known.drop();
    return (
      this.db.prepare('DELETE FROM srv_workflow_roles WHERE workflow_id = ? AND user_id = ?').run(workflowId, userId)
        .changes > 0
    );
  }

  async removeAll(workflowId: string): Promise<void> {
    this.known.drop();
    this.db.prepare('DELETE FROM srv_workflow_roles WHERE workflow_id = ?').run(workflowId);
  }

  async list(workflowId: string): Promise<Array<{ userId: string; role: WorkflowRole }>> {
    return this.db
      .prepare('SELECT user_id AS userId, role FROM srv_workflow_roles WHERE workflow_id = ? ORDER BY user_id')
      .all(workflowId) as Array<{ userId: string; role: WorkflowRole }>;
  }

  async workflowsOf(userId: string): Promise<string[]> {
    const rows = this.db.prepare('SELECT workflow_id AS id FROM srv_workflow_roles WHERE user_id = ?').all(userId);
    return (rows as Array<{ id: string }>).map((r) => r.id);
  }
}

type AuditRow = {
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

/**
 * The access audit in SQLite (append-only by trigger). With a batch, entries of one event-loop turn commit
 * together; a read flushes what is queued first, so a query sees every entry recorded before it.
 */
export class SqliteAuditRepo implements AuditRepo {
  private readonly ins;
  constructor(
    private readonly db: ServerDb,
    private readonly batch?: SqliteWriteBatch,
  ) {
    this.ins = db.prepare(
      'INSERT INTO srv_audit (at, user_id, token_id, ip, method, route, path, status, outcome) VALUES (?,?,?,?,?,?,?,?,?)',
    );
  }

  async append(e: Omit<AccessEntry, 'seq'>): Promise<void> {
    const write = () =>
      void this.ins.run(
        e.at,
        e.userId ?? null,
        e.tokenId ?? null,
        e.ip,
        e.method,
        e.route ?? null,
        e.path,
        e.status,
        e.outcome,
      );
    if (this.batch) await this.batch.add(write);
    else write();
  }

  async list(limit: number, q: AuditQuery = {}): Promise<AccessEntry[]> {
    this.batch?.flush();
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.beforeSeq !== undefined) {
      where.push('seq < ?');
      args.push(q.beforeSeq);
    }
    if (q.userId) {
      where.push('user_id = ?');
      args.push(q.userId);
    }
    if (q.outcome) {
      where.push('outcome = ?');
      args.push(q.outcome);
    }
    const sql = `SELECT * FROM srv_audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, limit) as AuditRow[]).map((r) => {
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
}

/** Server settings in SQLite. */
export class SqliteMetaRepo implements MetaRepo {
  constructor(private readonly db: ServerDb) {}

  async get(key: string): Promise<string | undefined> {
    const row = this.db.prepare('SELECT value FROM srv_meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  async set(key: string, value: string): Promise<void> {
    this.db
      .prepare('INSERT INTO srv_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value')
      .run(key, value);
  }
}
