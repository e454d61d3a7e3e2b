import type { RedisClient, ServerKeys } from './redis-keys.js';
import type { RunPin, RunRepo } from './types.js';

// Run pins in Redis: a hash per run and a set of the runs a shutdown interrupted, so every server on the store
// sees which version a run is pinned to and which runs wait for a resume.

// Only a pinned run can be flagged: HSET on a missing key would create a pin without a workflow.
const FLAG = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'interrupted', ARGV[1])
if ARGV[1] == '1' then redis.call('SADD', KEYS[2], ARGV[2]) else redis.call('SREM', KEYS[2], ARGV[2]) end
return 1`;

/** Run pins in Redis. */
export class RedisRunRepo implements RunRepo {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: ServerKeys,
  ) {}

  async pin(p: Omit<RunPin, 'interrupted' | 'models'>): Promise<void> {
    await this.redis.hset(this.keys.run(p.executionId), {
      workflow_id: p.workflowId,
      version: p.version,
      started_by: p.startedBy,
      started_at: p.startedAt,
      interrupted: 0,
    });
  }

  async get(executionId: string): Promise<RunPin | undefined> {
    return toPin(executionId, await this.redis.hgetall(this.keys.run(executionId)));
  }

  async getMany(executionIds: string[]): Promise<Map<string, RunPin>> {
    const out = new Map<string, RunPin>();
    if (!executionIds.length) return out;
    const m = this.redis.multi();
    for (const id of executionIds) m.hgetall(this.keys.run(id));
    const rows = (await m.exec()) ?? [];
    executionIds.forEach((id, i) => {
      const p = toPin(id, rows[i]?.[1] as Record<string, string> | undefined);
      if (p) out.set(id, p);
    });
    return out;
  }

  async setInterrupted(executionIds: string[], interrupted: boolean): Promise<void> {
    if (!executionIds.length) return;
    const m = this.redis.multi();
    for (const id of executionIds)
      m.eval(FLAG, 2, this.keys.run(id), this.keys.interruptedRuns, interrupted ? 1 : 0, id);
    await m.exec();
  }

  async interrupted(): Promise<string[]> {
    return this.redis.smembers(this.keys.interruptedRuns);
  }

  async setModels(executionId: string, models: Record<string, string>): Promise<void> {
    await this.redis.eval(
      "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'models', ARGV[1]) end return 0",
      1,
      this.keys.run(executionId),
      JSON.stringify(models),
    );
  }
}

function toPin(executionId: string, h: Record<string, string> | undefined): RunPin | undefined {
  if (!h?.workflow_id) return undefined;
  const p: RunPin = {
    executionId,
    workflowId: h.workflow_id,
    version: Number(h.version),
    startedBy: h.started_by,
    startedAt: Number(h.started_at),
    interrupted: h.interrupted === '1',
  };
  if (h.models) p.models = JSON.parse(h.models);
  return p;
}
