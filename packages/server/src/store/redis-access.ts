import type { ServerRole, User, WorkflowRole } from '../types.js';
import type { RedisClient, ServerKeys } from './redis-keys.js';
import type { AccessEntry, AuditQuery, AuditRepo, MetaRepo, RoleRepo, StoredToken, UserTokenRepo } from './types.js';

// Users, tokens, roles, the access audit and server settings in Redis. Token hashes are stored base64; the
// secret never is. Audit sequence numbers come from one INCR inside the append script, so they are unique and
// ordered across servers; nothing in the server removes or rewrites an entry.

// Marks the token revoked and announces it in one script, so no server can miss a revoke that was stored.
const REVOKE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local done = redis.call('HSETNX', KEYS[1], 'revoked_at', ARGV[1])
if done == 1 then redis.call('PUBLISH', KEYS[2], ARGV[2]) end
return done`;

const APPEND = `
local seq = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], seq, seq .. '\\t' .. ARGV[1])
return seq`;

const CHUNK = 500;
const pad = (n: number) => String(n).padStart(16, '0');

/** Users and tokens in Redis. */
export class RedisUserTokenRepo implements UserTokenRepo {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: ServerKeys,
  ) {}

  async upsertUser(id: string, role: ServerRole, at: number): Promise<void> {
    await this.redis.multi().hset(this.keys.user(id), 'role', role).hsetnx(this.keys.user(id), 'created_at', at).exec();
  }

  async getUser(id: string): Promise<User | undefined> {
    const role = await this.redis.hget(this.keys.user(id), 'role');
    return role ? { id, role: role as ServerRole } : undefined;
  }

  async insertToken(t: { id: string; userId: string; hash: Buffer; name?: string; createdAt: number }) {
    const fields: Record<string, string | number> = {
      id: t.id,
      user_id: t.userId,
      hash: t.hash.toString('base64'),
      created_at: t.createdAt,
    };
    if (t.name) fields.name = t.name;
    await this.redis
      .multi()
      .hset(this.keys.token(t.id), fields)
      .zadd(this.keys.tokenIndex, 0, `${pad(t.createdAt)}:${t.id}`)
      .exec();
  }

  async token(id: string): Promise<StoredToken | undefined> {
    return (await this.withRoles([await this.redis.hgetall(this.keys.token(id))]))[0];
  }

  /** Token hashes joined with their users' roles (a token whose user is gone is dropped, as the SQL join does). */
  private async withRoles(rows: Array<Record<string, string>>): Promise<StoredToken[]> {
    const present = rows.filter((h) => h?.id);
    if (!present.length) return [];
    const m = this.redis.multi();
    for (const h of present) m.hget(this.keys.user(h.user_id), 'role');
    const roles = ((await m.exec()) ?? []).map(([, r]) => r as string | null);
    const out: StoredToken[] = [];
    present.forEach((h, i) => {
      const role = roles[i];
      if (!role) return;
      const t: StoredToken = {
        id: h.id,
        userId: h.user_id,
        role: role as ServerRole,
        hash: Buffer.from(h.hash, 'base64'),
        createdAt: Number(h.created_at),
      };
      if (h.name) t.name = h.name;
      if (h.last_used_at) t.lastUsedAt = Number(h.last_used_at);
      if (h.revoked_at) t.revokedAt = Number(h.revoked_at);
      out.push(t);
    });
    return out;
  }

  async touchToken(id: string, at: number): Promise<void> {
    // HSET on a missing key would create a stray hash: only touch tokens that exist.
    await this.redis.eval(
      "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'last_used_at', ARGV[1]) end return 0",
      1,
      this.keys.token(id),
      at,
    );
  }

  async revokeToken(id: string, at: number): Promise<boolean> {
    return Number(await this.redis.eval(REVOKE, 2, this.keys.token(id), this.keys.revocations, at, id)) === 1;
  }

  async listTokens(limit: number, after?: [number, string]): Promise<StoredToken[]> {
    const out: StoredToken[] = [];
    let max = after ? `(${pad(after[0])}:${after[1]}` : '+';
    while (out.length < limit) {
      const members = await this.redis.zrevrangebylex(this.keys.tokenIndex, max, '-', 'LIMIT', 0, CHUNK);
      if (!members.length) break;
      const m = this.redis.multi();
      for (const k of members) m.hgetall(this.keys.token(k.slice(17)));
      const rows = ((await m.exec()) ?? []).map(([, h]) => h as Record<string, string>);
      out.push(...(await this.withRoles(rows)));
      max = `(${members[members.length - 1]}`;
    }
    return out.slice(0, limit);
  }

  async countTokens(): Promise<number> {
    return this.redis.zcard(this.keys.tokenIndex);
  }
}

/** Per-workflow roles in Redis: a hash per workflow (user → role) and a set per user (workflow ids). */
export class RedisRoleRepo implements RoleRepo {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: ServerKeys,
  ) {}

  async get(workflowId: string, userId: string): Promise<WorkflowRole | undefined> {
    return ((await this.redis.hget(this.keys.rolesOf(workflowId), userId)) ?? undefined) as WorkflowRole | undefined;
  }

  async set(workflowId: string, userId: string, role: WorkflowRole): Promise<void> {
    await this.redis
      .multi()
      .hset(this.keys.rolesOf(workflowId), userId, role)
      .sadd(this.keys.workflowsOf(userId), workflowId)
      .exec();
  }

  async remove(workflowId: string, userId: string): Promise<boolean> {
    const res = await this.redis
      .multi()
      .hdel(this.keys.rolesOf(workflowId), userId)
      .srem(this.keys.workflowsOf(userId), workflowId)
      .exec();
    return Number(res?.[0]?.[1] ?? 0) > 0;
  }

  async removeAll(workflowId: string): Promise<void> {
    const users = await this.redis.hkeys(this.keys.rolesOf(workflowId));
    const m = this.redis.multi().del(this.keys.rolesOf(workflowId));
    for (const u of users) m.srem(this.keys.workflowsOf(u), workflowId);
    await m.exec();
  }

  async list(workflowId: string): Promise<Array<{ userId: string; role: WorkflowRole }>> {
    const h = await this.redis.hgetall(this.keys.rolesOf(workflowId));
    return Object.keys(h)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .map((userId) => ({ userId, role: h[userId] as WorkflowRole }));
  }

  async workflowsOf(userId: string): Promise<string[]> {
    return this.redis.smembers(this.keys.workflowsOf(userId));
  }
}

/** The access audit in Redis: a sorted set scored by a shared sequence. */
export class RedisAuditRepo implements AuditRepo {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: ServerKeys,
  ) {}

  async append(e: Omit<AccessEntry, 'seq'>): Promise<void> {
    await this.redis.eval(APPEND, 2, this.keys.auditSeq, this.keys.audit, JSON.stringify(e));
  }

  async list(limit: number, q: AuditQuery = {}): Promise<AccessEntry[]> {
    const out: AccessEntry[] = [];
    let max = q.beforeSeq !== undefined ? `(${q.beforeSeq}` : '+inf';
    while (out.length < limit) {
      const members = await this.redis.zrevrangebyscore(this.keys.audit, max, '-inf', 'LIMIT', 0, CHUNK);
      if (!members.length) break;
      for (const m of members) {
        const tab = m.indexOf('\t');
        const e = { seq: Number(m.slice(0, tab)), ...JSON.parse(m.slice(tab + 1)) } as AccessEntry;
        if ((q.userId && e.userId !== q.userId) || (q.outcome && e.outcome !== q.outcome)) continue;
        if (out.push(e) >= limit) break;
      }
      const last = members[members.length - 1];
      max = `(${last.slice(0, last.indexOf('\t'))}`;
    }
    return out;
  }
}

/** Server settings in a Redis hash. */
export class RedisMetaRepo implements MetaRepo {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: ServerKeys,
  ) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.meta, key)) ?? undefined;
  }

  async set(key: string, value: string): Promise<void> {
    await this.redis.hset(this.keys.meta, key, value);
  }
}
