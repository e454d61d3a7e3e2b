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
const CACHE_MS = 5_000;
const sha256 = (s: string) => createHash('sha256').update(s).digest();

export class TokenService {
  private readonly byId;
  private readonly touch;
  /** Last-used writes at most once a minute per token (a write per request would dominate small requests). */
  private readonly touched = new Map<string, number>();
  /**
   * Verified tokens for a few seconds, keyed by SHA-256 of the whole token (never the token itself): saves the
   * row read on every request. Revoking in this process clears it; a revoke from another process (the CLI)
   * takes effect within CACHE_MS.
   */
  private readonly cache = new Map<string, { auth: AuthContext; until: number }>();

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
    const key = sha256(token).toString('base64');
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.auth;
    const auth = this.verifyRow(m[1], m[2], now);
    if (auth) {
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(key, { auth, until: now + CACHE_MS });
    } else this.cache.delete(key);
    return auth;
  }

  private verifyRow(id: string, secret: string, now: number): AuthContext | undefined {
    const row = this.byId.get(id) as Row | undefined;
    // Hash even when the id is unknown, so timing does not tell ids apart.
    const hash = sha256(secret);
    if (!row || row.revoked_at !== null) return undefined;
    if (!timingSafeEqual(hash, row.hash)) return undefined;
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
    for (const [k, v] of this.cache) if (v.auth.tokenId === id) this.cache.delete(k);
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
