import { Redis, type RedisOptions } from 'ioredis';
import { CodexError, ErrorCodes } from '../../errors.js';
import { executionExists, foldTransition } from '../memory-store.js';
import {
  type ExecutionHeader,
  type ExecutionQuery,
  type Lease,
  STATE_SCHEMA_VERSION,
  type StateStore,
  type StoredExecution,
  type StoredTaskState,
  type TaskTransition,
  UNFINISHED_STATUSES,
} from '../types.js';
import { decodeHeader, decodeLease, decodeTransition, encodeHeader, encodeTransition } from './codec.js';
import { type RedisKeys, redisKeys } from './keys.js';
import type { RedisConnection, RedisStoreOptions } from './types.js';

// A client the store creates fails a command after one reconnect attempt instead of queueing it for minutes, so a
// Redis outage becomes a failed run (CodexError STORE) promptly rather than a hung one.
const OWN_CLIENT_DEFAULTS: RedisOptions = {
  maxRetriesPerRequest: 1,
  connectTimeout: 5_000,
  retryStrategy: (times) => Math.min(times * 200, 2_000),
};

const LIST_PAGE = 200;

// Lua keeps each ownership step one atomic command, as BullMQ does for job locks.
// KEYS: exec, lease, log. ARGV: lease JSON, lease ms, then the header's field/value pairs.
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1`;
// KEYS: lease, exec. ARGV: owner, lease JSON, lease ms, owner it may replace, now (ms). Answers the holder's
// lease JSON when refused, else nil. A held lease past its own expiresAt is free even while its key lives on:
// the PX countdown starts when Redis runs the SET, a round trip after the writer computed expiresAt, and every
// reader judges a lease by expiresAt.
const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local held = cjson.decode(cur)
  if held.owner ~= ARGV[1] and held.owner ~= ARGV[4] and tonumber(held.expiresAt) > tonumber(ARGV[5]) then
    return cur
  end
end
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return false`;
// KEYS: lease. ARGV: owner.
const RELEASE = `
local cur = redis.call('GET', KEYS[1])
if cur and cjson.decode(cur).owner == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

const leaseMs = (l: Lease): number => Math.max(1, Math.ceil(l.expiresAt - Date.now()));
type ExecReply = [Error | null, unknown][] | null;

/**
 * State in Redis, for several CodexOS processes sharing executions. Per execution: a header hash and an ordered
 * transition list (one RPUSH per batch, so `appendTransitions` is one round trip); sorted sets by startedAt index
 * executions globally and per workflow. Task state is folded from the list on load, as in every store.
 */
export class RedisStore implements StateStore {
  readonly kind = 'redis';
  readonly redis: Redis;
  readonly keys: RedisKeys;
  private readonly owns: boolean;
  private readonly ttl?: number;
  private ready?: Promise<void>;
  private checked = false;
  private closed = false;

  constructor(opts: RedisStoreOptions = {}) {
    const conn: RedisConnection = opts.redis ?? {};
    this.owns = !isClient(conn);
    if (isClient(conn)) this.redis = conn;
    else if (typeof conn === 'string') this.redis = new Redis(conn, OWN_CLIENT_DEFAULTS);
    else this.redis = new Redis({ ...OWN_CLIENT_DEFAULTS, ...conn });
    // Our own client: connection errors surface on the failing command; an unhandled 'error' event would only log.
    if (this.owns) this.redis.on('error', () => {});
    this.keys = redisKeys(opts.keyPrefix ?? 'codexos');
    this.ttl = opts.finishedTtlSeconds;
  }

  async createExecution(h: ExecutionHeader, lease: Lease): Promise<void> {
    await this.run('createExecution', async () => {
      const { set } = encodeHeader(h);
      const id = h.executionId;
      const created = await this.redis.eval(
        CREATE,
        3,
        this.keys.exec(id),
        this.keys.lease(id),
        this.keys.log(id),
        JSON.stringify(lease),
        leaseMs(lease),
        ...Object.entries(set).flat(),
      );
      if (created !== 1) throw executionExists(id);
      replies(
        await this.redis
          .multi()
          .zadd(this.keys.all, h.startedAt, id)
          .zadd(this.keys.workflow(h.workflowId), h.startedAt, id)
          .exec(),
      );
    });
  }

  async acquireLease(executionId: string, lease: Lease, replacing?: string): Promise<Lease | undefined> {
    return this.run('acquireLease', async () => {
      const held = (await this.redis.eval(
        ACQUIRE,
        2,
        this.keys.lease(executionId),
        this.keys.exec(executionId),
        lease.owner,
        JSON.stringify(lease),
        leaseMs(lease),
        replacing ?? '',
        Date.now(),
      )) as string | null;
      return held ? (decodeLease(held) ?? { owner: JSON.parse(held).owner, expiresAt: Date.now() }) : undefined;
    });
  }

  async releaseLease(executionId: string, owner: string): Promise<void> {
    await this.run('releaseLease', async () => {
      await this.redis.eval(RELEASE, 1, this.keys.lease(executionId), owner);
    });
  }

  async saveExecution(h: ExecutionHeader): Promise<void> {
    await this.run('saveExecution', async () => {
      const { set, unset } = encodeHeader(h);
      const key = this.keys.exec(h.executionId);
      const m = this.redis.multi().hset(key, set);
      if (unset.length) m.hdel(key, ...unset);
      m.zadd(this.keys.all, h.startedAt, h.executionId).zadd(
        this.keys.workflow(h.workflowId),
        h.startedAt,
        h.executionId,
      );
      if (this.ttl !== undefined) {
        // A finished run expires; a run that goes back to running (resume) must lose that expiry, or its keys
        // would vanish mid-run and leave a header over a subset of its tasks.
        if (!UNFINISHED_STATUSES.includes(h.status)) {
          m.expire(key, this.ttl).expire(this.keys.log(h.executionId), this.ttl);
        } else m.persist(key).persist(this.keys.log(h.executionId));
      }
      replies(await m.exec());
    });
  }

  async appendTransitions(batch: TaskTransition[]): Promise<void> {
    if (batch.length === 0) return;
    await this.run('appendTransitions', async () => {
      // Group by execution, keeping order; the engine's batches are almost always one execution (one RPUSH).
      const groups = new Map<string, string[]>();
      for (const t of batch) {
        let g = groups.get(t.executionId);
        if (!g) {
          g = [];
          groups.set(t.executionId, g);
        }
        g.push(encodeTransition(t));
      }
      if (groups.size === 1) {
        const [[id, entries]] = groups;
        await this.redis.rpush(this.keys.log(id), ...entries);
        return;
      }
      const m = this.redis.multi();
      for (const [id, entries] of groups) m.rpush(this.keys.log(id), ...entries);
      replies(await m.exec());
    });
  }

  async loadExecution(executionId: string): Promise<StoredExecution | undefined> {
    return this.run('loadExecution', async () => {
      const [fields, log, lease] = replies(
        await this.redis
          .multi()
          .hgetall(this.keys.exec(executionId))
          .lrange(this.keys.log(executionId), 0, -1)
          .get(this.keys.lease(executionId))
          .exec(),
      ) as [Record<string, string>, string[], string | null];
      if (Object.keys(fields).length === 0) return undefined;
      const header = decodeHeader(executionId, fields, lease);
      const tasks = new Map<string, StoredTaskState>();
      for (const s of log) foldTransition(tasks, decodeTransition(executionId, s));
      return { header, tasks };
    });
  }

  async listExecutions(query: ExecutionQuery = {}): Promise<ExecutionHeader[]> {
    return this.run('listExecutions', async () => {
      const index = query.workflowId ? this.keys.workflow(query.workflowId) : this.keys.all;
      const limit = query.limit && query.limit > 0 ? query.limit : Number.POSITIVE_INFINITY;
      const out: ExecutionHeader[] = [];
      // Newest first, a page at a time, until enough headers pass the status filter.
      for (let start = 0; out.length < limit; start += LIST_PAGE) {
        const ids = await this.redis.zrevrange(index, start, start + LIST_PAGE - 1);
        if (ids.length === 0) break;
        const m = this.redis.multi();
        for (const id of ids) m.hgetall(this.keys.exec(id)).get(this.keys.lease(id));
        const got = replies(await m.exec());
        const rows = ids.map((_, i) => got[2 * i] as Record<string, string>);
        const gone: string[] = [];
        for (let i = 0; i < ids.length && out.length < limit; i++) {
          if (Object.keys(rows[i]).length === 0) {
            gone.push(ids[i]); // expired (finishedTtlSeconds) or deleted: drop it from the index
            continue;
          }
          const h = decodeHeader(ids[i], rows[i], got[2 * i + 1] as string | null);
          if (query.status && h.status !== query.status) continue;
          out.push(h);
        }
        if (gone.length) {
          await this.redis.zrem(index, ...gone);
          start -= gone.length;
        }
        if (ids.length < LIST_PAGE) break;
      }
      return out;
    });
  }

  async history(executionId: string): Promise<TaskTransition[]> {
    return this.run('history', async () => {
      const log = await this.redis.lrange(this.keys.log(executionId), 0, -1);
      return log.map((s) => decodeTransition(executionId, s));
    });
  }

  /** Quits the connection only if this store opened it; a client passed in stays open for its owner. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.owns) return;
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }

  /** Runs one operation after the schema check; any other failure becomes CodexError STORE naming the operation. */
  private async run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      if (this.closed) throw new Error('the store is closed');
      if (!this.checked) await this.checkSchema();
      return await fn();
    } catch (err) {
      // Our own typed refusals (STORE, EXECUTION_EXISTS, VALUE_NOT_SERIALIZABLE) pass through as they are.
      if (err instanceof CodexError) throw err;
      throw new CodexError(ErrorCodes.STORE, `Redis state store: ${op} failed: ${(err as Error)?.message ?? err}`, {
        cause: err,
      });
    }
  }

  /** Records the schema version under this prefix on first use, and refuses data written by a newer CodexOS. */
  private checkSchema(): Promise<void> {
    this.ready ??= (async () => {
      const [, stored] = replies(
        await this.redis
          .multi()
          .hsetnx(this.keys.meta, 'schemaVersion', String(STATE_SCHEMA_VERSION))
          .hget(this.keys.meta, 'schemaVersion')
          .exec(),
      ) as [number, string | null];
      if (Number(stored) > STATE_SCHEMA_VERSION) {
        throw new CodexError(
          ErrorCodes.STORE,
          `Redis state store under "${this.keys.meta}" has schema version ${stored}; this CodexOS reads up to ${STATE_SCHEMA_VERSION}`,
        );
      }
      // Older data stays readable; raising the mark makes older CodexOS versions refuse what we now write.
      if (Number(stored) < STATE_SCHEMA_VERSION)
        await this.redis.hset(this.keys.meta, 'schemaVersion', String(STATE_SCHEMA_VERSION));
      this.checked = true;
    })().catch((err) => {
      this.ready = undefined; // retry on the next operation (e.g. once Redis is back)
      throw err;
    });
    return this.ready;
  }
}

function isClient(c: RedisConnection): c is Redis {
  return typeof c === 'object' && c !== null && typeof (c as Redis).multi === 'function';
}

/** The results of a MULTI/EXEC, throwing the first command error (EXEC answers null if the transaction aborted). */
function replies(r: ExecReply): unknown[] {
  if (!r) throw new Error('transaction aborted');
  return r.map(([err, v]) => {
    if (err) throw err;
    return v;
  });
}
