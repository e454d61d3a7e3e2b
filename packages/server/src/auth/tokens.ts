import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerDb } from '../db.js';
import type { AuthContext, ServerRole, User } from '../types.js';

// API tokens: `cdx_<id>_<secret>`. Only SHA-256(secret) is stored; the id finds the row and the hashes are
// compared in constant time. The token itself is returned once, by `create`, and never logged.

export interface TokenInfo {
  id: string;
  user: string;
  role: ServerRole;
  name?: string;
  createdAt: number;
  lastUsedAt?: number;
  revokedAt?: number;
}

type Row = {
  id: string;
  user_id: string;
  hash: Buffer;
  name: string | null;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  role: ServerRole;
};

const TOKEN_RE = /^cdx_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$/;
const sha256 = (s: string) => createHash('sha256').update(s).digest();

export class TokenService {
  private readonly byId;
  private readonly touch;
  /** Last-used writes at most once a minute per token (a write per request would dominate small requests). */
  private readonly touched = new Map<string, number>();

  constructor(private readonly db: ServerDb) {
    this.byId = db.prepare(
      'SELECT t.*, u.role AS role FROM srv_tokens t JOIN srv_users u ON u.id = t.user_id WHERE t.id = ?',
    );
    this.touch = db.prepare('UPDATE srv_tokens SET last_used_at = ? WHERE id = ?');
  }

  upsertUser(id: string, role: ServerRole): User {
    this.db
      .prepare(
        'INSERT INTO srv_users (id, role, created_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET role = excluded.role',
      )
      .run(id, role, Date.now());
    return { id, role };
  }

  getUser(id: string): User | undefined {
    return this.db.prepare('SELECT id, role FROM srv_users WHERE id = ?').get(id) as User | undefined;
  }

  create(user: string, role: ServerRole, name?: string): { token: string; info: TokenInfo } {
    this.upsertUser(user, role);
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const now = Date.now();
    this.db
      .prepare('INSERT INTO srv_tokens (id, user_id, hash, name, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, user, sha256(secret), name ?? null, now);
    return { token: `cdx_${id}_${secret}`, info: { id, user, role, name, createdAt: now } };
  }

  /** The user a token belongs to, or undefined for a malformed, unknown or revoked token. */
  verify(token: string | undefined): AuthContext | undefined {
    if (!token) return undefined;
    const m = TOKEN_RE.exec(token);
    if (!m) return undefined;
    const row = this.byId.get(m[1]) as Row | undefined;
    // Hash even when the id is unknown, so timing does not tell ids apart.
    const hash = sha256(m[2]);
    if (!row || row.revoked_at !== null) return undefined;
    if (!timingSafeEqual(hash, row.hash)) return undefined;
    const now = Date.now();
    if (now - (this.touched.get(row.id) ?? 0) > 60_000) {
      this.touched.set(row.id, now);
      this.touch.run(now, row.id);
    }
    return { user: { id: row.user_id, role: row.role }, tokenId: row.id };
  }

  /** Id part of a well-formed token (for per-token rate limits before the token is verified). */
  static idOf(token: string | undefined): string | undefined {
    return token ? TOKEN_RE.exec(token)?.[1] : undefined;
  }

  get(id: string): TokenInfo | undefined {
    const r = this.byId.get(id) as Row | undefined;
    return r && toInfo(r);
  }

  revoke(id: string): boolean {
    return (
      this.db.prepare('UPDATE srv_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(Date.now(), id)
        .changes > 0
    );
  }

  /** Newest first, after `cursor` = [createdAt, id]. */
  list(limit: number, after?: [number, string]): TokenInfo[] {
    const rows = (
      after
        ? this.db
            .prepare(
              `SELECT t.*, u.role AS role FROM srv_tokens t JOIN srv_users u ON u.id = t.user_id
               WHERE (t.created_at, t.id) < (?, ?) ORDER BY t.created_at DESC, t.id DESC LIMIT ?`,
            )
            .all(after[0], after[1], limit)
        : this.db
            .prepare(
              `SELECT t.*, u.role AS role FROM srv_tokens t JOIN srv_users u ON u.id = t.user_id
               ORDER BY t.created_at DESC, t.id DESC LIMIT ?`,
            )
            .all(limit)
    ) as Row[];
    return rows.map(toInfo);
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM srv_tokens').get() as { n: number }).n;
  }
}

function toInfo(r: Row): TokenInfo {
  const info: TokenInfo = { id: r.id, user: r.user_id, role: r.role, createdAt: r.created_at };
  if (r.name) info.name = r.name;
  if (r.last_used_at) info.lastUsedAt = r.last_used_at;
  if (r.revoked_at) info.revokedAt = r.revoked_at;
  return info;
}
