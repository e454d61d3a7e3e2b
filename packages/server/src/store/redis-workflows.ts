import type { WorkflowSummary, WorkflowVersion } from '../types.js';
import type { RedisClient, ServerKeys } from './redis-keys.js';
import type { Definition, WorkflowRepo } from './types.js';

// Stored workflows in Redis: a hash per workflow (its current version is a counter in it), a hash of versions
// (field = number, value = JSON) and a lexically sorted index of ids. A save is one Lua script, so concurrent
// saves from any number of servers get distinct, gap-free version numbers.

const SAVE = `
local v = redis.call('HINCRBY', KEYS[1], 'current_version', 1)
if v == 1 then redis.call('HSET', KEYS[1], 'id', ARGV[1], 'created_at', ARGV[5], 'created_by', ARGV[6]) end
redis.call('HSET', KEYS[1], 'name', ARGV[2], 'description', ARGV[3], 'task_count', ARGV[4], 'updated_at', ARGV[5])
redis.call('HSET', KEYS[2], v, ARGV[7])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
return redis.call('HGETALL', KEYS[1])`;

const REMOVE = `
local n = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return n`;

type StoredVersion = { author: string; createdAt: number; message: string; definition: Record<string, unknown> };

const CHUNK = 200;

/** Workflows and versions in Redis. */
export class RedisWorkflowRepo implements WorkflowRepo {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: ServerKeys,
  ) {}

  async get(id: string): Promise<WorkflowSummary | undefined> {
    return toSummary(await this.redis.hgetall(this.keys.workflow(id)));
  }

  async save(def: Definition, author: string, message: string) {
    const now = Date.now();
    const description = typeof def.description === 'string' ? def.description : '';
    const stored: StoredVersion = { author, createdAt: now, message, definition: def };
    const flat = (await this.redis.eval(
      SAVE,
      3,
      this.keys.workflow(def.id),
      this.keys.versions(def.id),
      this.keys.workflowIndex,
      def.id,
      def.name,
      description,
      def.tasks.length,
      now,
      author,
      JSON.stringify(stored),
    )) as string[];
    const h: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) h[flat[i]] = flat[i + 1];
    const workflow = toSummary(h) as WorkflowSummary;
    return {
      workflow,
      version: { workflowId: def.id, version: workflow.version, author, createdAt: now, message, definition: def },
    };
  }

  async version(id: string, version?: number): Promise<WorkflowVersion | undefined> {
    const v = version ?? Number(await this.redis.hget(this.keys.workflow(id), 'current_version'));
    if (!v) return undefined;
    const raw = await this.redis.hget(this.keys.versions(id), String(v));
    return raw ? toVersion(id, v, raw, true) : undefined;
  }

  async versions(id: string, limit: number, before?: number): Promise<WorkflowVersion[]> {
    // Versions are numbered 1..current without gaps (they are only ever removed with their workflow).
    const current = Number(await this.redis.hget(this.keys.workflow(id), 'current_version'));
    const top = Math.min(current, (before ?? Number.MAX_SAFE_INTEGER) - 1);
    if (!current || top < 1 || limit < 1) return [];
    const wanted: string[] = [];
    for (let v = top; v >= 1 && wanted.length < limit; v--) wanted.push(String(v));
    const raws = await this.redis.hmget(this.keys.versions(id), ...wanted);
    const out: WorkflowVersion[] = [];
    raws.forEach((raw, i) => {
      if (raw) out.push(toVersion(id, Number(wanted[i]), raw, false));
    });
    return out;
  }

  async list(opts: { limit: number; after?: string; ids?: Set<string>; q?: string }): Promise<WorkflowSummary[]> {
    const after = opts.after ?? '';
    const q = opts.q?.toLowerCase();
    const matches = (w: WorkflowSummary) => !q || w.id.toLowerCase().includes(q) || w.name.toLowerCase().includes(q);
    const out: WorkflowSummary[] = [];
    const take = async (ids: string[]) => {
      const m = this.redis.multi();
      for (const id of ids) m.hgetall(this.keys.workflow(id));
      for (const [, h] of (await m.exec()) ?? []) {
        const w = toSummary(h as Record<string, string>);
        if (w && matches(w) && out.length < opts.limit) out.push(w);
      }
    };
    if (opts.ids) {
      // Byte order, as Redis and SQLite compare ids.
      const ids = [...opts.ids].filter((id) => id > after).sort(byteOrder);
      for (let i = 0; i < ids.length && out.length < opts.limit; i += CHUNK) await take(ids.slice(i, i + CHUNK));
      return out;
    }
    let min = after ? `(${after}` : '-';
    while (out.length < opts.limit) {
      const ids = await this.redis.zrangebylex(this.keys.workflowIndex, min, '+', 'LIMIT', 0, CHUNK);
      if (!ids.length) break;
      await take(ids);
      min = `(${ids[ids.length - 1]}`;
    }
    return out;
  }

  async remove(id: string): Promise<boolean> {
    const n = await this.redis.eval(
      REMOVE,
      3,
      this.keys.workflow(id),
      this.keys.versions(id),
      this.keys.workflowIndex,
      id,
    );
    return Number(n) > 0;
  }

  async count(): Promise<number> {
    return this.redis.zcard(this.keys.workflowIndex);
  }
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

function toSummary(h: Record<string, string> | null | undefined): WorkflowSummary | undefined {
  if (!h?.id) return undefined;
  const s: WorkflowSummary = {
    id: h.id,
    name: h.name,
    version: Number(h.current_version),
    taskCount: Number(h.task_count),
    createdAt: Number(h.created_at),
    updatedAt: Number(h.updated_at),
    createdBy: h.created_by,
  };
  if (h.description) s.description = h.description;
  return s;
}

function toVersion(workflowId: string, version: number, raw: string, withDefinition: boolean): WorkflowVersion {
  const s = JSON.parse(raw) as StoredVersion;
  const v: WorkflowVersion = { workflowId, version, author: s.author, createdAt: s.createdAt, message: s.message };
  if (withDefinition) v.definition = s.definition;
  return v;
}
