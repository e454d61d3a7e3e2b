import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RevocationFeed, StoredToken, UserTokenRepo } from '../store/types.js';
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

const TOKEN_RE = /^cdx_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$/;
const CACHE_MS = 5_000;
const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** Creates, verifies, lists and revokes API tokens over the configured store. */
export class TokenService {
  /** Last-used writes at most once a minute per token (a write per request would dominate small requests). */
  private readonly touched = new Map<string, number>();
  /**
   * Verified tokens for a few seconds, keyed by SHA-256 of the whole token (never the token itself): saves the
   * row read on every request. Revoking in this process clears it. On a shared store (Redis) every revoke is
   * announced and clears it at once on every server; tokens are cached only while those announcements arrive.
   * On SQLite a revoke by the CLI in another process takes effect within CACHE_MS.
   */
  private readonly cache = new Map<string, { auth: AuthContext; until: number }>();
  /** Bumped by every revoke heard: a row read that raced with one is not cached. */
  private generation = 0;
  private heard = 0;
  private unsubscribe?: () => void;

  constructor(
    private readonly repo: UserTokenRepo,
    private readonly feed?: RevocationFeed,
  ) {}

  /** Revocations announced by other servers on the store and applied here (counts, for tests and metrics). */
  get revocationsHeard(): number {
    return this.heard;
  }

  /** Listens to the store's revocation announcements (no-op without a shared store). */
  async listen(onError: (err: Error) => void): Promise<void> {
    if (!this.feed || this.unsubscribe) return;
    this.unsubscribe = await this.feed.subscribe({
      onRevoked: (id) => {
        this.heard++;
        this.forget(id);
      },
      onGap: () => {
        this.generation++;
        this.cache.clear();
      },
      onError,
    });
  }

  /** Stops listening (the server is closing). */
  stopListening(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  async upsertUser(id: string, role: ServerRole): Promise<User> {
    await this.repo.upsertUser(id, role, Date.now());
    return { id, role };
  }

  getUser(id: string): Promise<User | undefined> {
    return this.repo.getUser(id);
  }

  async create(user: string, role: ServerRole, name?: string): Promise<{ token: string; info: TokenInfo }> {
    await this.upsertUser(user, role);
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const now = Date.now();
    await this.repo.insertToken({ id, userId: user, hash: sha256(secret), name, createdAt: now });
    return { token: `cdx_${id}_${secret}`, info: { id, user, role, name, createdAt: now } };
  }

  /** The user a token belongs to, or undefined for a malformed, unknown or revoked token. */
  async verify(token: string | undefined): Promise<AuthContext | undefined> {
    if (!token) return undefined;
    const m = TOKEN_RE.exec(token);
    if (!m) return undefined;
    const key = sha256(token).toString('base64');
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.auth;
    const generation = this.generation;
    const auth = await this.verifyRow(m[1], m[2], now);
    const cacheable = generation === this.generation && (!this.feed || this.feed.live);
    if (auth && cacheable) {
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(key, { auth, until: now + CACHE_MS });
    } else this.cache.delete(key);
    return auth;
  }

  private async verifyRow(id: string, secret: string, now: number): Promise<AuthContext | undefined> {
    const row = await this.repo.token(id);
    // Hash even when the id is unknown, so timing does not tell ids apart.
    const hash = sha256(secret);
    if (!row || row.revokedAt !== undefined) return undefined;
    if (!timingSafeEqual(hash, row.hash)) return undefined;
    if (now - (this.touched.get(row.id) ?? 0) > 60_000) {
      this.touched.set(row.id, now);
      await this.repo.touchToken(row.id, now);
    }
    return { user: { id: row.userId, role: row.role }, tokenId: row.id };
  }

  /** Id part of a well-formed token (for per-token rate limits before the token is verified). */
  static idOf(token: string | undefined): string | undefined {
    return token ? TOKEN_RE.exec(token)?.[1] : undefined;
  }

  async get(id: string): Promise<TokenInfo | undefined> {
    const t = await this.repo.token(id);
    return t && toInfo(t);
  }

  async revoke(id: string): Promise<boolean> {
    this.forget(id);
    const done = await this.repo.revokeToken(id, Date.now());
    // A request that read the row before the revoke committed may have cached it meanwhile.
    this.forget(id);
    return done;
  }

  private forget(tokenId: string): void {
    this.generation++;
    for (const [k, v] of this.cache) if (v.auth.tokenId === tokenId) this.cache.delete(k);
  }

  /** Newest first, after `cursor` = [createdAt, id]. */
  async list(limit: number, after?: [number, string]): Promise<TokenInfo[]> {
    return (await this.repo.listTokens(limit, after)).map(toInfo);
  }

  count(): Promise<number> {
    return this.repo.countTokens();
  }
}

function toInfo(t: StoredToken): TokenInfo {
  const info: TokenInfo = { id: t.id, user: t.userId, role: t.role, createdAt: t.createdAt };
  if (t.name) info.name = t.name;
  if (t.lastUsedAt) info.lastUsedAt = t.lastUsedAt;
  if (t.revokedAt) info.revokedAt = t.revokedAt;
  return info;
}
