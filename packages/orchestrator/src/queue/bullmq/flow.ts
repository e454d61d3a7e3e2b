import type { Redis } from 'ioredis';
import type { DistKeys } from './keys.js';

// Per-key flow control shared by every worker: a slot set (sorted by expiry, so a dead worker's slots lapse)
// and a fixed-window start counter. Each check is one Lua script, so two workers never both take the last slot.

const ACQUIRE = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[4])
  return 1
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return 1`;

const RATE = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then return redis.call('PTTL', KEYS[1]) end
return -1`;

export interface FlowLimits {
  concurrency?: number;
  rate?: { max: number; durationMs: number };
}

export class FlowGate {
  constructor(
    private readonly redis: Redis,
    private readonly keys: DistKeys,
    private readonly slotTtlMs: number,
  ) {}

  /** 0 when the job may start now (slot taken), else how long to wait before trying again, ms. */
  async enter(agentId: string, key: string, jobId: string, limits: FlowLimits): Promise<number> {
    const now = Date.now();
    if (limits.rate) {
      const window = Math.floor(now / limits.rate.durationMs);
      const wait = (await this.redis.eval(
        RATE,
        1,
        this.keys.flowRate(agentId, key, window),
        limits.rate.max,
        limits.rate.durationMs * 2,
      )) as number;
      if (wait >= 0) return Math.max(5, (window + 1) * limits.rate.durationMs - now);
    }
    if (limits.concurrency) {
      const ok = (await this.redis.eval(
        ACQUIRE,
        1,
        this.keys.flowSlots(agentId, key),
        now,
        limits.concurrency,
        this.slotTtlMs,
        jobId,
      )) as number;
      if (!ok) return 25 + Math.floor(Math.random() * 50);
    }
    return 0;
  }

  /** Keeps a running job's slot from lapsing. */
  async refresh(agentId: string, key: string, jobId: string): Promise<void> {
    await this.redis.zadd(this.keys.flowSlots(agentId, key), 'XX', Date.now() + this.slotTtlMs, jobId);
  }

  async leave(agentId: string, key: string, jobId: string): Promise<void> {
    await this.redis.zrem(this.keys.flowSlots(agentId, key), jobId);
  }
}
